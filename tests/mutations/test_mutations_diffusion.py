"""Chapter 11's checks against wrong answers a learner writes, and correct answers written differently."""

import numpy as np
import tensorflow as tf

from course_utils.checks import diffusion as checks
from tests.mutations.harness import check_tests

NULL_LABEL = checks.NULL_LABEL


def per_example(values, t, like):
    """values[t] for each example, shaped (N, 1, ...) to broadcast over the examples ``like`` (the notebook's helper)."""
    return tf.reshape(tf.gather(values, t), [-1] + [1] * (len(like.shape) - 1))


def for_images_only(values, t, like):
    """values[t] shaped (N, 1, 1, 1), as the old prose asked: right for images, wrong for latent codes (N, 32)."""
    return tf.reshape(tf.gather(values, t), [-1, 1, 1, 1])


# --- exercise 1: add_noise -----------------------------------------------------------------------


def noise_with(signal, spread, index_shift=0, key="alpha_bars"):
    """An add_noise that scales x0 by signal(a) and the noise by spread(a), a = schedule[key][t + shift]."""
    def add_noise(x0, t, noise, schedule):
        a = per_example(schedule[key], t + index_shift, x0)
        return signal(a) * x0 + spread(a) * noise
    return add_noise


ADD_NOISE_MISTAKES = {
    "alpha_for_alpha_bar": (noise_with(tf.sqrt, lambda a: tf.sqrt(1 - a), key="alphas"), "alpha_t where alpha-bar_t"),
    "no_square_roots": (noise_with(lambda a: a, lambda a: 1 - a), "square roots are missing"),
    "variance_on_the_noise": (noise_with(tf.sqrt, lambda a: 1 - a), "noise's factor is missing"),
    "swapped": (noise_with(lambda a: tf.sqrt(1 - a), tf.sqrt), "swapped"),
    "x0_not_scaled": (noise_with(lambda a: 1.0, lambda a: tf.sqrt(1 - a)), "x0 is not scaled"),
    "t_minus_one": (noise_with(tf.sqrt, lambda a: tf.sqrt(1 - a), index_shift=-1), "off by one"),
    "t_plus_one": (lambda x0, t, noise, s: noise_with(tf.sqrt, lambda a: tf.sqrt(1 - a))(
        x0, tf.minimum(t + 1, 8), noise, s), "off by one"),
    "no_reshape": (lambda x0, t, noise, s: tf.sqrt(tf.gather(s["alpha_bars"], t)) * x0
                   + tf.sqrt(1 - tf.gather(s["alpha_bars"], t)) * noise, "\\(N, 1, 1, 1\\)"),
    "forgot_return": (lambda x0, t, noise, s: None, "returned None"),
    "one_t_for_all": (lambda x0, t, noise, s: np.sqrt(s["alpha_bars"][5]) * x0
                      + np.sqrt(1 - s["alpha_bars"][5]) * noise, r"same step \(5\).*its own t"),
    "own_noise_drawn": (lambda x0, t, noise, s: noise_with(tf.sqrt, lambda a: tf.sqrt(1 - a))(
        x0, t, tf.random.normal(tf.shape(x0)), s), "draws noise of its own. Use the `noise`"),
    # The old prose's instruction, word for word: passes on images, breaks section 5's latent codes.
    "reshaped_for_images_only": (lambda x0, t, noise, s: tf.sqrt(for_images_only(s["alpha_bars"], t, x0)) * x0
                                 + tf.sqrt(1 - for_images_only(s["alpha_bars"], t, x0)) * noise,
                                 r"latent codes of shape \(10, 32\).*\(N, 1\) for latent codes"),
    "indexed_with_None_for_images": (lambda x0, t, noise, s: add_noise_in_numpy_for_images(x0, t, noise, s),
                                     "latent codes"),
    "einsum_over_image_axes": (lambda x0, t, noise, s: tf.einsum("n,nhwc->nhwc", tf.sqrt(tf.gather(s["alpha_bars"], t)), x0)
                               + tf.einsum("n,nhwc->nhwc", tf.sqrt(1 - tf.gather(s["alpha_bars"], t)), noise),
                               "latent codes.*Section 5"),
    "tensor_only_method": (lambda x0, t, noise, s: tf.sqrt(per_example(s["alpha_bars"], t, x0)) * x0
                           + tf.sqrt(1 - per_example(s["alpha_bars"], t, x0)) * noise.numpy(), "NumPy arrays"),
}


def add_noise_in_numpy_for_images(x0, t, noise, schedule):
    alpha_bar = schedule["alpha_bars"][np.asarray(t)][:, None, None, None]
    return np.sqrt(alpha_bar) * np.asarray(x0) + np.sqrt(1 - alpha_bar) * np.asarray(noise)


def add_noise_in_numpy(x0, t, noise, schedule):
    x0 = np.asarray(x0)
    alpha_bar = schedule["alpha_bars"][np.asarray(t)].reshape((-1,) + (1,) * (x0.ndim - 1))
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1 - alpha_bar) * np.asarray(noise)


def add_noise_with_keras_ops(x0, t, noise, schedule):
    import keras
    alpha_bar = keras.ops.take(keras.ops.convert_to_tensor(schedule["alpha_bars"]), t)
    alpha_bar = keras.ops.reshape(alpha_bar, (-1,) + (1,) * (keras.ops.ndim(x0) - 1))
    return keras.ops.sqrt(alpha_bar) * x0 + keras.ops.sqrt(1.0 - alpha_bar) * noise


def add_noise_by_einsum(x0, t, noise, schedule):
    alpha_bar = tf.gather(schedule["alpha_bars"], t)
    return tf.einsum("n,n...->n...", tf.sqrt(alpha_bar), x0) + tf.einsum("n,n...->n...", tf.sqrt(1 - alpha_bar), noise)


def add_noise_by_transposing(x0, t, noise, schedule):
    """Broadcasting over the LAST axis after moving the batch axis there, then back."""
    alpha_bar = tf.gather(schedule["alpha_bars"], t)
    moved = [tf.experimental.numpy.moveaxis(v, 0, -1) for v in (x0, noise)]
    return tf.experimental.numpy.moveaxis(tf.sqrt(alpha_bar) * moved[0] + tf.sqrt(1 - alpha_bar) * moved[1], -1, 0)


test_add_noise_mistake_is_rejected, test_add_noise_written_differently_is_accepted = check_tests(
    checks.check_add_noise, ADD_NOISE_MISTAKES,
    [add_noise_in_numpy, add_noise_with_keras_ops, add_noise_by_einsum, add_noise_by_transposing])


# --- exercise 2: diffusion_loss ------------------------------------------------------------------


def loss_with(low=1, high_extra=1, target="noise", reduce=tf.reduce_mean, squared=True, noising=None,
              label_to=None, training=True, one_t=False, draw_noise=tf.random.normal, noise_shape=tf.shape,
              noising_factor=per_example, draw_t=None):
    """A diffusion_loss a learner writes, with one choice varied."""
    def diffusion_loss(denoiser, x0, labels, schedule):
        n = tf.shape(x0)[0]
        big_t = len(schedule["alpha_bars"]) - 1
        if draw_t is not None:
            t = draw_t(x0, big_t)
        elif one_t:
            t = tf.fill([n], tf.random.uniform([], low, big_t + high_extra, dtype=tf.int32))
        else:
            t = tf.random.uniform([n], low, big_t + high_extra, dtype=tf.int32)
        noise = draw_noise(noise_shape(x0))
        a = noising_factor(schedule["alpha_bars"], t, x0)
        x_t = tf.sqrt(a) * x0 + tf.sqrt(1 - a) * noise if noising is None else noising(x0, t, noise, schedule)
        given = labels if label_to is None else tf.fill(tf.shape(labels), label_to)
        predicted = denoiser([x_t, t, given], training=training)
        wanted = {"noise": noise, "x0": x0, "x_t": x_t}[target]
        error = tf.square(wanted - predicted) if squared else tf.abs(wanted - predicted)
        return reduce(error)
    return diffusion_loss


def separate_arguments(denoiser, x0, labels, schedule):
    t = tf.random.uniform([tf.shape(x0)[0]], 1, len(schedule["alpha_bars"]), dtype=tf.int32)
    noise = tf.random.normal(tf.shape(x0))
    return tf.reduce_mean(tf.square(noise - denoiser(x0 + noise, t, labels)))


LOSS_MISTAKES = {
    "t_from_zero": (loss_with(low=0, high_extra=0), "off by one"),
    "t_never_T": (loss_with(high_extra=0), "never reaches T"),
    "target_x0": (loss_with(target="x0"), "clean image x0"),
    "target_x_t": (loss_with(target="x_t"), "noisy x_t"),
    "summed": (loss_with(reduce=tf.reduce_sum), "SUM of squared errors"),
    "absolute_error": (loss_with(squared=False), "ABSOLUTE error"),
    "per_example_loss": (loss_with(reduce=lambda e: tf.reduce_mean(e, axis=(1, 2, 3))), "one number"),
    "alpha_for_alpha_bar": (loss_with(noising=noise_with(
        tf.sqrt, lambda a: tf.sqrt(1 - a), key="alphas")), "not sqrt\\(alpha-bar_t\\) x0"),
    "no_noise": (loss_with(noising=lambda x0, t, noise, s: x0), "not noisy"),
    "uniform_noise": (loss_with(draw_noise=tf.random.uniform), "standard normal"),
    "one_t_for_the_batch": (loss_with(one_t=True), "same t"),
    "labels_dropped_here": (loss_with(label_to=NULL_LABEL), "did not get the labels"),
    "inference_mode": (loss_with(training=False), "training=True"),
    "separate_arguments": (separate_arguments, "ONE list of three inputs"),
    "noise_shared_across_the_batch": (loss_with(noise_shape=lambda x0: tf.shape(x0)[1:]),
                                      "every example of the batch got the same noise"),
    "noise_one_value_per_example": (loss_with(noise_shape=lambda x0: [tf.shape(x0)[0]] + [1] * (len(x0.shape) - 1)),
                                    "all entries of an example got the same noise"),
    "noising_for_images_only": (loss_with(noising_factor=for_images_only), "latent codes"),
    "mean_over_image_axes": (loss_with(reduce=lambda e: tf.reduce_mean(tf.reduce_mean(e, axis=[1, 2, 3]))),
                             "latent codes"),
    "t_drawn_with_numpy": (loss_with(draw_t=lambda x0, big_t: tf.constant(
        np.random.randint(1, big_t + 1, size=x0.shape[0]), tf.int32)), "draws the same t at every call: NumPy"),
    "noise_drawn_with_numpy": (loss_with(draw_noise=lambda shape: tf.constant(
        np.random.normal(size=shape.numpy() if hasattr(shape, "numpy") else shape), tf.float32),
        noise_shape=lambda x0: tuple(x0.shape)), "draws the same noise at every call: NumPy"),
    "both_drawn_with_numpy": (loss_with(draw_noise=lambda shape: tf.constant(np.random.normal(size=shape), tf.float32),
                                        noise_shape=lambda x0: tuple(x0.shape),
                                        draw_t=lambda x0, big_t: tf.constant(
                                            np.random.randint(1, big_t + 1, size=x0.shape[0]), tf.int32)),
                              "draws the same t and noise at every call: NumPy"),
}


def loss_with_keras_mse(denoiser, x0, labels, schedule):
    import keras
    t = tf.random.uniform(tf.shape(x0)[:1], minval=1, maxval=schedule["alpha_bars"].shape[0], dtype=tf.int32)
    noise = tf.random.normal(tf.shape(x0))
    a = tf.gather(schedule["alpha_bars"], t)[(...,) + (None,) * (len(x0.shape) - 1)]
    predicted = denoiser([a**0.5 * x0 + (1 - a) ** 0.5 * noise, t, labels], training=True)
    return keras.losses.MeanSquaredError()(noise, predicted)


def loss_with_squared_difference(denoiser, x0, labels, schedule):
    big_t = schedule["alpha_bars"].size - 1
    t = 1 + tf.random.uniform([x0.shape[0]], 0, big_t, dtype=tf.int32)
    noise = tf.random.normal(x0.shape)
    a = per_example(schedule["alpha_bars"], t, x0)
    x_t = tf.sqrt(a) * x0 + tf.sqrt(1 - a) * noise
    return tf.reduce_mean(tf.math.squared_difference(denoiser([x_t, t, labels], training=True), noise))


test_loss_mistake_is_rejected, test_loss_written_differently_is_accepted = check_tests(
    checks.check_diffusion_loss, LOSS_MISTAKES, [loss_with(), loss_with_keras_mse, loss_with_squared_difference])


# --- exercise 3: ddpm_step -----------------------------------------------------------------------


def ddpm_with(divide_by="alpha", noise_factor_root=True, sigma="sqrt_beta", last_noise=False, shift=0, sign=-1):
    """A ddpm_step a learner writes, with one choice varied."""
    def ddpm_step(x_t, t, eps, z, schedule):
        s = t + shift
        beta, alpha, alpha_bar = (float(schedule[k][s]) for k in ("betas", "alphas", "alpha_bars"))
        scale = np.sqrt(alpha if divide_by == "alpha" else alpha_bar)
        factor = beta / (np.sqrt(1 - alpha_bar) if noise_factor_root else 1 - alpha_bar)
        mean = (x_t + sign * factor * eps) / scale
        std = {"sqrt_beta": np.sqrt(beta), "beta": beta, "none": 0.0}[sigma]
        return mean + std * z if (t > 1 or last_noise) else mean
    return ddpm_step


DDPM_MISTAKES = {
    "alpha_bar_for_alpha": (ddpm_with(divide_by="alpha_bar"), "where sqrt\\(alpha_t\\) belongs"),
    "missing_root_in_factor": (ddpm_with(noise_factor_root=False), "square root is missing"),
    "variance_as_std": (ddpm_with(sigma="beta"), "wrong variance"),
    "no_noise": (ddpm_with(sigma="none"), "no noise is added"),
    "noise_at_last_step": (ddpm_with(last_noise=True), "final step"),
    "t_minus_one": (ddpm_with(shift=-1), "off by one"),
    "plus_sign": (ddpm_with(sign=+1), "added instead of subtracted"),
    "random_z_inside": (lambda x_t, t, eps, z, s: ddpm_with()(x_t, t, eps, tf.random.normal(tf.shape(x_t)), s),
                        "draws noise of its own and ignores the `z`"),
    "z_as_numpy_draw": (lambda x_t, t, eps, z, s: ddpm_with()(x_t, t, eps, np.random.normal(size=x_t.shape), s),
                        "ignores the `z`"),
    "noise_reshaped_for_images": (lambda x_t, t, eps, z, s: ddpm_with()(x_t, t, eps, tf.reshape(z, [-1, 4, 4, 1]), s),
                                  "latent codes"),
}


def ddpm_through_predicted_x0(x_t, t, eps, z, schedule):
    """The posterior mean written with the predicted x0 (Ho et al., eq. 7) and variance beta_t."""
    beta, alpha, alpha_bar = (schedule[k][t] for k in ("betas", "alphas", "alpha_bars"))
    alpha_bar_prev = schedule["alpha_bars"][t - 1]
    x0 = (x_t - tf.sqrt(1 - alpha_bar) * eps) / tf.sqrt(alpha_bar)
    mean = (tf.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar) * x0
            + tf.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar) * x_t)
    return mean + tf.sqrt(beta) * z * tf.cast(t > 1, tf.float32)


def ddpm_with_posterior_variance(x_t, t, eps, z, schedule):
    beta, alpha_bar = schedule["betas"][t], schedule["alpha_bars"][t]
    variance = beta * (1 - schedule["alpha_bars"][t - 1]) / (1 - alpha_bar)
    return ddpm_with(sigma="none")(x_t, t, eps, z, schedule) + np.sqrt(variance) * z


test_ddpm_mistake_is_rejected, test_ddpm_written_differently_is_accepted = check_tests(
    checks.check_ddpm_step, DDPM_MISTAKES, [ddpm_with(), ddpm_through_predicted_x0, ddpm_with_posterior_variance])


# --- exercise 4: ddim_step -----------------------------------------------------------------------


def ddim_with(key="alpha_bars", root=np.sqrt, to=lambda t, t_prev: t_prev, x0_root=None, fresh=False,
              swap=False, shift=0):
    """A ddim_step a learner writes, with one choice varied."""
    def ddim_step(x_t, t, t_prev, eps, schedule):
        here, there = (t_prev, t) if swap else (t, to(t, t_prev))
        a, a_prev = float(schedule[key][here + shift]), float(schedule[key][there + shift])
        x0 = (x_t - (x0_root or root)(1 - a) * eps) / root(a)
        second = tf.random.normal(tf.shape(x_t)) if fresh else eps
        return root(a_prev) * x0 + root(1 - a_prev) * second
    return ddim_step


DDIM_MISTAKES = {
    "alpha_for_alpha_bar": (ddim_with(key="alphas"), "alpha_t where alpha-bar_t belongs"),
    "no_roots": (ddim_with(root=lambda v: v), "square roots are missing"),
    "no_root_in_x0": (ddim_with(x0_root=lambda v: v), "square root is missing in the predicted x0"),
    "t_minus_one": (ddim_with(to=lambda t, t_prev: t - 1), "instead of t_prev"),
    "swapped": (ddim_with(swap=True), "swapped"),
    "off_by_one": (ddim_with(shift=-1), "off by one"),
    "fresh_noise": (ddim_with(fresh=True), "no fresh noise"),
    "returns_x0": (lambda x_t, t, t_prev, eps, s: ddim_with()(x_t, t, 0, eps, s), "you return the predicted x0"),
}


def ddim_as_an_update(x_t, t, t_prev, eps, schedule):
    """The same step written as a rescaling of x_t plus a correction along eps."""
    a, a_prev = schedule["alpha_bars"][t], schedule["alpha_bars"][t_prev]
    ratio = np.sqrt(a_prev / a)
    return ratio * x_t + (np.sqrt(1 - a_prev) - ratio * np.sqrt(1 - a)) * eps


def ddim_in_tensorflow(x_t, t, t_prev, eps, schedule):
    alpha_bars = tf.constant(schedule["alpha_bars"])
    a, a_prev = alpha_bars[t], alpha_bars[t_prev]
    x0 = (x_t - tf.sqrt(1 - a) * eps) * tf.math.rsqrt(a)
    return tf.sqrt(a_prev) * x0 + tf.sqrt(1 - a_prev) * eps


test_ddim_mistake_is_rejected, test_ddim_written_differently_is_accepted = check_tests(
    checks.check_ddim_step, DDIM_MISTAKES, [ddim_with(), ddim_as_an_update, ddim_in_tensorflow])


# --- exercise 5: guided_noise --------------------------------------------------------------------


def guidance_with(mix, null=NULL_LABEL):
    """A guided_noise that runs both branches and mixes them with ``mix(cond, uncond, scale)``; the unconditional
    branch gets the label ``null`` everywhere (None: the requested labels, as the conditional one)."""
    def guided_noise(denoiser, x_t, t, labels, scale):
        conditional = denoiser([x_t, t, labels], training=False)
        unconditional = denoiser([x_t, t, labels if null is None else tf.fill(tf.shape(labels), null)], training=False)
        return mix(conditional, unconditional, scale)
    return guided_noise


GUIDANCE_MISTAKES = {
    "wrong_branch": (guidance_with(lambda c, u, s: c + s * (u - c)), "wrong branch"),
    "one_plus_w": (guidance_with(lambda c, u, s: (1 + s) * c - s * u), "w = scale - 1"),
    "no_subtraction": (guidance_with(lambda c, u, s: u + s * c), "not subtracted"),
    "scaled_conditional_only": (guidance_with(lambda c, u, s: s * c), "unconditional prediction is missing"),
    "label_zero_as_null": (guidance_with(lambda c, u, s: u + s * (c - u), null=0), "'no label' class"),
    "conditional_only": (guidance_with(lambda c, u, s: c), "conditional prediction alone"),
    "unconditional_only": (guidance_with(lambda c, u, s: u), "unconditional prediction alone"),
    "labels_to_the_unconditional_branch": (guidance_with(lambda c, u, s: u + s * (c - u), null=None),
                                           "both predictions got the requested labels"),
    "mix_shaped_for_images": (guidance_with(lambda c, u, s: tf.reshape(u + s * (c - u), [-1, 4, 4, 1])),
                              "latent codes"),
    "only_unconditional_call": (lambda d, x, t, labels, s: d([x, t, tf.fill(tf.shape(labels), NULL_LABEL)]),
                                "never got the requested labels"),
    "not_split": (lambda d, x, t, labels, s: d(
        [tf.concat([x, x], 0), tf.concat([t, t], 0), tf.concat([labels, tf.fill(tf.shape(labels), NULL_LABEL)], 0)]),
                  "split it back"),
}


def guidance_in_one_batch(denoiser, x_t, t, labels, scale):
    """Both branches in one call of twice the batch, as samplers do to save time."""
    n = tf.shape(x_t)[0]
    both = denoiser([tf.concat([x_t, x_t], 0), tf.concat([t, t], 0),
                     tf.concat([labels, tf.fill([n], NULL_LABEL)], 0)], training=False)
    conditional, unconditional = both[:n], both[n:]
    return unconditional + scale * (conditional - unconditional)


test_guidance_mistake_is_rejected, test_guidance_written_differently_is_accepted = check_tests(
    checks.check_guided_noise, GUIDANCE_MISTAKES, [guidance_with(lambda c, u, s: u + s * (c - u)),
                                    guidance_with(lambda c, u, s: (1 - s) * u + s * c), guidance_in_one_batch])
