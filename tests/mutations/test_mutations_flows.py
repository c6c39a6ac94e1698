"""Chapter 15's checks against wrong answers a learner writes, and correct answers written differently."""

import math

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import flows as checks
from tests.mutations.harness import check_tests

NULL_LABEL = checks.NULL_LABEL
LOG_256 = math.log(256.0)


# --- exercise 1: dequantize_logit ----------------------------------------------------------------


def logit_with(divisor=256.0, noise=True, squeeze=True, scaling_term=True, squeeze_term=True,
               one_minus_term=True, sign=1.0, reduce=tf.reduce_sum, axis=(1, 2, 3)):
    """A dequantize_logit a learner writes, with one choice varied."""
    def dequantize_logit(x, u, alpha):
        y = ((x + u) if noise else x) / divisor
        s = alpha + (1.0 - 2.0 * alpha) * y if squeeze else y
        z = tf.math.log(s) - tf.math.log(1.0 - s)
        per_value = -tf.math.log(s)
        if one_minus_term:
            per_value -= tf.math.log(1.0 - s)
        if squeeze_term:
            per_value += math.log(1.0 - 2.0 * alpha)
        if scaling_term:
            per_value -= math.log(divisor)
        return z, sign * reduce(per_value, axis=list(axis)) if axis else sign * reduce(per_value)
    return dequantize_logit


def logit_with_logit_sign_flipped(x, u, alpha):
    s = alpha + (1.0 - 2.0 * alpha) * (x + u) / 256.0
    per_value = math.log(1.0 - 2.0 * alpha) - LOG_256 + tf.math.log(s) + tf.math.log(1.0 - s)
    return tf.math.log(s / (1.0 - s)), tf.reduce_sum(per_value, axis=[1, 2, 3])


LOGIT_MISTAKES = {
    "no_dequantisation_noise": (logit_with(noise=False), "does not depend on the noise u"),
    "divide_by_255": (logit_with(divisor=255.0), "divide by 255"),
    "no_squeeze": (logit_with(squeeze=False, squeeze_term=False), "squeeze y into"),
    "no_scaling_term": (logit_with(scaling_term=False), "misses the scaling"),
    "no_squeeze_term": (logit_with(squeeze_term=False), "log\\(1 - 2 alpha\\)"),
    "no_one_minus_s_term": (logit_with(one_minus_term=False), "-log\\(1 - s\\) term"),
    "whole_sign_flipped": (logit_with(sign=-1.0), "wrong sign"),
    "logit_sign_flipped": (logit_with_logit_sign_flipped, "logit's log-determinant has the wrong sign"),
    "mean_over_values": (logit_with(reduce=tf.reduce_mean), "SUM over all"),
    "summed_over_the_batch": (logit_with(axis=()), "one number per image"),
    "not_summed": (lambda x, u, a: (logit_with()(x, u, a)[0], tf.zeros_like(x)), "one number per image"),
    "returns_z_only": (lambda x, u, a: logit_with()(x, u, a)[0], "2 things"),
}


def logit_with_sigmoid_inverse(x, u, alpha):
    """The log-det from log sigmoid: -log s - log(1 - s) = softplus(z) + softplus(-z)."""
    s = alpha + (1.0 - 2.0 * alpha) * (x + u) / 256.0
    z = tf.math.log(s) - tf.math.log1p(-s)
    per_value = tf.nn.softplus(z) + tf.nn.softplus(-z) + tf.math.log(1.0 - 2.0 * alpha) - tf.math.log(256.0)
    return z, tf.reduce_sum(tf.reshape(per_value, [tf.shape(x)[0], -1]), axis=1)


def logit_in_numpy_with_constant_terms(x, u, alpha):
    x, u = np.asarray(x, np.float64), np.asarray(u, np.float64)
    s = alpha + (1 - 2 * alpha) * (x + u) / 256
    dims = np.prod(x.shape[1:])
    log_det = dims * (np.log1p(-2 * alpha) - np.log(256)) - np.sum(np.log(s * (1 - s)), axis=(1, 2, 3))
    return np.log(s / (1 - s)), log_det


test_logit_mistake_is_rejected, test_logit_written_differently_is_accepted = check_tests(
    checks.check_dequantize_logit, LOGIT_MISTAKES,
    [logit_with(), logit_with_sigmoid_inverse, logit_in_numpy_with_constant_terms])


# --- exercise 2: AffineCoupling ------------------------------------------------------------------


def coupling_with(scale_init="ones", last_init="zeros", condition_on_mask=True, transform_kept=False,
                  log_det=lambda s, mask: tf.reduce_sum(s * (1.0 - mask), axis=[1, 2, 3]),
                  inverse=lambda y, s, t: (y - t) * tf.exp(-s)):
    """An AffineCoupling class a learner writes, with one choice varied."""

    class AffineCoupling(keras.layers.Layer):
        def __init__(self, mask, hidden=64, **kwargs):
            super().__init__(**kwargs)
            self.mask = tf.constant(mask, tf.float32)
            channels = mask.shape[-1]
            self.net = keras.Sequential([
                keras.layers.Conv2D(hidden, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(hidden, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(2 * channels, 3, padding="same", kernel_initializer=last_init),
            ])
            self.scale = self.add_weight(shape=(channels,), initializer=scale_init, name="scale")

        def _s_t(self, x):
            seen = x * self.mask if condition_on_mask else x
            raw, shift = tf.split(self.net(seen), 2, axis=-1)
            return self.scale * tf.tanh(raw), shift

        def forward(self, x):
            s, t = self._s_t(x)
            kept = (1.0 - self.mask) if transform_kept else self.mask
            y = kept * x + (1.0 - kept) * (x * tf.exp(s) + t)
            return y, log_det(s, self.mask)

        def inverse(self, y):
            s, t = self._s_t(y)
            return self.mask * y + (1.0 - self.mask) * inverse(y, s, t)

    return AffineCoupling


class CouplingThatRebuildsItsNet(coupling_with()):
    """Builds a new network at every call: its weights are never tracked."""

    def __init__(self, mask, hidden=64, **kwargs):
        keras.layers.Layer.__init__(self, **kwargs)
        self.mask = tf.constant(mask, tf.float32)
        self.channels = mask.shape[-1]

    def _s_t(self, x):
        net = keras.layers.Conv2D(2 * self.channels, 3, padding="same")
        raw, shift = tf.split(net(x * self.mask), 2, axis=-1)
        return tf.tanh(raw), shift


COUPLING_MISTAKES = {
    "scale_and_last_conv_zero": (coupling_with(scale_init="zeros"), "zero gradient"),
    "conditions_on_everything": (coupling_with(condition_on_mask=False), "depend on the part the layer transforms"),
    "transforms_the_kept_part": (coupling_with(transform_kept=True), "changes"),
    "log_det_sign": (coupling_with(log_det=lambda s, m: -tf.reduce_sum(s * (1.0 - m), axis=[1, 2, 3])),
                     "wrong sign"),
    "log_det_counts_the_kept_part": (coupling_with(log_det=lambda s, m: tf.reduce_sum(s, axis=[1, 2, 3])),
                                     "mask is 1 add nothing"),
    "log_det_mean": (coupling_with(log_det=lambda s, m: tf.reduce_mean(s * (1.0 - m), axis=[1, 2, 3])), "average"),
    "log_det_of_exp": (coupling_with(log_det=lambda s, m: tf.reduce_sum(tf.exp(s) * (1.0 - m), axis=[1, 2, 3])),
                       "sums exp\\(s\\)"),
    "log_det_over_the_batch": (coupling_with(log_det=lambda s, m: tf.reduce_sum(s * (1.0 - m))),
                               "one number per example"),
    "inverse_multiplies": (coupling_with(inverse=lambda y, s, t: (y - t) * tf.exp(s)), "DIVIDING"),
    "inverse_wrong_order": (coupling_with(inverse=lambda y, s, t: y * tf.exp(-s) - t), "wrong order"),
    "inverse_adds_shift": (coupling_with(inverse=lambda y, s, t: (y + t) * tf.exp(-s)), "subtracts it"),
    "weights_not_tracked": (CouplingThatRebuildsItsNet, "no trainable weights"),
}


class CouplingWithSplitChannels(keras.layers.Layer):
    """The same layer written with two networks (one for s, one for t) and a free log-scale, no tanh."""

    def __init__(self, mask, hidden=32, **kwargs):
        super().__init__(**kwargs)
        self.b = tf.constant(mask, tf.float32)
        channels = mask.shape[-1]
        self.s_net = keras.Sequential([keras.layers.Conv2D(hidden, 3, padding="same", activation="tanh"),
                                       keras.layers.Conv2D(channels, 3, padding="same")])
        self.t_net = keras.Sequential([keras.layers.Conv2D(hidden, 3, padding="same", activation="relu"),
                                       keras.layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros")])

    def forward(self, x):
        s = self.s_net(self.b * x) * (1 - self.b)
        t = self.t_net(self.b * x) * (1 - self.b)
        return self.b * x + (1 - self.b) * (x * tf.exp(s) + t), tf.reduce_sum(tf.reshape(s, [tf.shape(x)[0], -1]), 1)

    def inverse(self, y):
        s = self.s_net(self.b * y) * (1 - self.b)
        t = self.t_net(self.b * y) * (1 - self.b)
        return self.b * y + (1 - self.b) * (y - t) / tf.exp(s)


test_coupling_mistake_is_rejected, test_coupling_written_differently_is_accepted = check_tests(
    checks.check_affine_coupling, COUPLING_MISTAKES,
    [coupling_with(), coupling_with(scale_init="zeros", last_init="glorot_uniform"), CouplingWithSplitChannels])


# --- exercise 3: bits_per_dim --------------------------------------------------------------------


def bits_with(log_base=math.log(2.0), per_dim=True, log_det_sign=1.0, constant=True, reduce=tf.reduce_mean,
              sign=1.0, extra_divisor=None):
    """A bits_per_dim a learner writes, with one choice varied."""
    def bits_per_dim(z, log_det):
        dims = float(np.prod(z.shape[1:]))
        per_value = -0.5 * tf.square(z) - (0.5 * math.log(2 * math.pi) if constant else 0.0)
        log_likelihood = tf.reduce_sum(per_value, axis=[1, 2, 3]) + log_det_sign * log_det
        value = sign * reduce(-log_likelihood) / log_base
        value = value / dims if per_dim else value
        return value / tf.cast(tf.shape(z)[0], tf.float32) if extra_divisor else value
    return bits_per_dim


BITS_MISTAKES = {
    "nats": (bits_with(log_base=1.0), "nats per dimension"),
    "per_image": (bits_with(per_dim=False), "bits per IMAGE"),
    "log_det_sign": (bits_with(log_det_sign=-1.0), "log_det has the wrong sign"),
    "no_log_det": (bits_with(log_det_sign=0.0), "log_det is missing"),
    "no_constant": (bits_with(constant=False), "constant of the Gaussian"),
    "sum_over_batch": (bits_with(reduce=tf.reduce_sum), "sum over the batch"),
    "divided_by_batch_twice": (bits_with(extra_divisor=True), "batch size as well"),
    "log10": (bits_with(log_base=math.log(10.0)), "log\\(10\\)"),
    "log_likelihood_not_negated": (bits_with(sign=-1.0), "NEGATIVE log-likelihood"),
    "per_example": (lambda z, ld: -(tf.reduce_sum(-0.5 * z**2 - 0.919, axis=[1, 2, 3]) + ld) / (32 * math.log(2.0)),
                    "one number"),
}


def bits_with_tfp_style_normal(z, log_det):
    flat = tf.reshape(z, [tf.shape(z)[0], -1])
    log_prior = tf.reduce_sum(-0.5 * (flat**2 + tf.math.log(2.0 * math.pi)), axis=1)
    nats = -tf.reduce_mean(log_prior + log_det)
    return nats / tf.cast(tf.shape(flat)[1], tf.float32) / tf.math.log(2.0)


def bits_in_log2_units(z, log_det):
    dims = int(np.prod(z.shape[1:]))
    bits_prior = tf.reduce_sum(-0.5 * tf.square(z) / math.log(2.0) - 0.5 * math.log2(2 * math.pi), axis=[1, 2, 3])
    return -tf.reduce_mean(bits_prior + log_det / math.log(2.0)) / dims


test_bits_mistake_is_rejected, test_bits_written_differently_is_accepted = check_tests(
    checks.check_bits_per_dim, BITS_MISTAKES, [bits_with(), bits_with_tfp_style_normal, bits_in_log2_units])


# --- exercise 4: flow_matching_loss --------------------------------------------------------------


def fm_loss_with(path="straight", target="velocity", t_draw=None, noise=tf.random.normal, reduce=tf.reduce_mean,
                 squared=True, t_to_net=lambda t: t, labels_to=None, training=True):
    """A flow_matching_loss a learner writes, with one choice varied."""
    def flow_matching_loss(velocity_net, x1, labels):
        n = tf.shape(x1)[0]
        x0 = noise(tf.shape(x1))
        t = tf.random.uniform([n]) if t_draw is None else t_draw(n)
        tc = t[:, None]
        x_t = (1 - tc) * x0 + tc * x1 if path == "straight" else tc * x0 + (1 - tc) * x1
        wanted = {"velocity": x1 - x0, "minus": x0 - x1, "data": x1, "noise": x0}[target]
        given = labels if labels_to is None else tf.fill(tf.shape(labels), labels_to)
        error = velocity_net([x_t, t_to_net(t), given], training=training) - wanted
        return reduce(tf.square(error) if squared else tf.abs(error))
    return flow_matching_loss


def fm_loss_with_numpy_draws(velocity_net, x1, labels):
    n = x1.shape[0]
    x0 = np.random.normal(size=x1.shape).astype("float32")
    t = np.random.uniform(size=n).astype("float32")
    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
    return tf.reduce_mean(tf.square(velocity_net([x_t, t, labels], training=True) - (x1 - x0)))


FM_LOSS_MISTAKES = {
    "target_sign": (fm_loss_with(target="minus"), "wrong sign"),
    "target_data": (fm_loss_with(target="data"), "target is the data"),
    "target_noise": (fm_loss_with(target="noise"), "target is the noise"),
    "path_reversed": (fm_loss_with(path="reversed"), "wrong way"),
    "one_t_for_the_batch": (fm_loss_with(t_draw=lambda n: tf.fill([n], tf.random.uniform([]))), "same t"),
    "t_normal": (fm_loss_with(t_draw=lambda n: tf.random.normal([n])), "runs from"),
    "t_in_steps": (fm_loss_with(t_draw=lambda n: tf.random.uniform([n], 0, 1000.0)), "runs from"),
    "t_not_uniform": (fm_loss_with(t_draw=lambda n: tf.random.uniform([n]) ** 2), "UNIFORMLY"),
    "uniform_noise": (fm_loss_with(noise=tf.random.uniform), "standard normal"),
    "summed": (fm_loss_with(reduce=tf.reduce_sum), "SUM"),
    "absolute": (fm_loss_with(squared=False), "ABSOLUTE"),
    "t_column_to_net": (fm_loss_with(t_to_net=lambda t: t[:, None]), "one time per example"),
    "labels_dropped": (fm_loss_with(labels_to=NULL_LABEL), "did not get the labels"),
    "inference_mode": (fm_loss_with(training=False), "training=True"),
    "numpy_draws": (fm_loss_with_numpy_draws, "NumPy"),
}


def fm_loss_with_keras(velocity_net, x1, labels):
    x0 = keras.random.normal(keras.ops.shape(x1))
    t = keras.random.uniform((keras.ops.shape(x1)[0], 1))
    x_t = x0 + t * (x1 - x0)
    predicted = velocity_net([x_t, keras.ops.squeeze(t, 1), labels], training=True)
    return keras.losses.MeanSquaredError()(x1 - x0, predicted)


def fm_loss_with_reshape(velocity_net, x1, labels):
    noise = tf.random.normal(tf.shape(x1))
    t = tf.random.uniform(tf.shape(x1)[:1], 0.0, 1.0)
    t_wide = tf.reshape(t, [-1] + [1] * (len(x1.shape) - 1))
    predicted = velocity_net([t_wide * x1 + (1 - t_wide) * noise, t, labels], training=True)
    return tf.reduce_mean(tf.math.squared_difference(predicted, x1 - noise))


test_fm_loss_mistake_is_rejected, test_fm_loss_written_differently_is_accepted = check_tests(
    checks.check_flow_matching_loss, FM_LOSS_MISTAKES, [fm_loss_with(), fm_loss_with_keras, fm_loss_with_reshape])


# --- exercise 5: euler_sample and heun_sample ----------------------------------------------------


def euler_with(n_steps=lambda s: s, at=lambda k, dt: k * dt, sign=1.0, trajectory=False, backwards=False):
    """An euler_sample a learner writes, with one choice varied."""
    def euler_sample(velocity, x0, steps):
        x, dt, path = x0, 1.0 / steps, [x0]
        for k in range(n_steps(steps)):
            if backwards:
                x = x - dt * velocity(x, 1.0 - k * dt)
            else:
                x = x + sign * dt * velocity(x, at(k, dt))
            path.append(x)
        return tf.stack(path) if trajectory else x
    return euler_sample


EULER_MISTAKES = {
    "one_step_too_many": (euler_with(n_steps=lambda s: s + 1), "for steps="),
    "one_step_too_few": (euler_with(n_steps=lambda s: s - 1), "for steps="),
    "backwards_in_time": (euler_with(backwards=True), "from t = 1 down to 0"),
    "against_the_velocity": (euler_with(sign=-1.0), "against the velocity"),
    "end_of_step_time": (euler_with(at=lambda k, dt: (k + 1) * dt), "END of each step"),
    "time_frozen": (euler_with(at=lambda k, dt: 0.0), "never advances"),
    "returns_trajectory": (euler_with(trajectory=True), "not the whole trajectory"),
    "linspace_grid": (lambda v, x0, steps: euler_with(at=lambda k, dt: k / max(steps - 1, 1))(v, x0, steps),
                      "differs from the reference"),
}


def euler_with_linspace(velocity, x0, steps):
    times = np.linspace(0.0, 1.0, steps + 1)
    x = x0
    for t, t_next in zip(times[:-1], times[1:]):
        x = x + (t_next - t) * velocity(x, float(t))
    return x


def euler_in_numpy(velocity, x0, steps):
    x = np.asarray(x0, np.float64)
    for k in range(steps):
        x = x + np.asarray(velocity(x, k / steps)) / steps
    return x


test_euler_mistake_is_rejected, test_euler_written_differently_is_accepted = check_tests(
    checks.check_euler_sample, EULER_MISTAKES, [euler_with(), euler_with_linspace, euler_in_numpy])


def heun_with(mix=lambda v1, v2: (v1 + v2) / 2, second_at=lambda t, dt: t + dt, n_steps=lambda s: s,
              sign=1.0, predictor_dt=lambda dt: dt):
    """A heun_sample a learner writes, with one choice varied."""
    def heun_sample(velocity, x0, steps):
        x, dt = x0, 1.0 / steps
        for k in range(n_steps(steps)):
            t = k * dt
            v1 = sign * velocity(x, t)
            v2 = sign * velocity(x + predictor_dt(dt) * v1, second_at(t, dt))
            x = x + dt * mix(v1, v2)
        return x
    return heun_sample


HEUN_MISTAKES = {
    "euler_only": (euler_with(), "Euler's method"),
    "sum_not_mean": (heun_with(mix=lambda v1, v2: v1 + v2), "added, not averaged"),
    "end_velocity_only": (heun_with(mix=lambda v1, v2: v2), "end point's velocity alone"),
    "second_at_same_time": (heun_with(second_at=lambda t, dt: t), "read at time t"),
    "one_step_too_many": (heun_with(n_steps=lambda s: s + 1), "for steps="),
    "against_the_velocity": (heun_with(sign=-1.0), "against the velocity"),
    "half_step_predictor": (heun_with(predictor_dt=lambda dt: dt / 2, second_at=lambda t, dt: t + dt / 2),
                            "differs from the reference"),
}


def heun_as_predictor_corrector(velocity, x0, steps):
    dt = 1.0 / steps
    x = x0
    for k in range(steps):
        slope = velocity(x, k * dt)
        predicted = x + dt * slope
        x = 0.5 * (x + predicted + dt * velocity(predicted, (k + 1) * dt))
    return x


def heun_with_linspace(velocity, x0, steps):
    times = np.linspace(0.0, 1.0, steps + 1)
    x = x0
    for t, t_next in zip(times[:-1], times[1:]):
        h = t_next - t
        k1 = velocity(x, t)
        k2 = velocity(x + h * k1, t_next)
        x = x + h / 2 * (k1 + k2)
    return x


test_heun_mistake_is_rejected, test_heun_written_differently_is_accepted = check_tests(
    checks.check_heun_sample, HEUN_MISTAKES, [heun_with(), heun_as_predictor_corrector, heun_with_linspace])


# --- exercise 6: guided_velocity -----------------------------------------------------------------


def guidance_with(mix, null=NULL_LABEL):
    """A guided_velocity that runs both branches and mixes them with ``mix(cond, uncond, scale)``."""
    def guided_velocity(velocity_net, x_t, t, labels, scale):
        conditional = velocity_net([x_t, t, labels], training=False)
        unconditional = velocity_net([x_t, t, tf.fill(tf.shape(labels), null)], training=False)
        return mix(conditional, unconditional, scale)
    return guided_velocity


GUIDANCE_MISTAKES = {
    "wrong_branch": (guidance_with(lambda c, u, s: c + s * (u - c)), "wrong branch"),
    "one_plus_w": (guidance_with(lambda c, u, s: (1 + s) * c - s * u), "w = scale - 1"),
    "no_subtraction": (guidance_with(lambda c, u, s: u + s * c), "not subtracted"),
    "scaled_conditional_only": (guidance_with(lambda c, u, s: s * c), "unconditional velocity is missing"),
    "label_zero_as_null": (guidance_with(lambda c, u, s: u + s * (c - u), null=0), "'no label' class"),
    "conditional_only": (guidance_with(lambda c, u, s: c), "conditional velocity alone"),
    "unconditional_only": (guidance_with(lambda c, u, s: u), "unconditional velocity alone"),
    "labels_to_the_unconditional_branch": (
        lambda net, x_t, t, labels, s: (lambda c, u: u + s * (c - u))(net([x_t, t, labels], training=False),
                                                                       net([x_t, t, labels], training=False)),
        "both predictions got the requested labels"),
    "only_unconditional_call": (lambda net, x, t, labels, s: net([x, t, tf.fill(tf.shape(labels), NULL_LABEL)]),
                                "never got the requested labels"),
    "not_split": (lambda net, x, t, labels, s: net(
        [tf.concat([x, x], 0), tf.concat([t, t], 0), tf.concat([labels, tf.fill(tf.shape(labels), NULL_LABEL)], 0)]),
                  "split it back"),
}


def guidance_in_one_batch(velocity_net, x_t, t, labels, scale):
    """Both branches in one call of twice the batch, as samplers do to save time."""
    n = tf.shape(x_t)[0]
    both = velocity_net([tf.concat([x_t, x_t], 0), tf.concat([t, t], 0),
                         tf.concat([labels, tf.fill([n], NULL_LABEL)], 0)], training=False)
    conditional, unconditional = both[:n], both[n:]
    return unconditional + scale * (conditional - unconditional)


test_guidance_mistake_is_rejected, test_guidance_written_differently_is_accepted = check_tests(
    checks.check_guided_velocity, GUIDANCE_MISTAKES,
    [guidance_with(lambda c, u, s: u + s * (c - u)), guidance_with(lambda c, u, s: (1 - s) * u + s * c),
     guidance_in_one_batch])
