"""Each chapter-01 check passes the solution and names typical mistakes."""

import keras
import numpy as np
import pytest
from keras import layers

from course_utils.checks import CheckFailed
from course_utils.checks import autoencoders as checks

SHAPE = (28, 28, 1)


def test_compression_ratio_solution_passes(capsys):
    checks.check_compression_ratio(lambda shape, d: float(np.prod(shape)) / d)
    assert capsys.readouterr().out.startswith("PASSED")


@pytest.mark.parametrize("wrong, message", [
    (lambda shape, d: d / np.prod(shape), "larger than 1"),
    (lambda shape, d: int(np.prod(shape)) // d, "integer division"),
    (lambda shape, d: shape[0] * shape[1] / d, "3 numbers per pixel"),
    (lambda shape, d: None, "return"),
])
def test_compression_ratio_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_compression_ratio(wrong)


def dense(latent_dim, output_activation="sigmoid", share=True, latent_activation=None):
    encoder = keras.Sequential([keras.Input(SHAPE), layers.Flatten(), layers.Dense(16, activation="relu"),
                                layers.Dense(latent_dim, activation=latent_activation)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(16, activation="relu"),
                                layers.Dense(784, activation=output_activation), layers.Reshape(SHAPE)])
    if share:
        autoencoder = keras.Sequential([encoder, decoder])
    else:  # a fresh copy: training it would not train encoder/decoder
        autoencoder = keras.Sequential([keras.models.clone_model(encoder), keras.models.clone_model(decoder)])
    return autoencoder, encoder, decoder


def conv(latent_dim, upsample=True):
    encoder = keras.Sequential([keras.Input(SHAPE), layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                                layers.Flatten(), layers.Dense(latent_dim)])
    grow = ([layers.Dense(14 * 14 * 4, activation="relu"), layers.Reshape((14, 14, 4)),
             layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")] if upsample
            else [layers.Dense(28 * 28 * 4, activation="relu"), layers.Reshape((28, 28, 4))])
    decoder = keras.Sequential([keras.Input((latent_dim,)), *grow,
                                layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    return keras.Sequential([encoder, decoder]), encoder, decoder


def test_dense_solution_passes(capsys):
    checks.check_dense_autoencoder(dense)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda d: dense(d, output_activation=None), "sigmoid"),
    (lambda d: dense(d, share=False), "differs|share"),
    (lambda d: dense(784), "codes of shape"),
    (lambda d: dense(d)[:2], "three models"),
])
def test_dense_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_dense_autoencoder(wrong)


def test_conv_solution_passes(capsys):
    checks.check_conv_autoencoder(conv)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda d: dense(d), "no Conv2D"),
    (lambda d: conv(d, upsample=False), "Conv2DTranspose"),
])
def test_conv_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_conv_autoencoder(wrong)
