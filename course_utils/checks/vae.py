"""Checks for chapter 03, variational autoencoders.

Each check runs the learner's function on small inputs whose correct answer is known, and
when the answer is wrong it tests the answer against the usual mistakes (wrong sign, the
log-variance used as a standard deviation, a mean where a sum belongs, ...) to name the
most likely one.
"""

import numpy as np
import tensorflow as tf

from course_utils.checks._learner import call_watched, run_compiled_twice, run_traced_without_batch_size
from course_utils.checks._numeric import close
from course_utils.checks._verdict import CheckFailed, call_learner, learner_array, passed, require

_TOLERANCE = 1e-3  # the learner's float32 sums (784 pixels for the ELBO) against float64 references


def _call(fn, *arrays):
    """Call ``fn`` on float32 tensors and return a float64 NumPy array, explaining a crash, None or NaN."""
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    out = call_learner(f"calling your function on inputs of shapes {shapes} raised",
                       fn, *(tf.constant(a, tf.float32) for a in arrays))
    out = learner_array(out, "your function")
    require(np.all(np.isfinite(out)),
            "your function returns NaN or inf for inputs where log_var has negative entries, as log-variances "
            "do: is there a sqrt or log of log_var (the variance is exp(log_var), the standard deviation "
            "exp(0.5 * log_var)), or a log of a probability that can be 0?")
    return out


# --- reparameterisation -------------------------------------------------------------------------


def _kurtosis(samples):
    """The kurtosis of each column (3 for a Gaussian, 1.8 for a uniform)."""
    centred = samples - samples.mean(axis=0)
    return (centred**4).mean(axis=0) / centred.var(axis=0) ** 2


def check_reparameterize(reparameterize):
    """``reparameterize(mean, log_var)`` = mean + exp(log_var / 2) * eps, eps ~ N(0, I)."""
    n = 20000  # the statistics below are at least 10 standard errors from every threshold
    target_std = np.array([0.5, 2.0])
    mean = np.tile([[1.5, -2.0]], (n, 1))
    log_var = np.tile(np.log(target_std**2)[None], (n, 1))
    z = _call(reparameterize, mean, log_var)
    require(z.shape == mean.shape,
            f"for mean and log_var of shape {mean.shape} you return shape {z.shape}; z has the shape of the mean.")
    std = z.std(axis=0)
    require(not np.allclose(z, mean, atol=1e-6),
            "your z equals the mean: the noise is missing. Draw eps = tf.random.normal(tf.shape(mean)) "
            "and return mean + std * eps.")
    require(not np.allclose(std, 0.0, atol=1e-6),
            "every example of the batch gets the same z: eps was drawn once for the whole batch (e.g. with the "
            "shape tf.shape(mean)[1:]). Draw one eps per example and dimension: tf.random.normal(tf.shape(mean)).")
    correlation = np.corrcoef(z.T)[0, 1]
    require(abs(correlation) < 0.5,
            f"the latent dimensions of z move together (correlation {correlation:.2f}): one eps per example was "
            "shared by all dimensions (shape (batch, 1)). Draw eps with the full shape tf.shape(mean).")
    require(np.all(_kurtosis(z) > 2.5),
            "z is not Gaussian around the mean (its spread is flat-topped, like a uniform): draw eps with "
            "tf.random.normal, not tf.random.uniform.")
    if close(std, np.abs(np.log(target_std**2)), tol=0.05):
        raise CheckFailed("the spread of z is |log_var|: you used the log-variance as the standard deviation "
                          "(eps * log_var). The standard deviation is exp(0.5 * log_var).")
    if close(std, target_std**2, tol=0.05):
        raise CheckFailed("the spread of z is exp(log_var), the VARIANCE: use the standard deviation "
                          "exp(0.5 * log_var) to scale eps.")
    if close(std, np.sqrt(target_std), tol=0.05):
        raise CheckFailed("the spread of z is exp(0.25 * log_var): the standard deviation is "
                          "exp(0.5 * log_var) = sqrt(variance).")
    require(close(std, target_std, tol=0.05),
            f"for standard deviations {target_std} (log_var = {np.log(target_std**2).round(3)}) your z has "
            f"spread {std.round(3)}; use mean + exp(0.5 * log_var) * eps with eps ~ N(0, 1).")
    require(close(z.mean(axis=0), mean[0], tol=0.05),
            f"z should be centred on the mean {mean[0]}, yours on {z.mean(axis=0).round(3)}: add the mean.")

    # The point of the trick: z is a differentiable function of mean and log_var.
    m, lv = tf.constant(mean[:8], tf.float32), tf.constant(log_var[:8], tf.float32)
    _, gradient = call_watched("reparameterize raised on a batch of 8", reparameterize, m, lv)
    require(gradient(m) is not None and gradient(lv) is not None,
            "no gradient flows from z back to mean and log_var: compute z with TensorFlow ops from the "
            "two tensors (no NumPy, no .numpy(), no tf.stop_gradient), so the encoder can learn.")
    first, second = run_compiled_twice("inside tf.function (as in train_step) reparameterize failed",
                                       reparameterize, m, lv)
    require(not np.array_equal(first, second),
            "inside tf.function (as in train_step) your function returns the same z every call: draw "
            "eps with tf.random.normal, not with NumPy (NumPy draws once, when the function is traced).")
    run_traced_without_batch_size("inside tf.function with an unknown batch size (as in a Keras model or "
                                  "train_step) reparameterize failed", reparameterize, mean[:8], log_var[:8])
    passed("reparameterize returns mean + exp(0.5 * log_var) * eps, differentiable and fresh on every call")


# --- KL divergence ------------------------------------------------------------------------------

_KL_MEAN = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0], [0.3, 2.0, -0.7, 1.2]])
_KL_LOG_VAR = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [np.log(0.5), np.log(2.0), -1.5, 0.4]])


def kl_reference(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, in nats (NumPy)."""
    return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var - 1.0, axis=-1)


def check_kl_divergence(kl_divergence):
    """``kl_divergence(mean, log_var)``: the Gaussian KL to N(0, I), one value per example."""
    mean, log_var = _KL_MEAN, _KL_LOG_VAR
    want = kl_reference(mean, log_var)
    got = _call(kl_divergence, mean, log_var)
    n, d = mean.shape
    require(got.shape != (n, d),
            f"you return shape {got.shape}, one value per latent dimension: sum over the latent "
            "dimensions (axis=-1) to get one KL per example.")
    require(got.shape == (n,),
            f"you return shape {got.shape}; return one KL per example, shape ({n},). (Don't average "
            "over the batch here: the loss does that.)")
    if close(got, want, _TOLERANCE):
        require(np.all(got >= 0), "internal error: the reference KL is negative")
        passed("kl_divergence = 0.5 * sum(mean^2 + exp(log_var) - log_var - 1) per example, in nats")
        return
    diagnoses = [
        (-want, "your KL has the wrong sign (it is <= 0 here, but a KL divergence is never negative): "
                "KL = -0.5 * sum(1 + log_var - mean^2 - exp(log_var))."),
        (want / d, "your KL is averaged over the latent dimensions: SUM over them (axis=-1); the KL of "
                   "independent dimensions adds up."),
        (2 * want, "your KL is twice the right value: the factor 0.5 is missing."),
        (0.5 * np.sum(mean**2 + np.exp(2 * log_var) - 2 * log_var - 1, axis=-1),
         "you treated log_var as the log of the standard deviation: here it is the log of the "
         "VARIANCE, so the variance is exp(log_var), not exp(2 * log_var)."),
        (0.5 * np.sum(mean**2 + np.exp(log_var) - log_var, axis=-1),
         "the '- 1' inside the sum is missing: the KL of N(0, 1) to N(0, 1) must be 0."),
        (0.5 * np.sum(np.exp(log_var) - log_var - 1.0, axis=-1),
         "the mean^2 term is missing: moving the mean away from 0 must cost KL."),
    ]
    for wrong, message in diagnoses:
        if close(got, wrong, _TOLERANCE):
            raise CheckFailed(message)
    raise CheckFailed(f"for mean={mean.tolist()} and log_var={log_var.round(3).tolist()} the KL per example "
                      f"is {want.round(4)}, yours is {got.round(4)}. Use "
                      "0.5 * sum(mean^2 + exp(log_var) - log_var - 1, axis=-1).")


# --- the negative ELBO --------------------------------------------------------------------------


def _bce_with_logits(x, logits):
    return np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))


def _bce_of_probabilities(x, p, eps=1e-7):
    """Binary cross-entropy with ``p`` read as probabilities and clipped, as Keras does without from_logits
    (in float32, as Keras computes it: 1 - 1e-7 rounds there)."""
    x, p = np.float32(x), np.clip(np.float32(p), np.float32(eps), np.float32(1 - eps))
    return -(x * np.log(p) + (1 - x) * np.log(np.float32(1) - p)).astype(np.float64)


def check_negative_elbo(negative_elbo):
    """``negative_elbo(x, logits, mean, log_var)``: Bernoulli NLL summed over pixels + KL, per example."""
    rng = np.random.default_rng(3)
    n = 3
    x = (rng.uniform(size=(n, 28, 28, 1)) < 0.3).astype(np.float64)
    logits = rng.normal(0.0, 2.0, size=x.shape)
    mean = _KL_MEAN
    log_var = _KL_LOG_VAR
    rec = _bce_with_logits(x, logits).sum(axis=(1, 2, 3))
    kl = kl_reference(mean, log_var)
    got = _call(negative_elbo, x, logits, mean, log_var)
    require(got.shape == (n,),
            f"you return shape {got.shape}; return the negative ELBO of each example, shape ({n},) "
            "(sum the reconstruction term over the pixels; average over the batch only in the loss).")
    want = rec + kl
    if close(got, want, _TOLERANCE):
        passed("negative_elbo = Bernoulli reconstruction (summed over the 784 pixels) + KL, in nats per image")
        return
    pixels = 28 * 28
    rec_sigmoid_twice = _bce_with_logits(x, 1 / (1 + np.exp(-logits))).sum(axis=(1, 2, 3))
    diagnoses = [
        (rec / pixels + kl, "your reconstruction term is AVERAGED over the pixels (e.g. keras "
                            "binary_crossentropy, which takes a mean): sum it over the 784 pixels, so "
                            "the loss is in nats per image and is not swamped by the KL term."),
        (rec / pixels + kl / mean.shape[1], "both terms are averaged (over pixels and latent dimensions): "
                                            "sum them, so the result is in nats per image."),
        (rec - kl, "the KL term is subtracted: the ELBO is reconstruction log-likelihood MINUS KL, so the "
                   "negative ELBO (the loss) is the reconstruction error PLUS KL."),
        (rec, "the KL term is missing: add kl_divergence(mean, log_var)."),
        (rec + kl / mean.shape[1], "the KL term is averaged over the latent dimensions: sum it."),
        (kl, "the reconstruction term is missing."),
        (rec + 2 * kl, "the KL term is counted twice."),
        (rec_sigmoid_twice + kl, "you applied a sigmoid to the logits and then a loss that expects logits: "
                                 "pass the decoder's raw logits to sigmoid_cross_entropy_with_logits."),
        (_bce_of_probabilities(x, logits).sum(axis=(1, 2, 3)) + kl,
         "your loss read the logits as probabilities (keras binary_crossentropy without from_logits=True): "
         "the decoder returns LOGITS, so pass from_logits=True or use tf.nn.sigmoid_cross_entropy_with_logits."),
        (((x - 1 / (1 + np.exp(-logits))) ** 2).sum(axis=(1, 2, 3)) + kl,
         "your reconstruction term is a squared error: the decoder models each pixel as a Bernoulli, so "
         "-log p(x|z) is the binary cross-entropy, tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)."),
        (-rec + kl, "the reconstruction term has the wrong sign: the cross-entropy is already -log p(x|z), a "
                    "positive number to ADD to the KL."),
    ]
    for wrong, message in diagnoses:
        if close(got, wrong, _TOLERANCE):
            raise CheckFailed(message)
    if np.allclose(got, kl + _bce_with_logits(logits, x).sum(axis=(1, 2, 3)), rtol=1e-3):
        raise CheckFailed("labels and logits are swapped: use "
                          "tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits).")
    raise CheckFailed(f"on a test batch the negative ELBO per example should be {want.round(2)} nats "
                      f"(reconstruction {rec.round(2)} + KL {kl.round(2)}); yours is {got.round(2)}. "
                      "Use tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits) summed over "
                      "the pixels (axes 1, 2, 3), plus kl_divergence(mean, log_var). Note the decoder "
                      "returns LOGITS: don't apply a sigmoid before a loss that expects logits.")


# --- the causal mask of an autoregressive decoder ------------------------------------------------


def causal_mask_reference(size):
    """(size, size) mask: 1 where a pixel comes before the centre in raster order, else 0 (NumPy)."""
    mask = np.zeros((size, size))
    mask[: size // 2, :] = 1.0
    mask[size // 2, : size // 2] = 1.0
    return mask


def _mask_diagnoses(size):
    """(wrong mask, message) for the usual mistakes, for a window of ``size`` × ``size``."""
    half = size // 2
    want = causal_mask_reference(size)
    with_centre = want.copy()
    with_centre[half, half] = 1.0
    rows_above_only = want.copy()
    rows_above_only[half, :] = 0.0
    whole_middle_row = want.copy()
    whole_middle_row[half, :] = 1.0
    whole_middle_row[half, half] = 0.0
    return [
        (with_centre, "your mask lets each pixel see ITSELF (the centre is 1): the decoder would learn to copy "
                      "the pixel it is asked to predict, the training loss would fall towards 0, and the "
                      "result is no longer a likelihood. Set the centre to 0."),
        (want.T, "your mask follows the pixels column by column (above in the same column, everything to the "
                 "left): we draw row by row, so use the rows above and the pixels to the LEFT in the centre row."),
        (want[::-1, ::-1], "your mask looks at the pixels AFTER the centre (below and to the right): those are "
                           "not drawn yet when this pixel is sampled. Use the rows above and the pixels to the left."),
        (whole_middle_row, "your mask includes pixels to the RIGHT of the centre in its row: in raster order they "
                           "come later. Keep only the left part of the centre row."),
        (rows_above_only, "your mask leaves out the pixels to the left in the centre row: that is still valid, but "
                          "it hides the nearest neighbour already drawn. Set mask[size // 2, :size // 2] = 1."),
        (1.0 - want, "your mask is inverted (1 where it should be 0): 1 marks the pixels drawn BEFORE the centre."),
        (np.ones((size, size)), "your mask hides nothing (all ones): each pixel would see itself and the pixels drawn "
                                "after it. Keep 1 only for the rows above the centre and the pixels left of it."),
        (np.zeros((size, size)), "your mask hides everything (all zeros): the decoder would see no earlier pixel. "
                                 "Set 1 for the rows above the centre and the pixels left of it in its row."),
    ]


def check_causal_mask(causal_mask):
    """``causal_mask(size)``: 1 for the pixels above the centre, and left of it in its row; 0 elsewhere."""
    for size in (3, 5, 7):
        got = learner_array(call_learner(f"causal_mask({size}) raised", causal_mask, size), f"causal_mask({size})")
        require(got.shape == (size, size),
                f"causal_mask({size}) has shape {got.shape}; it should be ({size}, {size}), one entry per "
                "position of the window.")
        want = causal_mask_reference(size)
        if np.array_equal(got, want):
            continue
        for wrong, message in _mask_diagnoses(size):
            if np.array_equal(got, wrong):
                raise CheckFailed(message)
        raise CheckFailed(f"causal_mask({size}) should be\n{want.astype(int)}\n(1: rows above the centre, and the "
                          f"centre row left of the centre), yours is\n{np.round(got, 3)}")
    passed("causal_mask keeps exactly the pixels drawn before the centre: rows above, and left of it in its row")
