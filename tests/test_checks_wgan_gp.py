"""Each chapter-08 check passes the solution and names typical mistakes."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils import toy2d
from course_utils.checks import CheckFailed
from course_utils.checks import wgan_gp as checks


# --- mode statistics ----------------------------------------------------------------------------


def mode_stats(samples, centres, std, radius=3.0, min_share=0.1, filter_quality=True, as_percent=False):
    """The solution, with switches that reproduce typical mistakes."""
    distances = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)
    good = distances.min(axis=1) <= radius * std
    kept = distances.argmin(axis=1)[good] if filter_quality else distances.argmin(axis=1)
    counts = np.bincount(kept, minlength=len(centres))
    covered = int(np.sum(counts >= min_share / len(centres) * len(samples)))
    share = good.mean() * (100 if as_percent else 1)
    return covered, share


def test_mode_stats_solution_passes(capsys):
    checks.check_mode_stats(mode_stats)
    assert capsys.readouterr().out.startswith("PASSED")


def test_mode_stats_agrees_with_toy2d():
    samples = toy2d.sample_ring(3000, seed=5)[:2000]
    stats = toy2d.mode_coverage(samples)
    assert mode_stats(samples, toy2d.mode_centres(), toy2d.STD) == (stats["modes_covered"],
                                                                   stats["high_quality_share"])


@pytest.mark.parametrize("wrong, message", [
    (lambda s, c, std: mode_stats(s, c, std, filter_quality=False), "off the ring"),
    (lambda s, c, std: mode_stats(s, c, std, min_share=1e-9), "is not covered"),
    (lambda s, c, std: mode_stats(s, c, std, radius=1.0), "3 \\* std"),
    (lambda s, c, std: (mode_stats(s, c, std)[0], mode_stats(s, c, std)[1] * len(s)), "not a count"),
    (lambda s, c, std: mode_stats(s, c, std, as_percent=True), "percentage"),
    (lambda s, c, std: mode_stats(s, c, std)[0], "two numbers"),
])
def test_mode_stats_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_mode_stats(wrong)


# --- generator losses ---------------------------------------------------------------------------


def saturating(logits):
    return -tf.reduce_mean(tf.math.softplus(logits))


def non_saturating(logits):
    return tf.reduce_mean(tf.math.softplus(-logits))


def test_generator_losses_solution_passes(capsys):
    checks.check_generator_losses(saturating, non_saturating)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong_sat, wrong_ns, message", [
    (lambda l: tf.reduce_mean(tf.math.softplus(l)), non_saturating, "saturating_loss has the wrong sign"),
    (non_saturating, saturating, "saturating_loss returns the non-saturating"),
    (lambda l: tf.reduce_mean(tf.math.log(1 - tf.sigmoid(l))), non_saturating, "inf or NaN"),
    (saturating, lambda l: -tf.reduce_mean(tf.math.log(tf.sigmoid(l))), "inf or NaN"),
    (saturating, lambda l: tf.reduce_mean(tf.math.log(tf.sigmoid(l))), "non_saturating_loss has the wrong sign"),
    (saturating, lambda l: tf.keras.losses.binary_crossentropy(tf.ones_like(l)[:, 0], l[:, 0]),
     "treats the logits as probabilities"),
    (saturating, lambda l: tf.reduce_sum(tf.math.softplus(-l)), "sums over the batch"),
    (lambda l: -np.mean(np.log1p(np.exp(np.asarray(l)))), non_saturating, "no gradient"),
])
def test_generator_loss_mistakes_are_named(wrong_sat, wrong_ns, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_generator_losses(wrong_sat, wrong_ns)


# --- Wasserstein losses -------------------------------------------------------------------------


def critic_loss(real, fake):
    return tf.reduce_mean(fake) - tf.reduce_mean(real)


def generator_loss(fake):
    return -tf.reduce_mean(fake)


def test_wasserstein_losses_solution_passes(capsys):
    checks.check_wasserstein_losses(critic_loss, generator_loss)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong_critic, wrong_generator, message", [
    (lambda r, f: tf.reduce_mean(r) - tf.reduce_mean(f), generator_loss, "critic_loss has the wrong sign"),
    (lambda r, f: tf.reduce_mean(tf.math.softplus(-r)) + tf.reduce_mean(tf.math.softplus(f)), generator_loss,
     "no sigmoid"),
    (lambda r, f: tf.reduce_sum(f) - tf.reduce_sum(r), generator_loss, "sums"),
    (critic_loss, lambda f: tf.reduce_mean(f), "generator_loss has the wrong sign"),
    (critic_loss, lambda f: tf.reduce_mean(tf.math.softplus(-f)), "cross-entropy"),
    (critic_loss, lambda f: None, "return"),
])
def test_wasserstein_loss_mistakes_are_named(wrong_critic, wrong_generator, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_wasserstein_losses(wrong_critic, wrong_generator)


# --- gradient penalty ---------------------------------------------------------------------------


def penalty(critic, real, fake, where="interpolates", eps_shape="per_example", norm="per_example",
            form="square", watch=True):
    """The solution, with switches that reproduce typical mistakes."""
    batch = tf.shape(real)[0]
    ones = [1] * (len(real.shape) - 1)
    if eps_shape == "per_example":
        eps = tf.random.uniform(tf.concat([[batch], ones], axis=0))
    elif eps_shape == "per_batch":
        eps = tf.random.uniform([])
    elif eps_shape == "per_pixel":
        eps = tf.random.uniform(tf.shape(real))
    else:  # (batch, 1): does not broadcast over images
        eps = tf.random.uniform([batch, 1])
    x_hat = {"interpolates": eps * real + (1 - eps) * fake, "real": real, "fake": fake}[where]
    with tf.GradientTape() as tape:
        if watch:
            tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    axes = list(range(1, len(real.shape)))
    norms = {"per_example": tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes)),
             "batch": tf.norm(tf.reshape(grads, [-1])),
             "axis1": tf.norm(grads, axis=1)}[norm]
    return {"square": tf.reduce_mean((norms - 1.0) ** 2),
            "no_square": tf.reduce_mean(norms - 1.0),
            "squared_norm": tf.reduce_mean((norms ** 2 - 1.0) ** 2),
            "sum": tf.reduce_sum((norms - 1.0) ** 2),
            "lambda": 10.0 * tf.reduce_mean((norms - 1.0) ** 2),
            "numpy": float(tf.reduce_mean((norms - 1.0) ** 2))}[form]


def test_gradient_penalty_solution_passes(capsys):
    checks.check_gradient_penalty(penalty)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, message", [
    ({"where": "real"}, "REAL samples"),
    ({"where": "fake"}, "FAKE samples"),
    ({"eps_shape": "per_batch"}, "same eps"),
    ({"eps_shape": "per_pixel"}, "ONE eps per example"),
    ({"eps_shape": "batch_by_one"}, "batch, 1, 1, 1"),
    ({"norm": "batch"}, "whole batch"),
    ({"norm": "axis1"}, "ALL axes except the batch axis"),
    ({"form": "no_square"}, "missing its square"),
    ({"form": "squared_norm"}, "squared norm"),
    ({"form": "sum"}, "sums over the batch"),
    ({"form": "lambda"}, "without the factor lambda"),
    ({"form": "numpy"}, "no gradient"),
    ({"watch": False}, "tape.watch"),
])
def test_gradient_penalty_mistakes_are_named(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_gradient_penalty(lambda critic, real, fake: penalty(critic, real, fake, **kwargs))


def unfinished(*args, **kwargs):
    raise NotImplementedError("Exercise: write your code here")


@pytest.mark.parametrize("check, answers", [
    (checks.check_mode_stats, [unfinished]),
    (checks.check_generator_losses, [unfinished, unfinished]),
    (checks.check_wasserstein_losses, [unfinished, unfinished]),
    (checks.check_gradient_penalty, [unfinished]),
])
def test_the_placeholder_of_an_exercise_is_not_hidden(check, answers):
    with pytest.raises(NotImplementedError, match="Exercise"):
        check(*answers)
