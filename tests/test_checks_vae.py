"""The chapter-03 checks pass the solution and name each typical mistake."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import vae

# --- solutions (as in solutions/03_variational_autoencoders.ipynb) ------------------------------


def reparameterize(mean, log_var):
    eps = tf.random.normal(tf.shape(mean))
    return mean + tf.exp(0.5 * log_var) * eps


def kl_divergence(mean, log_var):
    return -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=-1)


def reconstruction(x, logits):
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3])


def negative_elbo(x, logits, mean, log_var):
    return reconstruction(x, logits) + kl_divergence(mean, log_var)


def fails_with(check, fn, match):
    with pytest.raises(CheckFailed, match=match):
        check(fn)


def test_solutions_pass(capsys):
    vae.check_reparameterize(reparameterize)
    vae.check_kl_divergence(kl_divergence)
    vae.check_negative_elbo(negative_elbo)
    assert capsys.readouterr().out.count("PASSED") == 3


def test_kl_reference_is_zero_for_the_prior_and_positive_otherwise():
    kl = vae.kl_reference(np.zeros((1, 3)), np.zeros((1, 3)))
    assert kl[0] == 0.0
    assert vae.kl_reference(np.ones((1, 3)), np.full((1, 3), -1.0))[0] > 0


# --- reparameterize -----------------------------------------------------------------------------


def test_reparameterize_without_noise():
    fails_with(vae.check_reparameterize, lambda m, lv: m, match="noise is missing")


def test_reparameterize_log_var_as_std():
    fails_with(vae.check_reparameterize, lambda m, lv: m + lv * tf.random.normal(tf.shape(m)),
               match="log-variance as the standard deviation")


def test_reparameterize_variance_as_std():
    fails_with(vae.check_reparameterize, lambda m, lv: m + tf.exp(lv) * tf.random.normal(tf.shape(m)),
               match="VARIANCE")


def test_reparameterize_forgot_the_mean():
    fails_with(vae.check_reparameterize, lambda m, lv: tf.exp(0.5 * lv) * tf.random.normal(tf.shape(m)),
               match="add the mean")


def test_reparameterize_with_numpy_noise_is_frozen_in_a_graph():
    def numpy_eps(m, lv):
        return m + tf.exp(0.5 * lv) * np.random.standard_normal(m.shape).astype("float32")

    fails_with(vae.check_reparameterize, numpy_eps, match="same z every call")


def test_reparameterize_stops_the_gradient():
    fails_with(vae.check_reparameterize, lambda m, lv: tf.stop_gradient(reparameterize(m, lv)),
               match="no gradient")


# --- KL divergence ------------------------------------------------------------------------------


def test_kl_wrong_sign():
    fails_with(vae.check_kl_divergence, lambda m, lv: -kl_divergence(m, lv), match="wrong sign")


def test_kl_averaged_over_latent_dims():
    fails_with(vae.check_kl_divergence,
               lambda m, lv: -0.5 * tf.reduce_mean(1.0 + lv - m**2 - tf.exp(lv), axis=-1),
               match="averaged over the latent dimensions")


def test_kl_not_reduced():
    fails_with(vae.check_kl_divergence, lambda m, lv: -0.5 * (1.0 + lv - m**2 - tf.exp(lv)),
               match="sum over the latent")


def test_kl_reduced_over_the_batch():
    fails_with(vae.check_kl_divergence, lambda m, lv: tf.reduce_mean(kl_divergence(m, lv)),
               match="one KL per example")


def test_kl_missing_half():
    fails_with(vae.check_kl_divergence, lambda m, lv: 2 * kl_divergence(m, lv), match="factor 0.5")


def test_kl_log_var_taken_as_log_std():
    fails_with(vae.check_kl_divergence,
               lambda m, lv: -0.5 * tf.reduce_sum(1.0 + 2 * lv - m**2 - tf.exp(2 * lv), axis=-1),
               match="log of the standard deviation")


def test_kl_missing_minus_one():
    fails_with(vae.check_kl_divergence,
               lambda m, lv: -0.5 * tf.reduce_sum(lv - m**2 - tf.exp(lv), axis=-1), match="- 1")


def test_kl_something_else_gets_the_formula():
    fails_with(vae.check_kl_divergence, lambda m, lv: tf.reduce_sum(m, axis=-1), match="Use 0.5")


# --- negative ELBO ------------------------------------------------------------------------------


def test_elbo_reconstruction_averaged_over_pixels():
    def averaged(x, logits, m, lv):
        rec = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3])
        return rec + kl_divergence(m, lv)

    fails_with(vae.check_negative_elbo, averaged, match="AVERAGED over the pixels")


def test_elbo_kl_subtracted():
    fails_with(vae.check_negative_elbo, lambda x, lo, m, lv: reconstruction(x, lo) - kl_divergence(m, lv),
               match="subtracted")


def test_elbo_kl_missing():
    fails_with(vae.check_negative_elbo, lambda x, lo, m, lv: reconstruction(x, lo), match="KL term is missing")


def test_elbo_kl_averaged_over_latent_dims():
    def kl_mean(x, lo, m, lv):
        return reconstruction(x, lo) - 0.5 * tf.reduce_mean(1.0 + lv - m**2 - tf.exp(lv), axis=-1)

    fails_with(vae.check_negative_elbo, kl_mean, match="averaged over the latent")


def test_elbo_averaged_over_the_batch():
    fails_with(vae.check_negative_elbo, lambda *args: tf.reduce_mean(negative_elbo(*args)), match="shape")


def test_elbo_sigmoid_before_a_logits_loss():
    fails_with(vae.check_negative_elbo,
               lambda x, lo, m, lv: negative_elbo(x, tf.sigmoid(lo), m, lv), match="sigmoid")


def test_elbo_labels_and_logits_swapped():
    def swapped(x, lo, m, lv):
        rec = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=lo, logits=x), axis=[1, 2, 3])
        return rec + kl_divergence(m, lv)

    fails_with(vae.check_negative_elbo, swapped, match="swapped")


# --- causal_mask --------------------------------------------------------------------------------


def causal_mask(size):
    mask = np.zeros((size, size), "float32")
    mask[: size // 2, :] = 1.0
    mask[size // 2, : size // 2] = 1.0
    return mask


def test_causal_mask_solution_passes(capsys):
    vae.check_causal_mask(causal_mask)
    assert "PASSED" in capsys.readouterr().out


def test_causal_mask_reference_hides_the_centre_and_everything_after_it():
    mask = vae.causal_mask_reference(5)
    flat = mask.reshape(-1)
    assert flat[:12].all() and not flat[12:].any()  # raster order: the 12 pixels before the centre


def _with(size, edit):
    mask = causal_mask(size)
    edit(mask, size // 2)
    return mask


@pytest.mark.parametrize("wrong, match", [
    (lambda s: _with(s, lambda m, h: m.__setitem__((h, h), 1.0)), "see ITSELF"),
    (lambda s: causal_mask(s).T, "column by column"),
    (lambda s: causal_mask(s)[::-1, ::-1], "AFTER the centre"),
    (lambda s: _with(s, lambda m, h: m.__setitem__((h, slice(h + 1, None)), 1.0)), "RIGHT of the centre"),
    (lambda s: _with(s, lambda m, h: m.__setitem__((h, slice(None)), 0.0)), "left in the centre row"),
    (lambda s: 1.0 - causal_mask(s), "inverted"),
    (lambda s: np.ones((s, s)), "hides nothing"),
    (lambda s: np.eye(s), "should be"),
    (lambda s: causal_mask(s)[:-1], "shape"),
    (lambda s: None, "return"),
])
def test_causal_mask_names_the_mistake(wrong, match):
    fails_with(vae.check_causal_mask, wrong, match=match)


def test_causal_mask_error_in_learner_code_is_reported():
    fails_with(vae.check_causal_mask, lambda s: np.zeros(s)[s], match=r"causal_mask\(3\) raised")
