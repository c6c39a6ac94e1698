"""Checks for chapter 06: the semi-supervised GAN (Salimans et al. 2016)."""

import numpy as np
import tensorflow as tf

from course_utils.checks._learner import call_watched
from course_utils.checks._numeric import logsumexp, softmax
from course_utils.checks._verdict import (call_learner, learner_array, match_named_mistake, passed, require,
                                          scalar_result)

NUM_CLASSES = 10


def _softplus(x):
    return np.logaddexp(0.0, x)


def _reference_unsupervised(real, fake):
    return float(np.mean(_softplus(-logsumexp(real))) + np.mean(_softplus(logsumexp(fake))))


def check_unsupervised_loss(unsupervised_discriminator_loss):
    """``unsupervised_discriminator_loss(real_logits, fake_logits)`` -> a scalar:
    ``-mean log D(x_real) - mean log(1 - D(x_fake))`` with ``D = Z / (Z + 1)``, ``Z = sum_k exp(l_k)``."""
    rng = np.random.default_rng(0)
    real = rng.normal(1.0, 2.0, size=(16, NUM_CLASSES)).astype(np.float32)
    fake = rng.normal(-1.0, 2.0, size=(12, NUM_CLASSES)).astype(np.float32)
    what = "unsupervised_discriminator_loss"
    value = scalar_result(call_learner(f"{what}(real_logits, fake_logits) raised", unsupervised_discriminator_loss,
                                     tf.constant(real), tf.constant(fake)), what)
    want = _reference_unsupervised(real, fake)
    lse_r, lse_f = logsumexp(real), logsumexp(fake)
    match_named_mistake(value, want, [
        (np.mean(_softplus(lse_r)) + np.mean(_softplus(-lse_f)),
         "real and fake are swapped: real images should get a high D(x), i.e. the loss "
         "softplus(-LSE(real logits)), and fakes softplus(+LSE(fake logits))."),
        (np.mean(_softplus(lse_r)) + np.mean(_softplus(lse_f)),
         "the sign inside the real term is wrong: -log D(x) = softplus(-LSE(l(x))) "
         "(note the minus), since D(x) = Z/(Z+1) = sigmoid(LSE)."),
        (np.mean(_softplus(-lse_r)) + np.mean(_softplus(-lse_f)),
         "the sign inside the fake term is wrong: -log(1 - D(G(z))) = softplus(+LSE(l(G(z)))), "
         "because 1 - D = 1/(Z+1) = sigmoid(-LSE)."),
        (np.mean(_softplus(-logsumexp(softmax(real)))) + np.mean(_softplus(logsumexp(softmax(fake)))),
         "you used softmax probabilities where the logits belong: softmax removes the "
         "overall scale of the logits, which is exactly what says real vs fake. Apply "
         "logsumexp to the raw logits."),
        (np.sum(_softplus(-lse_r)) + np.sum(_softplus(lse_f)),
         "you summed over the batch; take the mean (tf.reduce_mean) so the loss does not "
         "grow with the batch size."),
        (np.mean(_softplus(-real.max(axis=1))) + np.mean(_softplus(fake.max(axis=1))),
         "use the log-sum-exp of the logits (tf.reduce_logsumexp), not their maximum."),
        (float(_softplus(-logsumexp(real.reshape(-1))) + _softplus(logsumexp(fake.reshape(-1)))),
         "your log-sum-exp runs over the whole batch, giving one number for all images: take it per image, "
         "over the classes, with tf.reduce_logsumexp(logits, axis=1)."),
        (np.mean(_softplus(-real.mean(axis=1))) + np.mean(_softplus(fake.mean(axis=1))),
         "you averaged the logits over the classes; D(x) = Z/(Z+1) needs their log-sum-exp, "
         "tf.reduce_logsumexp(logits, axis=1)."),
    ], "the loss is mean(softplus(-LSE(real logits))) + mean(softplus(LSE(fake logits))); for our test logits")
    big = np.full((2, NUM_CLASSES), 200.0, np.float32)
    extreme = scalar_result(call_learner(f"{what} raised on logits of 200", unsupervised_discriminator_loss,
                                       tf.constant(big), tf.constant(-big)), what)
    require(np.isfinite(extreme),
            "the loss is inf or NaN for large logits (200): compute it with tf.reduce_logsumexp "
            "and tf.nn.softplus instead of exp, division and log.")
    passed("unsupervised loss = mean softplus(-LSE(real)) + mean softplus(LSE(fake)), stable for large logits")


def check_feature_matching_loss(feature_matching_loss):
    """``feature_matching_loss(real_features, fake_features)``: squared distance between the batch
    means of the features, with no gradient into the real features (they are the target)."""
    rng = np.random.default_rng(1)
    real = rng.normal(size=(8, 5)).astype(np.float32)
    fake = rng.normal(0.5, 1.0, size=(8, 5)).astype(np.float32)
    real_tensor, fake_tensor = tf.constant(real), tf.constant(fake)
    what = "feature_matching_loss"
    loss, gradient = call_watched(f"{what}(real_features, fake_features) raised", feature_matching_loss,
                                  real_tensor, fake_tensor)
    value = scalar_result(loss, what)
    gap = real.mean(axis=0) - fake.mean(axis=0)
    per_sample = np.mean((real - fake) ** 2)
    require(not (np.isclose(value, per_sample, rtol=1e-4) or np.isclose(value, per_sample * 5, rtol=1e-4)),
            "you matched each fake to one real image (per-sample differences). Feature matching "
            "compares the batch *means*: mean over the batch first, then the squared difference.")
    # The paper's squared norm, averaged or summed over features; the authors' code uses the mean
    # absolute difference, which works as well.
    accepted = (np.mean(gap**2), np.sum(gap**2), np.mean(np.abs(gap)))
    if not any(np.isclose(value, a, rtol=1e-4) for a in accepted):
        feature_gap = real.mean(axis=1) - fake.mean(axis=1)
        mistakes = {
            "you averaged over the features (axis=1), one number per image; average over the batch "
            "(tf.reduce_mean(features, axis=0)), one mean per feature.":
                (np.mean(feature_gap**2), np.sum(feature_gap**2)),
            "the differences are not squared: positive and negative gaps cancel out. Take "
            "tf.square of the difference of the means.": (np.mean(gap), np.sum(gap), -np.mean(gap), -np.sum(gap)),
            "this is the norm ||mean(real) - mean(fake)||, its square root: feature matching uses the "
            "squared distance.": (np.sqrt(np.sum(gap**2)), np.sqrt(np.mean(gap**2))),
        }
        for message, candidates in mistakes.items():
            require(not any(np.isclose(value, c, rtol=1e-4) for c in candidates), message)
        require(False, f"expected ||mean(real) - mean(fake)||^2 = {np.sum(gap**2):.4f} (sum over features) "
                f"or {np.mean(gap**2):.4f} (mean over features); got {value:.4f}.")
    real_grad, fake_grad = gradient(real_tensor), gradient(fake_tensor)
    real_flows = real_grad is not None and np.abs(np.asarray(real_grad)).sum() > 0
    fake_flows = fake_grad is not None and np.abs(np.asarray(fake_grad)).sum() > 0
    require(fake_flows or not real_flows,
            "the gradient reaches the real features but not the fake ones: tf.stop_gradient belongs on the "
            "real features' mean (the target), not on the fake ones, through which the generator learns.")
    require(fake_flows,
            "no gradient reaches the fake features: compute the loss with TensorFlow ops on the "
            "tensors you get (no .numpy()), so the generator can learn from it.")
    require(not real_flows,
            "gradients flow into the real features. They are the target the generator aims at: "
            "wrap their mean in tf.stop_gradient, so that this loss can never change the "
            "discriminator to make the target easier to hit.")
    passed("feature matching: squared distance between batch means, real features held fixed")


def _indices(labelled_subset, y, seed, exclude):
    """The learner's ``labelled_subset(y, 5, seed, exclude)``, required to be a 1-D array of indices into y."""
    chosen = call_learner(f"labelled_subset(y, 5, {seed}, exclude) raised", labelled_subset, y, 5, seed, exclude)
    chosen = learner_array(chosen, "labelled_subset", dtype=None)
    require(chosen.ndim == 1 and np.issubdtype(chosen.dtype, np.integer),
            f"return a 1-D array of integer indices into y; got {chosen.dtype} of shape {chosen.shape}"
            + (": concatenate the per-class arrays into one." if chosen.ndim == 2 else "."))
    require(chosen.size == 0 or (chosen.min() >= 0 and chosen.max() < len(y)),
            f"some indices lie outside y (0 to {len(y) - 1}): return indices into y.")
    return chosen


def check_labelled_subset(labelled_subset):
    """``labelled_subset(y, per_class, seed, exclude)`` -> indices of ``per_class`` images of each
    class, drawn at random with ``seed`` from the indices not in ``exclude`` (the validation set)."""
    rng = np.random.default_rng(2)
    y = rng.permutation(np.repeat(np.arange(NUM_CLASSES), 60))  # 600 labels, 60 of each class
    y = y[(y != 3) | (rng.random(len(y)) < 0.5)]  # class 3 is rarer, as some digits are in SVHN
    exclude = rng.choice(len(y), size=100, replace=False)
    allowed = np.setdiff1d(np.arange(len(y)), exclude)
    chosen = _indices(labelled_subset, y, 0, exclude)
    require(len(np.unique(chosen)) == len(chosen), "some indices appear twice: draw without replacement.")
    counts = np.bincount(y[chosen], minlength=NUM_CLASSES)
    require(not (len(chosen) < 5 * NUM_CLASSES and counts.max() <= 5 and not np.isin(chosen, exclude).any()),
            f"some classes got fewer than 5 images (per class: {counts.tolist()}): the excluded indices were "
            "removed after drawing. Remove them before drawing, then draw per_class from what is left.")
    require(len(chosen) == 5 * NUM_CLASSES,
            f"asked for 5 per class, expected {5 * NUM_CLASSES} indices; got {len(chosen)}.")
    positions = chosen.max() < len(allowed) and np.all(np.bincount(y[allowed[chosen]], minlength=NUM_CLASSES) == 5)
    require(not (positions and not np.all(counts == 5)),
            "these look like positions in the array of allowed images, not indices into y: map them back "
            "with allowed[positions] (the indices must point into y).")
    require(np.all(counts == 5),
            f"the subset is not class-balanced: images per class {counts.tolist()}. Draw per_class "
            "images from *each* class separately (a random draw from all images is not balanced).")
    overlap = np.intersect1d(chosen, exclude)
    require(len(overlap) == 0,
            f"{len(overlap)} labelled images are also in the excluded (validation) set: a validation "
            "image that was trained on makes the validation accuracy too optimistic. Draw only from "
            "indices not in exclude.")
    first = np.concatenate([np.setdiff1d(np.flatnonzero(y == k), exclude)[:5] for k in range(NUM_CLASSES)])
    require(not np.array_equal(np.sort(chosen), np.sort(first)),
            "you took the first images of each class; draw them at random (with the seed).")
    again = _indices(labelled_subset, y, 0, exclude)
    require(np.array_equal(np.sort(again), np.sort(chosen)),
            "the same seed gave a different subset: draw with np.random.default_rng(seed).")
    other = _indices(labelled_subset, y, 1, exclude)
    require(not np.array_equal(np.sort(other), np.sort(chosen)),
            "seeds 0 and 1 gave the same subset: use the seed, so that repeated runs average over "
            "different labelled sets.")
    passed("labelled subset: class-balanced, reproducible per seed, disjoint from validation")
