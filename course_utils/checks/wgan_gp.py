"""Checks for chapter 08: GAN failure modes and WGAN-GP.

Each check runs the learner's function on small made-up inputs whose right answer is known,
and names the mistake when the answer matches a typical wrong one.
"""

import numpy as np
import tensorflow as tf

from course_utils import toy2d
from course_utils.checks._learner import call_watched, run_compiled_twice
from course_utils.checks._numeric import bce_of_probabilities
from course_utils.checks._verdict import (CheckFailed, call_learner, match_named_mistake, passed, require,
                                          scalar_result, unfinished_exercise)


# --- mode statistics on the ring ----------------------------------------------------------------


def _ring_test_samples():
    """1,000 points around an 8-mode ring (std 0.05), placed so that each typical mistake gives its own
    answer: 766 high quality (within 3 std), 2 modes covered (at least 12.5 good samples each)."""
    centres = toy2d.mode_centres(8, 2.0)
    rng = np.random.default_rng(0)

    def around(mode, n, distance=0.0):  # n points at a given distance from a mode (plus a tiny jitter if 0)
        angles = rng.uniform(0, 2 * np.pi, n)
        ring = distance * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return centres[mode] + ring + (0.01 * rng.standard_normal((n, 2)) if distance == 0 else 0)

    groups = [around(0, 600), around(1, 50, 0.075), around(1, 100, 0.14), around(1, 50, 0.17),  # 1.5, 2.8, 3.4 std
              around(2, 11), around(5, 5)]  # good, but too few for coverage
    groups += [1.175 * around(mode, n) for mode, n in ((3, 61), (4, 61), (6, 62))]  # 0.35 off the ring
    return np.concatenate(groups).astype(np.float32), centres


def _reference_stats(samples, centres, std):
    """The right answer, and ``((covered, share), message)`` for each typical mistake."""
    distances = np.linalg.norm(samples[:, None, :] - centres[None], axis=-1)
    nearest, closest = distances.argmin(axis=1), distances.min(axis=1)
    fair_share = toy2d.COVERAGE_SHARE / len(centres)

    def stats(good, counted=None, at_least=fair_share * len(samples)):
        counts = np.bincount(nearest[good if counted is None else counted], minlength=len(centres))
        return int(np.sum(counts >= at_least)), float(good.mean())

    good = closest <= 3 * std
    radius_message = ("a sample is high quality when its distance to the nearest centre is at most 3 * std; "
                      "you used {} instead.")
    mistakes = [
        (stats(good, counted=np.ones_like(good)), "samples far from every mode (off the ring) must not count "
                                                  "toward coverage: count only the high-quality samples per mode."),
        (stats(good, at_least=fair_share * good.sum()),
         "a mode's samples are compared with a share of ALL samples (COVERAGE_SHARE / n_modes * len(samples)), "
         "not of the high-quality ones."),
        (stats(good, at_least=1), f"a mode with 5 or 11 good samples out of {len(samples)} is not covered: it needs at "
                                  f"least COVERAGE_SHARE / n_modes of all samples (here 0.1 / {len(centres)} of "
                                  f"{len(samples)}, {fair_share * len(samples):g} samples)."),
        (stats(closest <= 2 * std), radius_message.format("2 * std")),
        (stats(closest <= std), radius_message.format("std")),
        (stats(closest <= std ** 2), radius_message.format("std ** 2")),
        (stats(closest <= 4 * std), radius_message.format("4 * std")),
        (stats(closest ** 2 <= 3 * std), "you compared the SQUARED distance with 3 * std: take the square root "
                                         "(np.linalg.norm) before comparing."),
    ]
    return stats(good), mistakes


def _mode_stats_result(result, what):
    """The learner's ``(modes_covered, high_quality_share)`` as two floats, or a CheckFailed naming what came."""
    require(result is not None, f"{what} returned None: did you forget `return`?")
    require(isinstance(result, (tuple, list)) and len(result) == 2,
            f"{what} should return two numbers, (modes_covered, high_quality_share); it returned "
            f"{type(result).__name__} {str(result)[:80]!r}.")
    return scalar_result(result[0], "modes_covered", hint=""), scalar_result(result[1], "high_quality_share", hint="")


def check_mode_stats(mode_stats):
    """``mode_stats(samples, centres, std) -> (modes_covered, high_quality_share)``."""
    samples, centres = _ring_test_samples()
    covered, share = _mode_stats_result(call_learner("mode_stats raised", mode_stats, samples, centres, 0.05),
                                        "mode_stats")
    (right_covered, right_share), mistakes = _reference_stats(samples, centres, 0.05)
    n = len(samples)
    require(not np.isclose(share, right_share * n), f"high_quality_share should be a fraction of all samples "
                                                    f"({right_share * n:.0f} of {n} is {right_share:g}), not a count: "
                                                    "divide by the number of samples.")
    require(not np.isclose(share, right_share * 100),
            "high_quality_share should be a fraction between 0 and 1, not a percentage.")
    if covered != right_covered or not np.isclose(share, right_share, atol=1e-6):
        for (wrong_covered, wrong_share), message in mistakes:
            require(not (covered == wrong_covered and np.isclose(share, wrong_share, atol=1e-6)), message)
    require(np.isclose(share, right_share, atol=1e-6),
            f"expected a high-quality share of {right_share:g} ({right_share * n:.0f} of {n} samples within 3 std "
            f"of a mode), got {share:.4g}.")
    require(covered == right_covered,
            f"expected {right_covered} covered modes (mode 0 with 600 and mode 1 with 150 good samples; modes 2 and 5 "
            f"have too few), got {covered:g}.")
    real = toy2d.sample_ring(4000, seed=1)
    covered_real, share_real = _mode_stats_result(
        call_learner("mode_stats raised on real ring data", mode_stats, real, toy2d.mode_centres(), toy2d.STD),
        "mode_stats on real ring data")
    require(covered_real == 8 and share_real > 0.98,
            f"on real ring data expected all 8 modes and about 99% high quality, got {covered_real:g} modes and "
            f"{share_real:.3f}.")
    passed("mode counting and the high-quality share are right")


# --- saturating and non-saturating generator losses ----------------------------------------------


def _loss_on(loss_fn, logits, what):
    """The learner's loss of ``logits`` (shape (N, 1)) as a float, and its gradient w.r.t. the logits."""
    logits = tf.constant(np.asarray(logits, dtype=np.float32).reshape(-1, 1))
    result, gradient = call_watched(f"{what} raised", loss_fn, logits)
    value = scalar_result(result, what)
    grad = gradient(logits)
    require(grad is not None,
            f"{what} gives no gradient w.r.t. the logits: compute it with TensorFlow ops (tf.math.softplus, "
            "tf.reduce_mean), not NumPy, so the generator can learn from it.")
    return value, grad.numpy()[:, 0]


def check_generator_losses(saturating_loss, non_saturating_loss):
    """``saturating_loss(fake_logits)`` = mean log(1 - D); ``non_saturating_loss`` = mean -log D."""
    logits = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    softplus = np.log1p(np.exp(logits))  # softplus(l) = -log(1 - sigmoid(l))
    softplus_neg = np.log1p(np.exp(-logits))  # softplus(-l) = -log(sigmoid(l))
    sigmoid = 1 / (1 + np.exp(-logits))

    sat, sat_grad = _loss_on(saturating_loss, logits, "saturating_loss")
    match_named_mistake(sat, -softplus.mean(), [
        (softplus.mean(), "saturating_loss has the wrong sign: the generator MINIMISES E[log(1 - D(G(z)))], which "
                          "is negative; you return its negative."),
        (softplus_neg.mean(), "saturating_loss returns the non-saturating loss -log D(G(z)); it should be "
                              "log(1 - D(G(z))) = -softplus(logit)."),
        (-softplus.sum(), "saturating_loss sums over the batch: average it (tf.reduce_mean)."),
        (-bce_of_probabilities(logits, 0), "saturating_loss treats the logits as probabilities: apply the sigmoid "
                                           "first, or use BinaryCrossentropy(from_logits=True) / softplus(logits)."),
        (-np.mean(np.log1p(np.exp(sigmoid))), "saturating_loss applies a sigmoid to the logits and then a loss that "
                                              "applies its own (from_logits=True, or softplus): pass the logits "
                                              "unchanged."),
    ], "saturating_loss, mean of log(1 - sigmoid(logits))")
    require(np.allclose(sat_grad, -(1 / (1 + np.exp(-logits))) / len(logits), atol=1e-5),
            "saturating_loss has the right value but the wrong gradient w.r.t. the logits.")

    ns, _ = _loss_on(non_saturating_loss, logits, "non_saturating_loss")
    match_named_mistake(ns, softplus_neg.mean(), [
        (-softplus_neg.mean(), "non_saturating_loss has the wrong sign: the generator minimises -log D(G(z)) "
                               "(a positive number), i.e. it maximises log D(G(z))."),
        (-softplus.mean(), "non_saturating_loss returns the saturating loss log(1 - D(G(z))); it should be "
                           "-log D(G(z)) = softplus(-logit)."),
        (bce_of_probabilities(logits, 1), "non_saturating_loss treats the logits as probabilities: apply the "
                                          "sigmoid first, or use BinaryCrossentropy(from_logits=True) / "
                                          "softplus(-logits)."),
        (np.mean(np.log1p(np.exp(-sigmoid))), "non_saturating_loss applies a sigmoid to the logits and then a loss "
                                              "that applies its own (from_logits=True, or softplus): pass the "
                                              "logits unchanged."),
        (softplus_neg.sum(), "non_saturating_loss sums over the batch: average it (tf.reduce_mean)."),
    ], "non_saturating_loss, mean of -log(sigmoid(logits))")

    confident = [-100.0, 100.0]
    for name, loss_fn in (("saturating_loss", saturating_loss), ("non_saturating_loss", non_saturating_loss)):
        value, grad = _loss_on(loss_fn, confident, name)
        require(np.isfinite(value) and np.all(np.isfinite(grad)),
                f"{name} gives inf or NaN for a very confident discriminator (logits -100 and 100): sigmoid "
                "rounds to exactly 0 or 1 and the log blows up. Write it with softplus: "
                "log(1 - sigmoid(l)) = -softplus(l) and -log(sigmoid(l)) = softplus(-l).")
    passed("both generator losses have the right value, sign and gradient, even for a confident discriminator")


# --- Wasserstein losses --------------------------------------------------------------------------


def _scores_loss(loss_fn, scores, what):
    """The learner's loss of critic ``scores`` as a float; it must pass a gradient back to every score."""
    result, gradient = call_watched(f"{what} raised", loss_fn, *scores)
    value = scalar_result(result, what)
    require(all(gradient(s) is not None for s in scores),
            f"{what} has no gradient w.r.t. the critic's scores: compute it with TensorFlow ops (tf.reduce_mean), "
            "not NumPy or .numpy(), so the networks can learn from it.")
    return value


def check_wasserstein_losses(critic_loss, generator_loss):
    """``critic_loss(real_scores, fake_scores)`` = E[f(fake)] - E[f(real)]; ``generator_loss`` = -E[f(fake)]."""
    real = tf.constant([[3.0], [1.0], [120.0], [-2.0]])
    fake = tf.constant([[-1.0], [0.5], [-80.0], [2.5]])
    mean_real, mean_fake = float(tf.reduce_mean(real)), float(tf.reduce_mean(fake))
    bce_like = float(tf.reduce_mean(tf.math.softplus(-real)) + tf.reduce_mean(tf.math.softplus(fake)))
    sigmoid_real, sigmoid_fake = float(tf.reduce_mean(tf.sigmoid(real))), float(tf.reduce_mean(tf.sigmoid(fake)))
    no_sigmoid = ("a Wasserstein critic's scores are unbounded real numbers: apply no sigmoid (and no log), the "
                  "loss is linear in the scores.")

    value = _scores_loss(critic_loss, (real, fake), "critic_loss")
    swapped = _scores_loss(critic_loss, (fake, real), "critic_loss")
    require(not np.isclose([value, swapped], abs(mean_fake - mean_real)).all(),
            "critic_loss takes an absolute value (it is positive whichever batch scores higher): the critic "
            "minimises the signed difference mean(fake) - mean(real), which goes below zero as it learns.")
    match_named_mistake(value, mean_fake - mean_real, [
        (mean_real - mean_fake, "critic_loss has the wrong sign: the critic should score real samples HIGHER, so "
                                "it minimises E[f(fake)] - E[f(real)]."),
        (bce_like, "critic_loss uses the GAN's binary cross-entropy; a Wasserstein critic has no sigmoid and no "
                   "log: its loss is linear in the scores, mean(fake) - mean(real)."),
        (float(tf.reduce_sum(fake) - tf.reduce_sum(real)), "critic_loss sums over the batch: use means."),
        (sigmoid_fake - sigmoid_real, f"critic_loss squashes the scores with a sigmoid: {no_sigmoid}"),
    ], "critic_loss, mean(fake_scores) - mean(real_scores)")

    value = _scores_loss(generator_loss, (fake,), "generator_loss")
    match_named_mistake(value, -mean_fake, [
        (mean_fake, "generator_loss has the wrong sign: the generator wants the critic to score its samples "
                    "high, so it minimises -E[f(G(z))]."),
        (float(tf.reduce_mean(tf.math.softplus(-fake))), "generator_loss uses the GAN's cross-entropy; the "
                                                          "Wasserstein generator loss is -mean(fake_scores)."),
        (-float(tf.reduce_sum(fake)), "generator_loss sums over the batch: use the mean."),
        (-sigmoid_fake, f"generator_loss squashes the scores with a sigmoid: {no_sigmoid}"),
    ], "generator_loss, -mean(fake_scores)")
    passed("critic and generator losses have the right signs and no sigmoid")


# --- the gradient penalty ------------------------------------------------------------------------


class _RecordingCritic:
    """f(x) = 0.5 * ||x||^2 per example, so grad f(x) = x; remembers what it was called on."""

    def __init__(self):
        self.inputs = []

    def __call__(self, x, training=None):
        x = tf.convert_to_tensor(x)
        self.inputs.append(x)
        axes = list(range(1, len(x.shape)))
        return 0.5 * tf.reduce_sum(tf.square(x), axis=axes)[:, None]


def _penalty_candidates(x_hat, per_example):
    """The right penalty for the recording critic at x_hat, and typical wrong variants (value, message)."""
    norms = np.sqrt(np.sum(x_hat.reshape(len(x_hat), -1) ** 2, axis=1))
    right = np.mean((norms - 1) ** 2)
    batch_norm = np.sqrt(np.sum(x_hat ** 2))
    wrong = [
        ((batch_norm - 1) ** 2, "you took one norm over the whole batch: take the gradient's norm PER EXAMPLE "
                                "(over all axes except the batch axis), then average (||g_i|| - 1)^2 over the batch."),
        (np.mean(norms - 1), "the penalty is missing its square: average (||g|| - 1)**2, not ||g|| - 1."),
        (np.mean(np.abs(norms - 1)), "the penalty uses |  ||g|| - 1 |; the paper squares it: (||g|| - 1)**2."),
        (np.mean((norms ** 2 - 1) ** 2), "you used the squared norm ||g||^2 where the norm ||g|| belongs: "
                                         "(sqrt(sum(g**2)) - 1)**2."),
        (np.mean(norms ** 2), "the penalty should pull the norm towards 1: (||g|| - 1)**2, not ||g||^2."),
        (len(norms) * right, "the penalty sums over the batch: average it (tf.reduce_mean)."),
        (10 * right, "return the penalty without the factor lambda = 10; the critic's loss multiplies by lambda."),
    ]
    if per_example:  # image-shaped inputs: norms over some axes only
        for axes in ((1,), (1, 2), (-1,)):
            partial = np.sqrt(np.sum(x_hat ** 2, axis=axes))
            wrong.append((np.mean((partial - 1) ** 2),
                          f"the norm is taken over axes {axes} only: for images it must run over ALL axes except "
                          "the batch axis, e.g. tf.sqrt(tf.reduce_sum(g**2, axis=[1, 2, 3]))."))
    return right, wrong


def _run_penalty(gradient_penalty, real, fake):
    critic = _RecordingCritic()
    try:
        value = gradient_penalty(critic, tf.constant(real), tf.constant(fake))
    except CheckFailed:
        raise
    except Exception as error:  # name the usual causes, keep the original message
        if unfinished_exercise(error):
            raise  # the exercise is not done yet: its own message says so
        hint = ""
        if "None" in str(error):
            hint = (" A gradient came back as None: inside the GradientTape call tape.watch(x_hat) before "
                    "critic(x_hat), and take tape.gradient(scores, x_hat).")
        elif "shape" in str(error).lower() or "broadcast" in str(error).lower():
            hint = (" Draw eps with shape (batch, 1) for points and (batch, 1, 1, 1) for images, so one eps per "
                    "example broadcasts over its coordinates or pixels.")
        raise CheckFailed(f"gradient_penalty raised {type(error).__name__}: {error}.{hint}") from error
    return scalar_result(value, "gradient_penalty"), critic.inputs


def _interpolation_weights(x_hat, real, fake, what):
    """Solve x_hat_i = fake_i + eps_i (real_i - fake_i) for eps_i; fail if x_hat is not on those segments."""
    n = len(real)
    d = (real - fake).reshape(n, -1)
    offset = (x_hat - fake).reshape(n, -1)
    eps = np.sum(offset * d, axis=1) / np.sum(d * d, axis=1)
    residual = np.abs(offset - eps[:, None] * d).max()
    require(residual < 1e-4,
            f"the critic was evaluated at points that are not on the segments between each real example and its "
            f"fake partner ({what}). Use ONE eps per example, not one per coordinate or pixel: "
            "x_hat = eps * real + (1 - eps) * fake with eps of shape (batch, 1) / (batch, 1, 1, 1).")
    return eps


def check_gradient_penalty(gradient_penalty):
    """``gradient_penalty(critic, real, fake)`` = mean over the batch of (||grad critic(x_hat)|| - 1)^2."""
    rng = np.random.default_rng(0)
    for shape, what in (((512, 2), "2-D points"), ((48, 5, 5, 2), "image-shaped batch")):
        real = rng.standard_normal(shape).astype(np.float32) * 0.6
        fake = rng.standard_normal(shape).astype(np.float32) * 0.6 + 0.8
        value, inputs = _run_penalty(gradient_penalty, real, fake)
        require(inputs, "gradient_penalty never called the critic: evaluate critic(x_hat) inside the tape.")
        x_hat = np.asarray(inputs[-1])
        require(x_hat.shape == real.shape,
                f"the critic was called on shape {x_hat.shape}, but the batch has shape {real.shape}.")
        require(not np.allclose(x_hat, real),
                "the penalty is computed at the REAL samples; it belongs at random interpolates "
                "x_hat = eps * real + (1 - eps) * fake.")
        require(not np.allclose(x_hat, fake),
                "the penalty is computed at the FAKE samples; it belongs at random interpolates "
                "x_hat = eps * real + (1 - eps) * fake.")
        eps = _interpolation_weights(x_hat, real, fake, what)
        require(np.ptp(eps) > 1e-3,
                f"every example got the same eps ({eps[0]:.3f}): draw one eps PER EXAMPLE, "
                "tf.random.uniform([batch, 1]) (or [batch, 1, 1, 1] for images), not a single number.")
        require(eps.min() > -1e-4 and eps.max() < 1 + 1e-4,
                f"eps ranges over [{eps.min():.2f}, {eps.max():.2f}]: draw it uniformly from [0, 1].")
        if len(eps) >= 500:
            require(0.4 < eps.mean() < 0.6 and eps.std() > 0.2,
                    f"eps has mean {eps.mean():.2f} and spread {eps.std():.2f}; eps ~ U[0, 1] has mean 0.5 and "
                    "spread 0.29: use tf.random.uniform.")
        right, wrong = _penalty_candidates(x_hat, per_example=len(shape) > 2)
        match_named_mistake(value, right, wrong, f"gradient_penalty on a {what}")
    _check_penalty_trains_the_critic(gradient_penalty)
    _check_penalty_compiled(gradient_penalty)
    passed("the penalty uses per-example interpolates, per-example gradient norms and (||g|| - 1)^2")


def _check_penalty_trains_the_critic(gradient_penalty):
    """The penalty must be differentiable w.r.t. the critic's weights (a gradient of a gradient)."""
    import keras

    critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    rng = np.random.default_rng(1)
    real = tf.constant(rng.standard_normal((16, 2)), dtype=tf.float32)
    fake = tf.constant(rng.standard_normal((16, 2)), dtype=tf.float32)
    with tf.GradientTape() as tape:
        penalty = call_learner("gradient_penalty raised with a Keras critic", gradient_penalty, critic, real, fake)
    grads = tape.gradient(penalty, critic.trainable_variables) if tf.is_tensor(penalty) else []
    # The output layer's bias never matters for a gradient norm; every other weight should.
    require(any(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads),
            "the penalty gives the critic's weights no gradient: keep it a TensorFlow computation (no .numpy(), "
            "no tape.stop_recording) so the critic's optimizer can minimise it.")


def _check_penalty_compiled(gradient_penalty):
    """In training the penalty runs inside a tf.function: its eps must be drawn afresh at every step."""
    critic = _RecordingCritic()
    rng = np.random.default_rng(2)
    real, fake = (tf.constant(rng.standard_normal((16, 2)), dtype=tf.float32) for _ in range(2))

    def step():
        gradient_penalty(critic, real, fake)
        return critic.inputs[-1]

    first, second = run_compiled_twice(
        "gradient_penalty fails inside the compiled training step (a tf.function); draw eps with "
        "tf.random.uniform, not NumPy or Python's random", step)
    require(not np.array_equal(first, second),
            "inside the compiled training step (a tf.function) your penalty uses the same interpolates at every "
            "step: NumPy's and Python's random numbers are drawn once, when the function is traced, and then "
            "frozen. Draw eps with tf.random.uniform.")
