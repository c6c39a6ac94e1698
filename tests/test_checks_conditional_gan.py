"""Each chapter-07 check passes the solution and names typical mistakes."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_utils.checks import CheckFailed
from course_utils.checks import conditional_gan as checks

LATENT = 8
bce = keras.losses.BinaryCrossentropy(from_logits=True)
ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


# --- the generator ------------------------------------------------------------------------------


def generator(latent_dim, use_label=True, use_noise=True, label_shape=(), one_hot=False, activation="tanh"):
    """A tiny conditional generator, with switches that reproduce typical mistakes."""
    noise = keras.Input((latent_dim,))
    labels = keras.Input((10,) if one_hot else label_shape, dtype="float32" if one_hot else "int32")
    embedded = layers.Dense(4)(labels) if one_hot else layers.Embedding(10, 4)(labels)
    parts = ([noise] if use_noise else []) + ([embedded] if use_label else [])
    h = layers.Concatenate()(parts) if len(parts) > 1 else layers.Dense(4, activation="relu")(parts[0])
    h = layers.Dense(16, activation="relu")(h)
    images = layers.Reshape((28, 28, 1))(layers.Dense(784, activation=activation)(h))
    return keras.Model([noise, labels], images)


def test_generator_solution_passes(capsys):
    checks.check_generator(generator, latent_dim=LATENT)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda d: generator(d, use_label=False), "ignores the label"),
    (lambda d: generator(d, use_noise=False), "noise must reach"),
    (lambda d: generator(d, label_shape=(1,)), "Flatten"),
    (lambda d: generator(d, one_hot=True), "not one-hot"),
    (lambda d: generator(d, activation=None), "tanh"),
    (lambda d: keras.Sequential([keras.Input((d,)), layers.Dense(784), layers.Reshape((28, 28, 1))]), "TWO inputs"),
    (lambda d: None, "return"),
])
def test_generator_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_generator(wrong, latent_dim=LATENT)


# --- fake_batch ---------------------------------------------------------------------------------


def fake_batch(gen, batch_size, latent_dim):
    labels = tf.random.uniform([batch_size], 0, 10, dtype=tf.int32)
    noise = tf.random.normal([batch_size, latent_dim])
    return gen([noise, labels], training=True), labels


def test_fake_batch_solution_passes(capsys):
    checks.check_fake_batch(fake_batch, latent_dim=LATENT)
    assert "PASSED" in capsys.readouterr().out


def fresh_labels(gen, n, d):
    images, _ = fake_batch(gen, n, d)
    return images, tf.random.uniform([n], 0, 10, dtype=tf.int32)  # not the labels the images were made with


def sorted_labels(gen, n, d):
    images, labels = fake_batch(gen, n, d)
    return images, tf.sort(labels)


def maxval_nine(gen, n, d):
    labels = tf.random.uniform([n], 0, 9, dtype=tf.int32)
    return gen([tf.random.normal([n, d]), labels], training=True), labels


def one_hot(gen, n, d):
    labels = tf.one_hot(tf.random.uniform([n], 0, 10, dtype=tf.int32), 10)
    return gen([tf.random.normal([n, d]), labels], training=True), labels


def uniform_noise(gen, n, d):
    labels = tf.random.uniform([n], 0, 10, dtype=tf.int32)
    return gen([tf.random.uniform([n, d]), labels], training=True), labels


def one_class(gen, n, d):
    labels = tf.fill([n], 3)
    return gen([tf.random.normal([n, d]), labels], training=True), labels


@pytest.mark.parametrize("wrong, message", [
    (fresh_labels, "not the ones the images were generated with"),
    (sorted_labels, "not the ones the images were generated with"),
    (maxval_nine, "maxval=10"),
    (one_hot, "not one-hot"),
    (uniform_noise, "standard normal"),
    (one_class, "same label"),
    (lambda gen, n, d: fake_batch(gen, n, d)[0], "two things"),
])
def test_fake_batch_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_fake_batch(wrong, latent_dim=LATENT)


# --- losses -------------------------------------------------------------------------------------


def d_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0, real_class=True, fake_class=True,
           swap=False, smooth_fakes=False, use_smoothing=True):
    (rs, rc), (fs, fc) = real_out, fake_out
    smoothing = smoothing if use_smoothing else 0.0
    fake_target = smoothing if smooth_fakes else 0.0
    loss = bce(tf.fill(tf.shape(rs), 1.0 - smoothing), rs) + bce(tf.fill(tf.shape(fs), fake_target), fs)
    if swap:
        real_labels, fake_labels = fake_labels, real_labels
    if real_class:
        loss += ce(real_labels, rc)
    if fake_class:
        loss += ce(fake_labels, fc)
    return loss


def test_discriminator_loss_solution_passes(capsys):
    checks.check_discriminator_loss(d_loss)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f, yr, yf: d_loss(r, f, yr, yf, fake_class=False), "real images only"),
    (lambda r, f, yr, yf: d_loss(r, f, yr, yf, real_class=False), "fakes only"),
    (lambda r, f, yr, yf: d_loss(r, f, yr, yf, real_class=False, fake_class=False), "class loss is missing"),
    (lambda r, f, yr, yf: d_loss(r, f, yr, yf, swap=True), "swapped"),
    (lambda r, f, yr, yf: d_loss(f, r, yf, yr), "targets are swapped"),
    (lambda r, f, yr, yf, smoothing=0.0: d_loss(r, f, yr, yf, smoothing, use_smoothing=False), "did not change"),
    (lambda r, f, yr, yf, smoothing=0.0: d_loss(r, f, yr, yf, smoothing, smooth_fakes=True), "keep target 0"),
    (lambda r, f, yr, yf: None, "return"),
])
def test_discriminator_loss_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_discriminator_loss(wrong)


def g_loss(fake_out, fake_labels):
    fs, fc = fake_out
    return bce(tf.ones_like(fs), fs) + ce(fake_labels, fc)


def test_generator_loss_solution_passes(capsys):
    checks.check_generator_loss(g_loss)
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda out, y: bce(tf.ones_like(out[0]), out[0]), "class loss is missing"),
    (lambda out, y: bce(tf.ones_like(out[0]), out[0]) - ce(y, out[1]), "wrong sign"),
    (lambda out, y: bce(tf.zeros_like(out[0]), out[0]) + ce(y, out[1]), "REAL"),
    (lambda out, y: -bce(tf.zeros_like(out[0]), out[0]) + ce(y, out[1]), "saturating"),
    (lambda out, y: g_loss(out, tf.sort(y)), "do not match"),
])
def test_generator_loss_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_generator_loss(wrong)


@pytest.mark.parametrize("check", [checks.check_generator, checks.check_fake_batch, checks.check_discriminator_loss,
                                   checks.check_generator_loss])
def test_the_placeholder_of_an_exercise_is_not_hidden(check):
    def unfinished(*args, **kwargs):
        raise NotImplementedError("Exercise: write your code here")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(unfinished)
