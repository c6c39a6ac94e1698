"""Chapter 06's checks against answers a learner might write: each wrong one rejected with a message
naming its mistake, each correct one (written differently from the solution) accepted."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import ssgan as checks
from tests.mutations.harness import check_tests


# --- exercise 1: labelled_subset(y, per_class, seed, exclude) ------------------------------------------

def allowed_indices(y, exclude):
    return np.setdiff1d(np.arange(len(y)), exclude)


def random_from_all_classes(y, per_class, seed, exclude=()):
    return np.random.default_rng(seed).choice(allowed_indices(y, exclude), 10 * per_class, replace=False)


def exclude_ignored(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in range(10)])


def first_of_each_class(y, per_class, seed, exclude=()):
    allowed = allowed_indices(y, exclude)
    return np.concatenate([allowed[y[allowed] == k][:per_class] for k in range(10)])


def seed_ignored(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(0)
    allowed = allowed_indices(y, exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], per_class, replace=False) for k in range(10)])


def unseeded_generator(y, per_class, seed, exclude=()):
    rng = np.random.default_rng()
    allowed = allowed_indices(y, exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], per_class, replace=False) for k in range(10)])


def with_replacement(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    allowed = allowed_indices(y, exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], per_class) for k in range(10)])


def positions_in_the_filtered_array(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    kept = y[allowed_indices(y, exclude)]
    return np.concatenate([rng.choice(np.flatnonzero(kept == k), per_class, replace=False) for k in range(10)])


def excluded_after_drawing(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in range(10)])
    return np.setdiff1d(chosen, exclude)


def per_class_hard_coded(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    allowed = allowed_indices(y, exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], 10, replace=False) for k in range(10)])


def one_array_per_class(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    allowed = allowed_indices(y, exclude)
    return np.stack([rng.choice(allowed[y[allowed] == k], per_class, replace=False) for k in range(10)])


def boolean_mask(y, per_class, seed, exclude=()):
    mask = np.zeros(len(y), dtype=bool)
    mask[np.sort(np.concatenate([np.flatnonzero(y == k)[:per_class] for k in range(10)]))] = True
    return mask


def forgot_return(y, per_class, seed, exclude=()):
    np.random.default_rng(seed).permutation(len(y))


def classes_by_name(y, per_class, seed, exclude=()):
    return np.concatenate([np.random.default_rng(seed).choice(y[y == k], per_class) for k in "0123456789"])


SUBSET_MISTAKES = {
    "random-over-all-classes": (random_from_all_classes, "not class-balanced"),
    "exclude-ignored": (exclude_ignored, "validation"),
    "first-of-each-class": (first_of_each_class, "first images of each class"),
    "seed-ignored": (seed_ignored, "seeds 0 and 1"),
    "unseeded-generator": (unseeded_generator, "same seed gave a different subset"),
    "with-replacement": (with_replacement, "twice"),
    "positions-in-the-filtered-array": (positions_in_the_filtered_array, "positions"),
    "excluded-after-drawing": (excluded_after_drawing, "before drawing"),
    "per-class-hard-coded": (per_class_hard_coded, r"5 per class.*got 100"),
    "one-array-per-class": (one_array_per_class, "1-D array"),
    "boolean-mask": (boolean_mask, "integer indices"),
    "forgot-return": (forgot_return, "returned None"),
    "raises": (classes_by_name, r"labelled_subset.*raised"),
}


def shuffled_then_first(y, per_class, seed, exclude=()):
    """One permutation of the allowed indices, then the first per_class of each class in that order."""
    order = np.random.default_rng(seed).permutation(np.delete(np.arange(len(y)), exclude))
    return np.concatenate([order[y[order] == k][:per_class] for k in range(10)])


def legacy_random_state(y, per_class, seed, exclude=()):
    rng = np.random.RandomState(seed)
    excluded = set(np.asarray(exclude).tolist())
    chosen = []
    for k in range(10):
        candidates = [i for i in np.flatnonzero(y == k) if i not in excluded]
        chosen.extend(rng.choice(candidates, size=per_class, replace=False))
    return np.array(chosen)


test_labelled_subset_rejects, test_labelled_subset_accepts = check_tests(
    checks.check_labelled_subset, SUBSET_MISTAKES, [shuffled_then_first, legacy_random_state])


# --- exercise 2: unsupervised_discriminator_loss(real_logits, fake_logits) ------------------------------

def lse(logits):
    return tf.reduce_logsumexp(logits, axis=1)


def softplus_mean(x):
    return tf.reduce_mean(tf.nn.softplus(x))


def through_probabilities(real, fake):
    """The right formula written with D = Z / (Z + 1): overflows for large logits."""
    z_real, z_fake = tf.reduce_sum(tf.exp(real), axis=1), tf.reduce_sum(tf.exp(fake), axis=1)
    return -tf.reduce_mean(tf.math.log(z_real / (z_real + 1))) - tf.reduce_mean(tf.math.log(1 / (z_fake + 1)))


UNSUPERVISED_MISTAKES = {
    "real-and-fake-swapped": (lambda r, f: softplus_mean(lse(r)) + softplus_mean(-lse(f)), "swapped"),
    "sign-in-the-real-term": (lambda r, f: softplus_mean(lse(r)) + softplus_mean(lse(f)), "sign inside the real term"),
    "sign-in-the-fake-term": (lambda r, f: softplus_mean(-lse(r)) + softplus_mean(-lse(f)), "sign inside the fake term"),
    "softmax-before-lse": (lambda r, f: softplus_mean(-lse(tf.nn.softmax(r))) + softplus_mean(lse(tf.nn.softmax(f))),
                           "softmax probabilities"),
    "summed-over-batch": (lambda r, f: tf.reduce_sum(tf.nn.softplus(-lse(r))) + tf.reduce_sum(tf.nn.softplus(lse(f))),
                          "mean"),
    "max-instead-of-lse": (lambda r, f: softplus_mean(-tf.reduce_max(r, 1)) + softplus_mean(tf.reduce_max(f, 1)),
                           "maximum"),
    "lse-over-the-whole-batch": (lambda r, f: softplus_mean(-tf.reduce_logsumexp(r)) + softplus_mean(tf.reduce_logsumexp(f)),
                                 "axis=1"),
    "mean-of-logits": (lambda r, f: softplus_mean(-tf.reduce_mean(r, 1)) + softplus_mean(tf.reduce_mean(f, 1)),
                       "log-sum-exp"),
    "overflowing-probabilities": (through_probabilities, "large logits"),
    "one-loss-per-image": (lambda r, f: tf.concat([tf.nn.softplus(-lse(r)), tf.nn.softplus(lse(f))], 0), "one number"),
    "forgot-return": (lambda r, f: None, "returned None"),
    "raises": (lambda r, f: softplus_mean(-tf.reduce_logsumexp(r, axis=2)), r"unsupervised_discriminator_loss.*raised"),
}


def as_binary_cross_entropy(real_logits, fake_logits):
    """D = sigmoid(LSE): the loss is BCE with LSE as the logit, real labelled 1 and fake 0."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    real, fake = lse(real_logits)[:, None], lse(fake_logits)[:, None]
    return bce(tf.ones_like(real), real) + bce(tf.zeros_like(fake), fake)


def with_log_sigmoid(real_logits, fake_logits):
    real, fake = keras.ops.logsumexp(real_logits, axis=-1), keras.ops.logsumexp(fake_logits, axis=-1)
    return -keras.ops.mean(keras.ops.log_sigmoid(real)) - keras.ops.mean(keras.ops.log_sigmoid(-fake))


test_unsupervised_loss_rejects, test_unsupervised_loss_accepts = check_tests(
    checks.check_unsupervised_loss, UNSUPERVISED_MISTAKES, [as_binary_cross_entropy, with_log_sigmoid])


# --- exercise 3: feature_matching_loss(real_features, fake_features) -------------------------------------

def batch_mean(x):
    return tf.reduce_mean(x, axis=0)


FEATURE_MATCHING_MISTAKES = {
    "per-sample-differences": (lambda r, f: tf.reduce_mean(tf.square(tf.stop_gradient(r) - f)), "per-sample"),
    "no-stop-gradient": (lambda r, f: tf.reduce_mean(tf.square(batch_mean(r) - batch_mean(f))), "stop_gradient"),
    "stop-gradient-on-the-fakes": (
        lambda r, f: tf.reduce_mean(tf.square(batch_mean(r) - tf.stop_gradient(batch_mean(f)))), "on the fake"),
    "no-square": (lambda r, f: tf.reduce_mean(tf.stop_gradient(batch_mean(r)) - batch_mean(f)), "square"),
    "norm-not-squared": (lambda r, f: tf.norm(tf.stop_gradient(batch_mean(r)) - batch_mean(f)), "squared"),
    "mean-over-features": (
        lambda r, f: tf.reduce_mean(tf.square(tf.stop_gradient(tf.reduce_mean(r, 1)) - tf.reduce_mean(f, 1))), "axis=0"),
    "one-number-per-feature": (lambda r, f: tf.square(tf.stop_gradient(batch_mean(r)) - batch_mean(f)), "one number"),
    "computed-in-numpy": (lambda r, f: tf.constant(float(np.mean((np.mean(r, 0) - np.mean(f, 0)) ** 2))), "no gradient"),
    "forgot-return": (lambda r, f: None, "returned None"),
    "raises": (lambda r, f: tf.reduce_mean(tf.square(batch_mean(r) - f.mean(axis=0))), r"feature_matching_loss.*raised"),
}


test_feature_matching_rejects, test_feature_matching_accepts = check_tests(
    checks.check_feature_matching_loss, FEATURE_MATCHING_MISTAKES, {
        "keras-mse": lambda r, f: keras.losses.mean_squared_error(tf.stop_gradient(batch_mean(r)), batch_mean(f)),
        "keras-ops-sum": lambda r, f: keras.ops.sum(
            keras.ops.square(keras.ops.stop_gradient(keras.ops.mean(r, 0)) - keras.ops.mean(f, 0))),
        "squared-difference": lambda r, f: tf.reduce_mean(
            tf.math.squared_difference(batch_mean(f), tf.stop_gradient(batch_mean(r)))),
    })
