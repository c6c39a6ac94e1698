"""Chapter 15's checks: the notebook's solutions pass, and the reference helpers agree with TensorFlow."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import flows as checks

NULL_LABEL = checks.NULL_LABEL


# --- the notebook's solutions --------------------------------------------------------------------


def dequantize_logit(x, u, alpha):
    s = alpha + (1.0 - 2.0 * alpha) * (x + u) / 256.0
    z = tf.math.log(s) - tf.math.log(1.0 - s)
    per_value = math.log(1.0 - 2.0 * alpha) - math.log(256.0) - tf.math.log(s) - tf.math.log(1.0 - s)
    return z, tf.reduce_sum(per_value, axis=[1, 2, 3])


class AffineCoupling(keras.layers.Layer):
    def __init__(self, mask, hidden=64, **kwargs):
        super().__init__(**kwargs)
        self.mask = tf.constant(mask, tf.float32)
        channels = mask.shape[-1]
        self.net = keras.Sequential([
            keras.layers.Conv2D(hidden, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * channels, 3, padding="same", kernel_initializer="zeros"),
        ])
        self.scale = self.add_weight(shape=(channels,), initializer="ones", name="scale")

    def shift_and_log_scale(self, x):
        raw_log_scale, shift = tf.split(self.net(x * self.mask), 2, axis=-1)
        return self.scale * tf.tanh(raw_log_scale) * (1.0 - self.mask), shift * (1.0 - self.mask)

    def forward(self, x):
        log_scale, shift = self.shift_and_log_scale(x)
        return x * tf.exp(log_scale) + shift, tf.reduce_sum(log_scale, axis=[1, 2, 3])

    def inverse(self, y):
        log_scale, shift = self.shift_and_log_scale(y)
        return (y - shift) * tf.exp(-log_scale)


def bits_per_dim(z, log_det):
    dims = float(np.prod(z.shape[1:]))
    log_prior = tf.reduce_sum(-0.5 * tf.square(z) - 0.5 * math.log(2.0 * math.pi), axis=list(range(1, len(z.shape))))
    return tf.reduce_mean(-(log_prior + log_det)) / (dims * math.log(2.0))


def flow_matching_loss(velocity_net, x1, labels):
    n = tf.shape(x1)[0]
    x0 = tf.random.normal(tf.shape(x1))
    t = tf.random.uniform([n])
    x_t = (1.0 - t[:, None]) * x0 + t[:, None] * x1
    return tf.reduce_mean(tf.square(velocity_net([x_t, t, labels], training=True) - (x1 - x0)))


def euler_sample(velocity, x0, steps):
    x, dt = x0, 1.0 / steps
    for k in range(steps):
        x = x + dt * velocity(x, k * dt)
    return x


def heun_sample(velocity, x0, steps):
    x, dt = x0, 1.0 / steps
    for k in range(steps):
        v = velocity(x, k * dt)
        v_end = velocity(x + dt * v, (k + 1) * dt)
        x = x + dt * (v + v_end) / 2
    return x


def guided_velocity(velocity_net, x_t, t, labels, scale):
    conditional = velocity_net([x_t, t, labels], training=False)
    unconditional = velocity_net([x_t, t, tf.fill(tf.shape(labels), NULL_LABEL)], training=False)
    return unconditional + scale * (conditional - unconditional)


def test_the_solutions_pass(capsys):
    checks.check_dequantize_logit(dequantize_logit)
    checks.check_affine_coupling(AffineCoupling)
    checks.check_bits_per_dim(bits_per_dim)
    checks.check_flow_matching_loss(flow_matching_loss)
    checks.check_euler_sample(euler_sample)
    checks.check_heun_sample(heun_sample)
    checks.check_guided_velocity(guided_velocity)
    assert capsys.readouterr().out.count("PASSED") == 7


# --- the references ------------------------------------------------------------------------------


def test_logit_reference_log_det_matches_the_derivative():
    """The log-det of the reference is the log of the numerical derivative dz/dv, summed per image."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(2, 2, 2, 1)).astype(float)
    u = rng.uniform(size=x.shape)
    z, log_det = checks.logit_reference(x, u, 0.05)
    h = 1e-6
    z_moved, _ = checks.logit_reference(x, u + h, 0.05)
    derivative = (z_moved - z) / h
    np.testing.assert_allclose(np.log(derivative).reshape(2, -1).sum(axis=1), log_det, rtol=1e-5)


def test_bits_per_dim_reference_of_a_standard_normal():
    """z standard normal with log_det 0 has the entropy of N(0, 1) per value: about 2.05 bits."""
    z = np.random.default_rng(1).normal(size=(20000, 1))
    assert checks.bits_per_dim_reference(z, np.zeros(20000)) == pytest.approx(0.5 * np.log2(2 * np.pi * np.e), abs=0.02)


def test_heun_is_exact_for_a_velocity_linear_in_t():
    """v = 2t does not depend on x: Heun's trapezoid rule integrates it exactly, x(1) = x0 + 1."""
    x0 = np.zeros(3)
    np.testing.assert_allclose(checks.heun_reference(lambda x, t: 2 * t + 0 * x, x0, 3), x0 + 1.0)
    assert not np.allclose(checks.euler_reference(lambda x, t: 2 * t + 0 * x, x0, 3), x0 + 1.0)


def test_the_masks_are_complementary():
    for make in (checks.checkerboard_mask, checks.channel_mask):
        np.testing.assert_array_equal(make(4, 4, 4, 0) + make(4, 4, 4, 1), np.ones((4, 4, 4)))


def test_zero_scale_factor_and_zero_last_convolution_is_named():
    """The brief's measured mistake: both zero at the start, the scales can never leave zero."""

    class Stuck(AffineCoupling):
        def __init__(self, mask, **kwargs):
            super().__init__(mask, **kwargs)
            self.scale.assign(tf.zeros_like(self.scale))

    with pytest.raises(CheckFailed, match="zero gradient"):
        checks.check_affine_coupling(Stuck)
