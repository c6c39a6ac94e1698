"""Chapter 01 checks, tried as an examiner would: wrong answers learners write, correct ones written differently."""

import functools
import math
import operator

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_utils.checks import autoencoders as checks
from tests.mutations.harness import check_tests, with_quiet_last_layer

SHAPE = (28, 28, 1)
HIDDEN = 16

# --- exercise 1: compression_ratio ----------------------------------------------------------------

RATIO_WRONG = {
    "inverted": (lambda shape, d: d / np.prod(shape), "larger than 1"),
    "integer_division": (lambda shape, d: int(np.prod(shape)) // d, "fraction was dropped"),
    "int_of_ratio": (lambda shape, d: int(np.prod(shape) / d), "fraction was dropped"),
    "sum_of_dimensions": (lambda shape, d: sum(shape) / d, "PRODUCT"),
    "channels_ignored": (lambda shape, d: shape[0] * shape[1] / d, "3 numbers per pixel"),
    "hard_coded_784": (lambda shape, d: 784 / d, "fixed at 28 x 28"),
    "share_saved": (lambda shape, d: 1 - d / np.prod(shape), "size saved"),
    "returns_none": (lambda shape, d: None, "returned None"),
    "returns_text": (lambda shape, d: f"{np.prod(shape) / d}x", "should return numbers"),
    "returns_both_sizes": (lambda shape, d: (np.prod(shape), d), "one number"),
    "raises": (lambda shape, d: shape.size / d, r"raised.*AttributeError"),
}

RATIO_RIGHT = {
    "math_prod": lambda shape, d: math.prod(shape) / d,
    "tf_reduce_prod": lambda shape, d: tf.cast(tf.reduce_prod(shape), tf.float32) / d,
    "reduce_mul": lambda shape, d: functools.reduce(operator.mul, shape) / d,
}


test_compression_ratio_rejects, test_compression_ratio_accepts = check_tests(
    checks.check_compression_ratio, RATIO_WRONG, RATIO_RIGHT)


# --- exercise 2: the dense autoencoder ------------------------------------------------------------


def dense(latent_dim, hidden_activation="relu", code_activation=None, output=("sigmoid",), share=True):
    """A small dense (autoencoder, encoder, decoder); ``output`` lists the activations after Dense(784)."""
    encoder = keras.Sequential([keras.Input(SHAPE), layers.Flatten(),
                                layers.Dense(HIDDEN, activation=hidden_activation),
                                layers.Dense(latent_dim, activation=code_activation)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(HIDDEN, activation="relu"),
                                layers.Dense(784, activation=output[0]),
                                *[layers.Activation(a) for a in output[1:]], layers.Reshape(SHAPE)])
    if share:
        return keras.Sequential([encoder, decoder]), encoder, decoder
    copy = keras.Sequential([keras.models.clone_model(encoder), keras.models.clone_model(decoder)])
    return copy, encoder, decoder


def dense_with_dropout_always_on(latent_dim):
    images = keras.Input(SHAPE)
    hidden = layers.Dense(HIDDEN, activation="relu")(layers.Flatten()(images))
    encoder = keras.Model(images, layers.Dense(latent_dim)(layers.Dropout(0.5)(hidden, training=True)))
    _, _, decoder = dense(latent_dim)
    return keras.Model(images, decoder(encoder(images))), encoder, decoder


def dense_without_reshape(latent_dim):
    autoencoder, encoder, decoder = dense(latent_dim)
    flat_decoder = keras.Sequential(decoder.layers[:-1])
    return keras.Sequential([encoder, flat_decoder]), encoder, flat_decoder


def dense_functional(latent_dim):
    images = keras.Input(SHAPE)
    code = layers.Dense(latent_dim)(layers.Dense(HIDDEN, activation="relu")(layers.Flatten()(images)))
    encoder = keras.Model(images, code, name="encoder")
    codes = keras.Input((latent_dim,))
    pixels = layers.Dense(784, activation="sigmoid")(layers.Dense(HIDDEN, activation="relu")(codes))
    decoder = keras.Model(codes, layers.Reshape(SHAPE)(pixels), name="decoder")
    return keras.Model(images, decoder(encoder(images))), encoder, decoder


def dense_activation_layers(latent_dim):
    encoder = keras.Sequential([keras.Input(SHAPE), layers.Flatten(), layers.Dense(HIDDEN), layers.LeakyReLU(),
                                layers.Dense(latent_dim)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(HIDDEN), layers.ReLU(),
                                layers.Dense(784), layers.Activation("sigmoid"), layers.Reshape(SHAPE)])
    autoencoder = keras.Sequential([keras.Input(SHAPE), encoder, decoder])
    return autoencoder, encoder, decoder


def undefined_layer(latent_dim):
    return keras.Sequential([layers.Dense(latent_dim, activation="rleu")])


DENSE_WRONG = {
    "relu_output": (lambda d: dense(d, output=("relu",)), r"outside \[0, 1\]"),
    "linear_output": (lambda d: dense(d, output=(None,)), r"outside \[0, 1\]"),
    "linear_output_with_quiet_weights": (lambda d: (lambda a, e, dec: (a, e, with_quiet_last_layer(dec, 0.5)))(
        *dense(d, output=(None,))), r"no activation \(a linear output\).*activation='sigmoid'"),
    "tanh_output_with_quiet_weights": (lambda d: (lambda a, e, dec: (a, e, with_quiet_last_layer(dec, 0.5)))(
        *dense(d, output=("tanh",))), r"activation 'tanh'.*activation='sigmoid'"),
    "tanh_output": (lambda d: dense(d, output=("tanh",)), r"outside \[0, 1\]"),
    "softmax_output": (lambda d: dense(d, output=("softmax",)), "sum to 1.*softmax"),
    "sigmoid_after_relu": (lambda d: dense(d, output=("relu", "sigmoid")), "below 0.5"),
    "sigmoid_twice": (lambda d: dense(d, output=("sigmoid", "sigmoid")), "below 0.5"),
    "hidden_without_activation": (lambda d: dense(d, hidden_activation=None), "no activation in between"),
    "relu_code": (lambda d: dense(d, code_activation="relu"), r"applies 'relu'.*without activation"),
    "sigmoid_code": (lambda d: dense(d, code_activation="sigmoid"), r"applies 'sigmoid'"),
    "dropout_training_true": (dense_with_dropout_always_on, "training=True"),
    "autoencoder_not_shared": (lambda d: dense(d, share=False), "share"),
    "wrong_order": (lambda d: (lambda a, e, dec: (e, dec, a))(*dense(d)), "order"),
    "latent_dim_ignored": (lambda d: dense(32), "codes of shape"),
    "no_reshape": (dense_without_reshape, "shape"),
    "returns_two_models": (lambda d: dense(d)[:2], "three models"),
    "returns_none": (lambda d: None, "returned None"),
    "raises": (undefined_layer, r"raised.*rleu"),
}

DENSE_RIGHT = {
    "functional_api": dense_functional,
    "activation_layers": dense_activation_layers,
}


test_dense_autoencoder_rejects, test_dense_autoencoder_accepts = check_tests(
    checks.check_dense_autoencoder, DENSE_WRONG, DENSE_RIGHT)


# --- exercise 3: the convolutional autoencoder ----------------------------------------------------


def conv(latent_dim, conv_activation="relu", output="sigmoid", padding="same", extra=()):
    """A small conv (autoencoder, encoder, decoder); ``extra`` layers follow the last decoder conv."""
    encoder = keras.Sequential([keras.Input(SHAPE),
                                layers.Conv2D(4, 3, strides=2, padding="same", activation=conv_activation),
                                layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
                                layers.Flatten(), layers.Dense(latent_dim)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(7 * 7 * 8, activation="relu"),
                                layers.Reshape((7, 7, 8)),
                                layers.Conv2DTranspose(8, 3, strides=2, padding=padding, activation="relu"),
                                layers.Conv2DTranspose(4, 3, strides=2, padding=padding, activation="relu"),
                                layers.Conv2D(1, 3, padding="same", activation=output), *extra])
    return keras.Sequential([encoder, decoder]), encoder, decoder


def conv_without_upsampling(latent_dim):
    encoder = conv(latent_dim)[1]
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(28 * 28 * 4, activation="relu"),
                                layers.Reshape((28, 28, 4)), layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    return keras.Sequential([encoder, decoder]), encoder, decoder


def conv_dropout_always_on(latent_dim):
    _, encoder, _ = conv(latent_dim)
    codes = keras.Input((latent_dim,))
    grid = layers.Reshape((7, 7, 8))(layers.Dense(7 * 7 * 8, activation="relu")(codes))
    grid = layers.Dropout(0.3)(grid, training=True)
    grid = layers.Conv2DTranspose(4, 3, strides=4, padding="same", activation="relu")(grid)
    decoder = keras.Model(codes, layers.Conv2D(1, 3, padding="same", activation="sigmoid")(grid))
    return keras.Sequential([encoder, decoder]), encoder, decoder


def conv_pooling(latent_dim):
    encoder = keras.Sequential([keras.Input(SHAPE), layers.Conv2D(4, 3, padding="same", activation="relu"),
                                layers.MaxPooling2D(), layers.Conv2D(8, 3, padding="same", activation="relu"),
                                layers.MaxPooling2D(), layers.Flatten(), layers.Dense(latent_dim)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(7 * 7 * 8, activation="relu"),
                                layers.Reshape((7, 7, 8)), layers.UpSampling2D(),
                                layers.Conv2D(8, 3, padding="same", activation="relu"), layers.UpSampling2D(),
                                layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    return keras.Sequential([encoder, decoder]), encoder, decoder


def conv_functional_batchnorm(latent_dim):
    images = keras.Input(SHAPE)
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(4, 3, strides=2, padding="same")(images)))
    h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, strides=2, padding="same")(h)))
    encoder = keras.Model(images, layers.Dense(latent_dim)(layers.Flatten()(h)))
    codes = keras.Input((latent_dim,))
    g = layers.Reshape((7, 7, 8))(layers.Dense(7 * 7 * 8, activation="relu")(codes))
    g = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(g)
    g = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(g)
    decoder = keras.Model(codes, layers.Activation("sigmoid")(g))
    return keras.Model(images, decoder(encoder(images))), encoder, decoder


CONV_WRONG = {
    "dense_only": (lambda d: dense(d), "no Conv2D"),
    "no_upsampling": (conv_without_upsampling, "Conv2DTranspose"),
    "relu_output": (lambda d: conv(d, output="relu"), r"outside \[0, 1\]"),
    "relu_output_with_quiet_weights": (lambda d: (lambda a, e, dec: (a, e, with_quiet_last_layer(dec, 0.5)))(
        *conv(d, output="relu")), r"activation 'relu'.*activation='sigmoid'"),
    "tanh_output": (lambda d: conv(d, output="tanh"), r"outside \[0, 1\]"),
    "softmax_over_one_channel": (lambda d: conv(d, output="softmax"), "same image.*softmax"),
    "sigmoid_after_relu": (lambda d: conv(d, output="relu", extra=[layers.Activation("sigmoid")]), "below 0.5"),
    "conv_without_activation": (lambda d: conv(d, conv_activation=None), "no activation in between"),
    "valid_padding": (lambda d: conv(d, padding="valid"), "shape"),
    "dropout_training_true": (conv_dropout_always_on, "training=True"),
}

CONV_RIGHT = {
    "pooling_and_upsampling": conv_pooling,
    "functional_batchnorm": conv_functional_batchnorm,
}


test_conv_autoencoder_rejects, test_conv_autoencoder_accepts = check_tests(
    checks.check_conv_autoencoder, CONV_WRONG, CONV_RIGHT,
    marks=[pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")])
