"""The chapter 06 checks pass the solution and name the typical mistakes."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import ssgan as checks


# --- the unsupervised discriminator loss -------------------------------------------------------

def lse(logits):
    return tf.reduce_logsumexp(logits, axis=1)


def unsupervised(real, fake):
    return tf.reduce_mean(tf.nn.softplus(-lse(real))) + tf.reduce_mean(tf.nn.softplus(lse(fake)))


def test_unsupervised_loss_passes_the_solution():
    checks.check_unsupervised_loss(unsupervised)


def naive(real, fake):
    """Right formula, computed as D = Z / (Z + 1): overflows for large logits."""
    z_real = tf.reduce_sum(tf.exp(real), axis=1)
    z_fake = tf.reduce_sum(tf.exp(fake), axis=1)
    return -tf.reduce_mean(tf.math.log(z_real / (z_real + 1))) - tf.reduce_mean(tf.math.log(1 / (z_fake + 1)))


@pytest.mark.parametrize("loss, message", [
    (lambda r, f: tf.reduce_mean(tf.nn.softplus(lse(r))) + tf.reduce_mean(tf.nn.softplus(-lse(f))), "swapped"),
    (lambda r, f: tf.reduce_mean(tf.nn.softplus(lse(r))) + tf.reduce_mean(tf.nn.softplus(lse(f))),
     "sign inside the real term"),
    (lambda r, f: tf.reduce_mean(tf.nn.softplus(-lse(r))) + tf.reduce_mean(tf.nn.softplus(-lse(f))),
     "sign inside the fake term"),
    (lambda r, f: unsupervised(tf.nn.softmax(r), tf.nn.softmax(f)), "softmax probabilities"),
    (lambda r, f: tf.reduce_sum(tf.nn.softplus(-lse(r))) + tf.reduce_sum(tf.nn.softplus(lse(f))), "mean"),
    (lambda r, f: tf.concat([tf.nn.softplus(-lse(r)), tf.nn.softplus(lse(f))], 0), "one number"),
    (naive, "large logits"),
])
def test_unsupervised_loss_mistakes(loss, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_unsupervised_loss(loss)


# --- feature matching --------------------------------------------------------------------------

def feature_matching(real, fake):
    target = tf.stop_gradient(tf.reduce_mean(real, axis=0))
    return tf.reduce_mean(tf.square(target - tf.reduce_mean(fake, axis=0)))


def test_feature_matching_passes_the_solution():
    checks.check_feature_matching_loss(feature_matching)
    # the squared norm (sum over features) as in the paper, and the authors' mean absolute
    # difference, are fine too
    checks.check_feature_matching_loss(
        lambda r, f: tf.reduce_sum(tf.square(tf.stop_gradient(tf.reduce_mean(r, 0)) - tf.reduce_mean(f, 0))))
    checks.check_feature_matching_loss(
        lambda r, f: tf.reduce_mean(tf.abs(tf.stop_gradient(tf.reduce_mean(r, 0)) - tf.reduce_mean(f, 0))))


@pytest.mark.parametrize("loss, message", [
    (lambda r, f: tf.reduce_mean(tf.square(r - f)), "per-sample"),
    (lambda r, f: tf.reduce_mean(tf.square(tf.reduce_mean(r, 0) - tf.reduce_mean(f, 0))), "stop_gradient"),
    (lambda r, f: tf.reduce_mean(tf.stop_gradient(tf.reduce_mean(r, 0)) - tf.reduce_mean(f, 0)), "not squared"),
    (lambda r, f: tf.constant(float(np.mean((np.mean(r, 0) - np.mean(f, 0)) ** 2))), "no gradient"),
])
def test_feature_matching_mistakes(loss, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_feature_matching_loss(loss)


# --- the labelled subset -----------------------------------------------------------------------

def labelled_subset(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    allowed = np.setdiff1d(np.arange(len(y)), exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], per_class, replace=False) for k in range(10)])


def test_labelled_subset_passes_the_solution():
    checks.check_labelled_subset(labelled_subset)


def unbalanced(y, per_class, seed, exclude=()):
    allowed = np.setdiff1d(np.arange(len(y)), exclude)
    return np.random.default_rng(seed).choice(allowed, 10 * per_class, replace=False)


def overlapping(y, per_class, seed, exclude=()):
    return labelled_subset(y, per_class, seed, exclude=())


def first_of_each_class(y, per_class, seed, exclude=()):
    allowed = np.setdiff1d(np.arange(len(y)), exclude)
    return np.concatenate([allowed[y[allowed] == k][:per_class] for k in range(10)])


def with_replacement(y, per_class, seed, exclude=()):
    rng = np.random.default_rng(seed)
    allowed = np.setdiff1d(np.arange(len(y)), exclude)
    return np.concatenate([rng.choice(allowed[y[allowed] == k], per_class, replace=True) for k in range(10)])


def fixed_seed(y, per_class, seed, exclude=()):
    return labelled_subset(y, per_class, 0, exclude)


@pytest.mark.parametrize("subset, message", [
    (unbalanced, "not class-balanced"),
    (overlapping, "validation"),
    (first_of_each_class, "first images of each class"),
    (fixed_seed, "seeds 0 and 1"),
    (with_replacement, "twice"),
])
def test_labelled_subset_mistakes(subset, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_labelled_subset(subset)
