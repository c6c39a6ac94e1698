"""The chapter 13 checks pass the solutions, let an unfinished exercise's placeholder through, and name a few
typical mistakes (the full set of wrong answers is in tests/mutations)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_utils.chapters.ch05 import INIT, bn
from course_utils.checks import CheckFailed
from course_utils.checks import faces as checks


def build_generator(latent_dim, image_size, width=48):
    """The solution of exercise 1."""
    blocks = int(np.log2(image_size // 4))
    start = width * 2 ** (blocks - 1)
    stack = [keras.Input((latent_dim,)),
             layers.Dense(4 * 4 * start, use_bias=False, kernel_initializer=INIT), bn(), layers.ReLU(),
             layers.Reshape((4, 4, start))]
    for i in range(blocks - 1):
        stack += [layers.Conv2DTranspose(start // 2 ** (i + 1), 4, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=INIT), bn(), layers.ReLU()]
    stack.append(layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh",
                                        kernel_initializer=INIT, dtype="float32"))
    return keras.Sequential(stack, name="generator")


def negative_elbo(x, x_mean, mean, log_var, sigma):
    """The solution of exercise 2."""
    squared_error = tf.reduce_sum(tf.square(x - x_mean), axis=[1, 2, 3])
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), x.dtype)
    reconstruction = squared_error / (2.0 * sigma**2) + 0.5 * pixels * np.log(2.0 * np.pi * sigma**2)
    return reconstruction + 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - log_var - 1.0, axis=-1)


def slerp(z0, z1, t):
    """The solution of exercise 3."""
    omega = np.arccos(np.clip(np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1)), -1.0, 1.0))
    t = np.asarray(t)[:, None]
    return (np.sin((1.0 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def nearest_training(queries, references, k):
    """The solution of exercise 4."""
    squared = (queries**2).sum(axis=1)[:, None] + (references**2).sum(axis=1)[None, :] - 2.0 * queries @ references.T
    distances = np.sqrt(np.maximum(squared, 0.0))
    indices = np.argsort(distances, axis=1)[:, :k]
    return np.take_along_axis(distances, indices, axis=1), indices


EXERCISES = {build_generator: checks.check_generator, negative_elbo: checks.check_negative_elbo,
             slerp: checks.check_slerp, nearest_training: checks.check_nearest_training}


@pytest.mark.parametrize("solution", list(EXERCISES), ids=lambda f: f.__name__)
def test_the_solutions_pass(solution, capsys):
    EXERCISES[solution](solution)
    assert capsys.readouterr().out.startswith("PASSED")


@pytest.mark.parametrize("check", list(EXERCISES.values()), ids=lambda f: f.__name__)
def test_an_unfinished_exercise_shows_its_own_message(check):
    def placeholder(*args, **kwargs):
        raise NotImplementedError("Exercise: write your code here (replace this line), then run the check cell below.")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(placeholder)


def test_a_generator_of_fixed_depth_is_named():
    fixed = lambda latent_dim, image_size, width=8: build_generator(latent_dim, 32, width)  # noqa: E731
    with pytest.raises(CheckFailed, match=r"log2\(64 / 4\) = 4"):
        checks.check_generator(fixed)


def test_the_straight_line_is_not_slerp():
    with pytest.raises(CheckFailed, match="straight line"):
        checks.check_slerp(lambda z0, z1, t: (1 - t[:, None]) * z0 + t[:, None] * z1)


def test_mean_squared_error_plus_kl_is_named():
    def mse_elbo(x, x_mean, mean, log_var, sigma):
        kl = 0.5 * tf.reduce_sum(mean**2 + tf.exp(log_var) - log_var - 1.0, axis=-1)
        return tf.reduce_mean(tf.square(x - x_mean), axis=[1, 2, 3]) + kl

    with pytest.raises(CheckFailed, match="mean squared error"):
        checks.check_negative_elbo(mse_elbo)
