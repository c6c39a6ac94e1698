"""Chapter 02 checks, tried as an examiner would: wrong answers learners write, correct ones written differently."""

import functools
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_utils.checks import denoising as checks
from tests.mutations.harness import assert_rejected, check_tests, with_quiet_last_layer


def clip(x):
    return tf.clip_by_value(x, 0.0, 1.0)


# --- exercise 1: add_gaussian_noise ---------------------------------------------------------------


def gaussian(images, stddev):
    return clip(images + stddev * tf.random.normal(tf.shape(images)))


GAUSSIAN_WRONG = {
    "not_clipped": (lambda x, s: x + s * tf.random.normal(tf.shape(x)), "not clipped"),
    "clipped_to_minus_one": (lambda x, s: tf.clip_by_value(x + s * tf.random.normal(tf.shape(x)), -1.0, 1.0),
                             r"outside \[0, 1\]"),
    "scaled_by_variance": (lambda x, s: gaussian(x, s**2), "variance"),
    "stddev_ignored": (lambda x, s: gaussian(x, 0.2), "same strength"),
    "multiplied": (lambda x, s: clip(x * (1 + 2 * s * tf.random.normal(tf.shape(x)))), "multiplied"),
    "uniform_noise": (lambda x, s: clip(x + s * 3.46 * tf.random.uniform(tf.shape(x))), "mean 0"),
    "numpy_noise": (lambda x, s: clip(x + s * np.random.standard_normal((64, 28, 28, 1)).astype("float32")),
                    "SAME noise.*NumPy"),
    "stateless_fixed_seed": (lambda x, s: clip(x + s * tf.random.stateless_normal(tf.shape(x), seed=[1, 2])),
                             "SAME noise"),
    "one_field_for_the_batch": (lambda x, s: clip(x + s * tf.random.normal(tf.shape(x)[1:])),
                                "every image of the batch gets the same noise"),
    "one_value_per_image": (lambda x, s: clip(x + s * tf.random.normal([tf.shape(x)[0], 1, 1, 1])),
                            "all pixels of an image"),
    "static_shape": (lambda x, s: clip(x + s * tf.random.normal(x.shape)), r"tf\.shape\(x\)"),
    "noise_layer_not_training": (lambda x, s: clip(layers.GaussianNoise(s)(x)), "training=True"),
    "float64_noise": (lambda x, s: clip(x + s * tf.random.normal(tf.shape(x), dtype=tf.float64)), "failed"),
    "returns_none": (lambda x, s: None, "returned None"),
}

GAUSSIAN_RIGHT = {
    "stddev_argument": lambda x, s: tf.clip_by_value(x + tf.random.normal(tf.shape(x), stddev=s), 0.0, 1.0),
    "keras_ops": lambda x, s: keras.ops.clip(x + keras.random.normal(keras.ops.shape(x), stddev=s), 0.0, 1.0),
    "min_max": lambda x, s: tf.minimum(tf.maximum(x + s * tf.random.normal(tf.shape(x)), 0.0), 1.0),
}


test_add_gaussian_noise_rejects, test_add_gaussian_noise_accepts = check_tests(
    checks.check_add_gaussian_noise, GAUSSIAN_WRONG, GAUSSIAN_RIGHT)


# --- exercise 2: add_salt_and_pepper --------------------------------------------------------------


def salt_and_pepper(x, p, mask_shape=None, choice_shape=None):
    """Corrupt where uniform < p, with 1 or 0 drawn with ``choice_shape`` (both default to the batch's shape)."""
    corrupt = tf.random.uniform(tf.shape(x) if mask_shape is None else mask_shape) < p
    salt = tf.cast(tf.random.uniform(tf.shape(x) if choice_shape is None else choice_shape) < 0.5, x.dtype)
    return tf.where(corrupt, salt, x)


def same_draw_pepper_overwrites(x, p):
    u = tf.random.uniform(tf.shape(x))
    return tf.where(u < p, 0.0, tf.where(u < p, 1.0, x))


def two_independent_masks(x, p):
    x = tf.where(tf.random.uniform(tf.shape(x)) < p, 1.0, x)
    return tf.where(tf.random.uniform(tf.shape(x)) < p, 0.0, x)


def numpy_mask(x, p):
    corrupt = np.random.uniform(size=(64, 28, 28, 1)) < p
    return tf.where(corrupt, tf.cast(tf.random.uniform(tf.shape(x)) < 0.5, x.dtype), x)


SALT_WRONG = {
    "salt_only": (lambda x, p: tf.where(tf.random.uniform(tf.shape(x)) < p, 1.0, x), "only added salt"),
    "pepper_overwrites_salt": (same_draw_pepper_overwrites, "only added pepper"),
    "half_the_fraction": (lambda x, p: salt_and_pepper(x, p / 2), "half of what was asked"),
    "two_independent_masks": (two_independent_masks, "two independent masks"),
    "comparison_reversed": (lambda x, p: salt_and_pepper(x, 1 - p), "wrong way round"),
    "mostly_salt": (lambda x, p: tf.where(tf.random.uniform(tf.shape(x)) < p,
                                          tf.cast(tf.random.uniform(tf.shape(x)) < 0.8, x.dtype), x), "equally often"),
    "adds_instead_of_replacing": (lambda x, p: clip(x + 0.3 * tf.cast(tf.random.uniform(tf.shape(x)) < p, x.dtype)),
                                  "exactly 0"),
    "one_mask_for_the_batch": (lambda x, p: salt_and_pepper(x, p, mask_shape=tf.shape(x)[1:],
                                                             choice_shape=tf.shape(x)[1:]),
                               "every image of the batch gets the same corruption"),
    "whole_image_corrupted": (lambda x, p: salt_and_pepper(x, p, mask_shape=[tf.shape(x)[0], 1, 1, 1]),
                              "whether to corrupt was drawn once per image"),
    "salt_or_pepper_per_image": (lambda x, p: salt_and_pepper(x, p, choice_shape=[tf.shape(x)[0], 1, 1, 1]),
                                 "only salt or only pepper"),
    "numpy_mask": (numpy_mask, "SAME noise"),
    "static_shape": (lambda x, p: salt_and_pepper(x, p, mask_shape=x.shape), r"tf\.shape\(x\)"),
    "integer_salt": (lambda x, p: tf.where(tf.random.uniform(tf.shape(x)) < p,
                                           tf.cast(tf.random.uniform(tf.shape(x)) < 0.5, tf.int32), x), "failed"),
    "returns_none": (lambda x, p: None, "returned None"),
}


def one_draw_two_thresholds(x, p):
    u = tf.random.uniform(tf.shape(x))
    return tf.where(u < p / 2, 0.0, tf.where(u < p, 1.0, x))


def arithmetic_mask(x, p):
    corrupt = tf.cast(tf.random.uniform(tf.shape(x)) < p, x.dtype)
    salt = tf.round(tf.random.uniform(tf.shape(x)))
    return x * (1.0 - corrupt) + corrupt * salt


SALT_RIGHT = {
    "one_draw_two_thresholds": one_draw_two_thresholds,
    "arithmetic_mask": arithmetic_mask,
}


test_add_salt_and_pepper_rejects, test_add_salt_and_pepper_accepts = check_tests(
    checks.check_add_salt_and_pepper, SALT_WRONG, SALT_RIGHT)


# --- exercise 3: the dataset of (noisy, clean) pairs ----------------------------------------------


def add_noise(images):
    """As in the notebook: Gaussian or salt-and-pepper noise, by a coin per image (needs a batch)."""
    gaussian_image = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < 0.5
    return tf.where(gaussian_image, gaussian(images, 0.5), salt_and_pepper(images, 0.25))


def frozen_noise(images):
    return clip(images + np.random.standard_normal((16, 28, 28, 1)).astype("float32"))


def slices(images):
    return tf.data.Dataset.from_tensor_slices(images)


def endless_generator(images, noise_fn, batch_size):
    def batches():
        while True:
            yield images[:batch_size], images[:batch_size]

    spec = tf.TensorSpec((batch_size, 28, 28, 1), tf.float32)
    return tf.data.Dataset.from_generator(batches, output_signature=(spec, spec))


DATASET_WRONG = {
    "clean_to_clean": (lambda x, f, b: slices(x).shuffle(64).batch(b).map(lambda c: (c, c)), "clean -> clean"),
    "noisy_to_noisy": (lambda x, f, b: slices(x).shuffle(64).batch(b).map(f).map(lambda n: (n, n)), "noisy -> noisy"),
    "noisy_target": (lambda x, f, b: slices(x).shuffle(64).batch(b).map(lambda c: (c, f(c))), "targets are noisy"),
    "noise_cached": (lambda x, f, b: slices(x).batch(b).map(lambda c: (f(c), c)).unbatch().cache().shuffle(64).batch(b),
                     "same noisy images"),
    "noise_drawn_with_numpy_once": (
        lambda x, f, b: tf.data.Dataset.from_tensor_slices((clip(x + np.random.normal(0, 0.3, x.shape)), x))
        .shuffle(64).batch(b), "same noisy images"),
    "not_shuffled": (lambda x, f, b: slices(x).batch(b).map(lambda c: (f(c), c)), "shuffle"),
    "cache_after_shuffle": (lambda x, f, b: slices(x).shuffle(64).cache().batch(b).map(lambda c: (f(c), c)),
                            "same order"),
    "shuffle_after_batch": (lambda x, f, b: slices(x).batch(b).shuffle(8).map(lambda c: (f(c), c)),
                            "shuffle AFTER batching"),
    "map_before_batch": (lambda x, f, b: slices(x).shuffle(64).map(lambda c: (f(c), c)).batch(b),
                         "map it after .batch"),
    "not_batched": (lambda x, f, b: slices(x).shuffle(64).map(lambda c: (c + 0.1, c)), "one image"),
    "batch_size_ignored": (lambda x, f, b: slices(x).shuffle(64).batch(32).map(lambda c: (f(c), c)), "batch_size=16"),
    "repeat": (lambda x, f, b: slices(x).shuffle(64).batch(b).map(lambda c: (f(c), c)).repeat(), "does not end"),
    "endless_generator": (endless_generator, "does not end"),
    "arrays_not_dataset": (lambda x, f, b: (f(x), x), "tf.data.Dataset"),
    "returns_none": (lambda x, f, b: None, "tf.data.Dataset, got NoneType"),
}

DATASET_RIGHT = {
    "no_cache_parallel_map": lambda x, f, b: (slices(x).shuffle(len(x)).batch(b)
                                              .map(lambda c: (f(c), c), num_parallel_calls=tf.data.AUTOTUNE)),
    "drop_remainder_small_buffer": lambda x, f, b: (slices(x).cache().shuffle(32).batch(b, drop_remainder=True)
                                                    .map(lambda c: (f(c), c)).prefetch(1)),
}


def test_denoising_dataset_blames_a_frozen_noise_function_not_the_dataset():
    right = DATASET_RIGHT["no_cache_parallel_map"]
    assert_rejected("fix add_gaussian_noise and add_salt_and_pepper first", checks.check_denoising_dataset,
                    right, frozen_noise)


test_denoising_dataset_rejects, test_denoising_dataset_accepts = check_tests(
    functools.partial(checks.check_denoising_dataset, noise_fn=add_noise), DATASET_WRONG, DATASET_RIGHT)


# --- exercise 4: the denoiser ---------------------------------------------------------------------


def denoiser(output="sigmoid", hidden="relu", extra=(), first=()):
    return keras.Sequential([
        keras.Input((28, 28, 1)), *first,
        layers.Conv2D(8, 3, strides=2, padding="same", activation=hidden),
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation=output), *extra,
    ])


def dropout_always_on():
    images = keras.Input((28, 28, 1))
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(images)
    h = layers.Dropout(0.3)(h, training=True)
    h = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(h)
    return keras.Model(images, layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h))


def noise_layer_always_on():
    images = keras.Input((28, 28, 1))
    noisy = layers.GaussianNoise(0.3)(images, training=True)
    return keras.Model(images, denoiser()(noisy))


def upsampling_denoiser():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.UpSampling2D(), layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])


def functional_denoiser_with_training_layers():
    images = keras.Input((28, 28, 1))
    h = layers.GaussianNoise(0.1)(images)
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, strides=2, padding="same")(h)))
    h = layers.Dropout(0.2)(h)
    h = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(h)
    return keras.Model(images, layers.Activation("sigmoid")(h))


DENOISER_WRONG = {
    "no_sigmoid": (lambda: denoiser(output=None), r"outside \[0, 1\]"),
    "no_sigmoid_with_quiet_weights": (lambda: with_quiet_last_layer(denoiser(output=None), 0.5),
                                      r"no activation \(a linear output\).*activation='sigmoid'"),
    "relu_output": (lambda: denoiser(output="relu"), r"outside \[0, 1\]"),
    "tanh_output": (lambda: denoiser(output="tanh"), r"outside \[0, 1\]"),
    "softmax_output": (lambda: denoiser(output="softmax"), "same image.*softmax"),
    "sigmoid_after_relu": (lambda: denoiser(output="relu", extra=[layers.Activation("sigmoid")]), "below 0.5"),
    "hidden_without_activation": (lambda: denoiser(hidden=None), "no activation in between"),
    "dropout_training_true": (dropout_always_on, "training=True"),
    "noise_layer_training_true": (noise_layer_always_on, "training=True"),
    "wrong_shape": (lambda: keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(1, 3, strides=2, padding="same",
                                                                                      activation="sigmoid")]), "shape"),
    "not_convolutional": (lambda: keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                                    layers.Dense(784, activation="sigmoid"), layers.Reshape((28, 28, 1))]),
                          "no Conv2D"),
    "layers_not_a_model": (lambda: denoiser().layers, "keras.Model, got list"),
    "far_too_large": (lambda: denoiser(first=[layers.Flatten(), layers.Dense(1300, activation="relu"),
                                              layers.Dense(784, activation="relu"), layers.Reshape((28, 28, 1))]),
                      "parameters"),
    "returns_none": (lambda: None, "keras.Model, got NoneType"),
}

DENOISER_RIGHT = {
    "upsampling": upsampling_denoiser,
    "functional_with_training_layers": functional_denoiser_with_training_layers,
}


def check_built_denoiser(build):
    """check_denoiser on the model that ``build()`` (the learner's build_denoiser) returns."""
    checks.check_denoiser(build())


test_denoiser_rejects, test_denoiser_accepts = check_tests(
    check_built_denoiser, DENOISER_WRONG, DENOISER_RIGHT,
    marks=[pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")])
