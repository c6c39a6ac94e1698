"""Chapter 08's checks against wrong answers a learner writes, and correct answers written differently."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import toy2d
from course_utils.checks import wgan_gp as checks
from tests.mutations.harness import assert_accepted, assert_rejected, check_tests

# --- mode_stats -----------------------------------------------------------------------------------


def stats(samples, centres, std, radius=3.0, squared=False, quality_only=True, of_good=False, at_least=None):
    """mode_stats as a learner writes it, with the knobs a learner gets wrong."""
    offsets = samples[:, None, :] - centres[None, :, :]
    distances = (offsets ** 2).sum(-1) if squared else np.sqrt((offsets ** 2).sum(-1))
    good = distances.min(1) <= radius * std
    nearest = distances.argmin(1)
    counts = np.bincount(nearest[good] if quality_only else nearest, minlength=len(centres))
    if at_least is None:
        at_least = toy2d.COVERAGE_SHARE / len(centres) * (good.sum() if of_good else len(samples))
    return int((counts >= at_least).sum()), float(good.mean())


MODE_STATS_MISTAKES = {
    "all_samples_count_for_coverage": (lambda s, c, std: stats(s, c, std, quality_only=False), "off the ring"),
    "share_of_good_samples": (lambda s, c, std: stats(s, c, std, of_good=True), "share of ALL samples"),
    "any_sample_covers": (lambda s, c, std: stats(s, c, std, at_least=1), "is not covered"),
    "radius_two_std": (lambda s, c, std: stats(s, c, std, radius=2.0), "used 2 \\* std"),
    "radius_std": (lambda s, c, std: stats(s, c, std, radius=1.0), "used std instead"),
    "radius_four_std": (lambda s, c, std: stats(s, c, std, radius=4.0), "used 4 \\* std"),
    "squared_distance": (lambda s, c, std: stats(s, c, std, squared=True), "SQUARED distance"),
    "share_as_count": (lambda s, c, std: (stats(s, c, std)[0], stats(s, c, std)[1] * len(s)), "not a count"),
    "share_as_percentage": (lambda s, c, std: (stats(s, c, std)[0], 100 * stats(s, c, std)[1]), "percentage"),
    "covered_as_fraction": (lambda s, c, std: (stats(s, c, std)[0] / len(c), stats(s, c, std)[1]),
                            "expected 2 covered modes"),
    "one_value": (lambda s, c, std: stats(s, c, std)[0], "two numbers"),
    "min_over_the_wrong_axis": (lambda s, c, std: np.bincount(
        np.linalg.norm(s[:, None] - c[None], axis=-1).argmin(0)[np.linalg.norm(s[:, None] - c[None], axis=-1)
                                                                 .min(1) <= 3 * std]), "mode_stats raised"),
    "forgot_return": (lambda s, c, std: None, "returned None"),
}


def loop_mode_stats(samples, centres, std):
    counts = [0] * len(centres)
    good = 0
    for point in samples:
        distances = [np.hypot(*(point - centre)) for centre in centres]
        if min(distances) <= 3 * std:
            good += 1
            counts[int(np.argmin(distances))] += 1
    needed = toy2d.COVERAGE_SHARE * len(samples) / len(centres)
    return sum(count >= needed for count in counts), good / len(samples)


def tensorflow_mode_stats(samples, centres, std):
    distances = tf.norm(tf.constant(samples)[:, None, :] - tf.constant(centres)[None], axis=-1)
    good = tf.reduce_min(distances, axis=1) <= 3 * std
    nearest = tf.boolean_mask(tf.argmin(distances, axis=1, output_type=tf.int32), good)
    counts = tf.math.bincount(nearest, minlength=len(centres))
    covered = tf.reduce_sum(tf.cast(tf.cast(counts, tf.float32) >= 0.1 / len(centres) * len(samples), tf.int32))
    return covered, tf.reduce_mean(tf.cast(good, tf.float32))


test_mode_stats_mistake_is_rejected, test_mode_stats_written_differently_is_accepted = check_tests(
    checks.check_mode_stats, MODE_STATS_MISTAKES, [loop_mode_stats, tensorflow_mode_stats])


# --- saturating and non-saturating generator losses ---------------------------------------------------


def saturating(logits):
    return -tf.reduce_mean(tf.math.softplus(logits))


def non_saturating(logits):
    return tf.reduce_mean(tf.math.softplus(-logits))


GENERATOR_LOSSES_MISTAKES = {
    "saturating_with_probabilities": (
        "saturating_loss treats the logits as probabilities",
        lambda l: -keras.losses.BinaryCrossentropy()(tf.zeros_like(l), l), non_saturating),
    "non_saturating_with_probabilities": (
        "non_saturating_loss treats the logits as probabilities",
        saturating, lambda l: keras.losses.BinaryCrossentropy()(tf.ones_like(l), l)),
    "sigmoid_around_the_logit": (
        "non_saturating_loss applies a sigmoid",
        saturating, lambda l: keras.losses.BinaryCrossentropy(from_logits=True)(tf.ones_like(l), tf.sigmoid(l))),
    "log_of_sigmoid_overflows": (
        "inf or NaN", lambda l: tf.reduce_mean(tf.math.log(1.0 - tf.sigmoid(l))), non_saturating),
    "saturating_maximised": ("saturating_loss has the wrong sign", lambda l: tf.reduce_mean(tf.math.softplus(l)),
                             non_saturating),
    "losses_swapped": ("returns the non-saturating", non_saturating, saturating),
    "per_example_loss": ("one number", saturating, lambda l: tf.math.softplus(-l)),
    "numpy_loss": ("no gradient", saturating, lambda l: float(np.mean(np.logaddexp(0, -np.asarray(l))))),
    "forgot_return": ("returned None", lambda l: None, non_saturating),
}


@pytest.mark.parametrize("mistake", GENERATOR_LOSSES_MISTAKES)
def test_generator_losses_mistake_is_rejected(mistake):
    pattern, sat, ns = GENERATOR_LOSSES_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_generator_losses, sat, ns)


def keras_bce_pair():
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    return (lambda l: -bce(tf.zeros_like(l), l)), (lambda l: bce(tf.ones_like(l), l))


def log_sigmoid_pair():
    return (lambda l: keras.ops.mean(keras.ops.log_sigmoid(-l))), (lambda l: -tf.reduce_mean(tf.math.log_sigmoid(l)))


@pytest.mark.parametrize("pair", [keras_bce_pair, log_sigmoid_pair])
def test_generator_losses_written_differently_are_accepted(pair):
    assert_accepted(checks.check_generator_losses, *pair())


# --- Wasserstein losses ---------------------------------------------------------------------------


def critic_loss(real, fake):
    return tf.reduce_mean(fake) - tf.reduce_mean(real)


def generator_loss(fake):
    return -tf.reduce_mean(fake)


WASSERSTEIN_MISTAKES = {
    "critic_sign": ("critic_loss has the wrong sign", lambda r, f: tf.reduce_mean(r) - tf.reduce_mean(f),
                    generator_loss),
    "critic_sigmoid": ("critic_loss squashes the scores with a sigmoid",
                       lambda r, f: tf.reduce_mean(tf.sigmoid(f)) - tf.reduce_mean(tf.sigmoid(r)), generator_loss),
    "critic_bce": ("binary cross-entropy", lambda r, f: keras.losses.BinaryCrossentropy(from_logits=True)(
        tf.ones_like(r), r) + keras.losses.BinaryCrossentropy(from_logits=True)(tf.zeros_like(f), f), generator_loss),
    "critic_absolute": ("absolute value", lambda r, f: tf.abs(tf.reduce_mean(f) - tf.reduce_mean(r)), generator_loss),
    "critic_sums": ("sums over the batch", lambda r, f: tf.reduce_sum(f) - tf.reduce_sum(r), generator_loss),
    "critic_per_example": ("one number", lambda r, f: f - r, generator_loss),
    "critic_numpy": ("no gradient", lambda r, f: np.mean(f) - np.mean(r), generator_loss),
    "generator_sign": ("generator_loss has the wrong sign", critic_loss, lambda f: tf.reduce_mean(f)),
    "generator_sigmoid": ("generator_loss squashes", critic_loss, lambda f: -tf.reduce_mean(tf.sigmoid(f))),
    "generator_forgot_return": ("returned None", critic_loss, lambda f: None),
}


@pytest.mark.parametrize("mistake", WASSERSTEIN_MISTAKES)
def test_wasserstein_mistake_is_rejected(mistake):
    pattern, critic, generator = WASSERSTEIN_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_wasserstein_losses, critic, generator)


@pytest.mark.parametrize("critic, generator", [
    (lambda r, f: keras.ops.mean(f - r), lambda f: keras.ops.mean(-f)),
    (lambda r, f: -(tf.reduce_mean(r) - tf.reduce_mean(f)), lambda f: tf.reduce_mean(tf.negative(f), axis=None)),
])
def test_wasserstein_losses_written_differently_are_accepted(critic, generator):
    assert_accepted(checks.check_wasserstein_losses, critic, generator)


# --- gradient penalty -----------------------------------------------------------------------------


def penalty_from(x_hat_of, norm_of=None, reduce=tf.reduce_mean, square=True):
    """A gradient penalty whose interpolates and norm are chosen by the caller."""

    def gradient_penalty(critic, real, fake):
        x_hat = x_hat_of(real, fake)
        with tf.GradientTape() as tape:
            tape.watch(x_hat)
            scores = critic(x_hat, training=True)
        grads = tape.gradient(scores, x_hat)
        axes = list(range(1, len(real.shape)))
        norms = norm_of(grads) if norm_of else tf.sqrt(tf.reduce_sum(grads ** 2, axis=axes))
        return reduce((norms - 1.0) ** 2 if square else norms - 1.0)

    return gradient_penalty


def per_example(real, fake):
    eps = tf.random.uniform([real.shape[0]] + [1] * (len(real.shape) - 1))
    return eps * real + (1 - eps) * fake


def numpy_eps(real, fake):
    eps = np.random.uniform(size=(real.shape[0],) + (1,) * (len(real.shape) - 1)).astype("float32")
    return eps * real + (1 - eps) * fake


def no_watch(critic, real, fake):
    x_hat = per_example(real, fake)
    with tf.GradientTape() as tape:
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    return tf.reduce_mean((tf.norm(tf.reshape(grads, [grads.shape[0], -1]), axis=1) - 1.0) ** 2)


GRADIENT_PENALTY_MISTAKES = {
    "one_eps_for_the_batch": (penalty_from(
        lambda r, f: (lambda e: e * r + (1 - e) * f)(tf.random.uniform([]))), "same eps"),
    "two_draws_of_eps": (penalty_from(
        lambda r, f: tf.random.uniform([r.shape[0], 1]) * r + (1 - tf.random.uniform([r.shape[0], 1])) * f),
        "not on the segments"),
    "eps_per_coordinate": (penalty_from(
        lambda r, f: (lambda e: e * r + (1 - e) * f)(tf.random.uniform(tf.shape(r)))), "ONE eps per example"),
    "eps_of_shape_batch_by_one_for_images": (penalty_from(
        lambda r, f: (lambda e: e * r + (1 - e) * f)(tf.random.uniform([r.shape[0], 1]))), "batch, 1, 1, 1"),
    "eps_from_a_normal": (penalty_from(
        lambda r, f: (lambda e: e * r + (1 - e) * f)(tf.random.normal([r.shape[0]] + [1] * (len(r.shape) - 1)))),
        "uniformly from \\[0, 1\\]"),
    "numpy_eps_frozen_when_compiled": (penalty_from(numpy_eps), "same interpolates at every step"),
    "penalty_at_the_real_samples": (penalty_from(lambda r, f: r), "REAL samples"),
    "norm_over_the_whole_batch": (penalty_from(per_example, norm_of=tf.norm), "whole batch"),
    "norm_over_the_last_axis": (penalty_from(
        per_example, norm_of=lambda g: tf.norm(g, axis=-1)), "axes \\(-1,\\) only"),
    "no_square": (penalty_from(per_example, square=False), "missing its square"),
    "summed_over_the_batch": (penalty_from(per_example, reduce=tf.reduce_sum), "sums over the batch"),
    "per_example_penalties": (penalty_from(per_example, reduce=lambda x: x), "one number"),
    "no_tape_watch": (no_watch, "tape.watch"),
    "forgot_return": (lambda critic, real, fake: None, "returned None"),
}


def reshaped_norm_penalty(critic, real, fake):
    batch = tf.shape(real)[0]
    eps = tf.reshape(tf.random.uniform([batch]), tf.concat([[batch], tf.ones([tf.rank(real) - 1], tf.int32)], 0))
    x_hat = fake + eps * (real - fake)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x_hat)
        scores = critic(x_hat)
    grads = tf.reshape(tape.gradient(scores, [x_hat])[0], [batch, -1])
    return keras.ops.mean(keras.ops.square(keras.ops.norm(grads, axis=1) - 1.0))


def keras_random_penalty(critic, real, fake):
    eps = keras.random.uniform((real.shape[0],) + (1,) * (len(real.shape) - 1))
    x_hat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic(x_hat, training=True)
    grads = tape.gradient(scores, x_hat)
    norms = tf.norm(tf.reshape(grads, (grads.shape[0], -1)), axis=-1)
    return tf.reduce_mean(tf.square(norms - 1))


test_gradient_penalty_mistake_is_rejected, test_gradient_penalty_written_differently_is_accepted = check_tests(
    checks.check_gradient_penalty, GRADIENT_PENALTY_MISTAKES, [reshaped_norm_penalty, keras_random_penalty])
