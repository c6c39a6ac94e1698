"""The chapter-02 checks pass the solution and name each typical mistake."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import denoising

layers = keras.layers


# --- solutions (as in solutions/02_denoising_autoencoders.ipynb) -------------------------------


def add_gaussian_noise(images, stddev):
    noisy = images + stddev * tf.random.normal(tf.shape(images))
    return tf.clip_by_value(noisy, 0.0, 1.0)


def add_salt_and_pepper(images, fraction):
    corrupt = tf.random.uniform(tf.shape(images)) < fraction
    salt = tf.cast(tf.random.uniform(tf.shape(images)) < 0.5, images.dtype)
    return tf.where(corrupt, salt, images)


def make_denoising_dataset(images, noise_fn, batch_size):
    return (tf.data.Dataset.from_tensor_slices(images).cache().shuffle(len(images))
            .batch(batch_size).map(lambda clean: (noise_fn(clean), clean)).prefetch(2))


def build_denoiser(activation="sigmoid"):
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation=activation),
    ])


def noise(images):
    return add_gaussian_noise(images, 0.3)


# --- helpers ------------------------------------------------------------------------------------


def fails_with(check, *args, match):
    with pytest.raises(CheckFailed, match=match):
        check(*args)


def test_solutions_pass(capsys):
    denoising.check_add_gaussian_noise(add_gaussian_noise)
    denoising.check_add_salt_and_pepper(add_salt_and_pepper)
    denoising.check_denoising_dataset(make_denoising_dataset, noise)
    denoising.check_denoiser(build_denoiser())
    assert capsys.readouterr().out.count("PASSED") == 4


def test_the_placeholder_of_an_exercise_is_not_hidden():
    def unfinished(images, stddev):
        raise NotImplementedError("Exercise: write your code here")

    with pytest.raises(NotImplementedError):
        denoising.check_add_gaussian_noise(unfinished)


# --- Gaussian noise -----------------------------------------------------------------------------


def test_gaussian_not_clipped():
    fails_with(denoising.check_add_gaussian_noise,
               lambda x, s: x + s * tf.random.normal(tf.shape(x)), match="not clipped")


def test_gaussian_scaled_by_variance():
    fails_with(denoising.check_add_gaussian_noise,
               lambda x, s: add_gaussian_noise(x, s**2), match="variance")


def test_gaussian_multiplied_instead_of_added():
    fails_with(denoising.check_add_gaussian_noise,
               lambda x, s: tf.clip_by_value(x * (1 + s * tf.random.normal(tf.shape(x)) / 0.5), 0, 1),
               match="multiplied")


def test_gaussian_noise_from_numpy_is_frozen_in_a_graph():
    def numpy_noise(x, s):
        return tf.clip_by_value(x + s * np.random.standard_normal(x.shape).astype("float32"), 0, 1)

    fails_with(denoising.check_add_gaussian_noise, numpy_noise, match="SAME noise")


def test_gaussian_uniform_noise_has_wrong_mean():
    fails_with(denoising.check_add_gaussian_noise,
               lambda x, s: tf.clip_by_value(x + s * tf.random.uniform(tf.shape(x)) * 3.46, 0, 1),
               match="mean 0")


# --- salt and pepper ----------------------------------------------------------------------------


def test_salt_only():
    fails_with(denoising.check_add_salt_and_pepper,
               lambda x, p: tf.where(tf.random.uniform(tf.shape(x)) < p, 1.0, x), match="only added salt")


def test_pepper_overwrites_salt_from_the_same_draw():
    def same_draw(x, p):
        u = tf.random.uniform(tf.shape(x))
        x = tf.where(u < p, 1.0, x)
        return tf.where(u < p, 0.0, x)

    fails_with(denoising.check_add_salt_and_pepper, same_draw, match="only added pepper")


def test_salt_and_pepper_half_the_fraction():
    def half(x, p):
        u = tf.random.uniform(tf.shape(x))
        return tf.where(u < p / 4, 1.0, tf.where(u > 1 - p / 4, 0.0, x))

    fails_with(denoising.check_add_salt_and_pepper, half, match="half of what was asked")


def test_salt_and_pepper_two_independent_masks():
    def two_masks(x, p):
        x = tf.where(tf.random.uniform(tf.shape(x)) < p, 1.0, x)
        return tf.where(tf.random.uniform(tf.shape(x)) < p, 0.0, x)

    fails_with(denoising.check_add_salt_and_pepper, two_masks, match="two independent masks")


def test_salt_and_pepper_unbalanced():
    def mostly_salt(x, p):
        corrupt = tf.random.uniform(tf.shape(x)) < p
        return tf.where(corrupt, tf.cast(tf.random.uniform(tf.shape(x)) < 0.8, x.dtype), x)

    fails_with(denoising.check_add_salt_and_pepper, mostly_salt, match="equally often")


def test_salt_and_pepper_adds_instead_of_replacing():
    def adds(x, p):
        corrupt = tf.cast(tf.random.uniform(tf.shape(x)) < p, x.dtype)
        return tf.clip_by_value(x + corrupt * 0.3, 0, 1)

    fails_with(denoising.check_add_salt_and_pepper, adds, match="exactly 0")


# --- the dataset --------------------------------------------------------------------------------


def test_dataset_clean_to_clean():
    def clean_to_clean(images, noise_fn, batch_size):
        return tf.data.Dataset.from_tensor_slices(images).shuffle(64).batch(batch_size).map(lambda c: (c, c))

    fails_with(denoising.check_denoising_dataset, clean_to_clean, noise, match="clean -> clean")


def test_dataset_noisy_to_noisy():
    def noisy_to_noisy(images, noise_fn, batch_size):
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(64).batch(batch_size)
        return ds.map(noise_fn).map(lambda n: (n, n))

    fails_with(denoising.check_denoising_dataset, noisy_to_noisy, noise, match="noisy -> noisy")


def test_dataset_noisy_target():
    def swapped(images, noise_fn, batch_size):
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(64).batch(batch_size)
        return ds.map(lambda c: (c, noise_fn(c)))

    fails_with(denoising.check_denoising_dataset, swapped, noise, match="targets are noisy")


def test_dataset_noise_cached():
    def cached_noise(images, noise_fn, batch_size):
        ds = tf.data.Dataset.from_tensor_slices(images).map(lambda c: (noise_fn(c), c)).cache()
        return ds.shuffle(64).batch(batch_size)

    fails_with(denoising.check_denoising_dataset, cached_noise, noise, match="same noisy images")


def test_dataset_not_shuffled():
    def unshuffled(images, noise_fn, batch_size):
        return tf.data.Dataset.from_tensor_slices(images).batch(batch_size).map(lambda c: (noise_fn(c), c))

    fails_with(denoising.check_denoising_dataset, unshuffled, noise, match="shuffle")


# --- the model ----------------------------------------------------------------------------------


def test_denoiser_without_sigmoid():
    fails_with(denoising.check_denoiser, build_denoiser(activation=None), match="sigmoid")


def test_denoiser_relu_output_is_not_bounded():
    fails_with(denoising.check_denoiser, build_denoiser(activation="relu"), match="sigmoid")


def test_denoiser_wrong_shape():
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              layers.Conv2D(8, 3, strides=2, padding="same", activation="sigmoid")])
    fails_with(denoising.check_denoiser, model, match="shape")


def test_denoiser_not_convolutional():
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(784, activation="sigmoid"),
                              layers.Reshape((28, 28, 1))])
    fails_with(denoising.check_denoiser, model, match="no Conv2D")
