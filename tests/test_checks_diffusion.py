"""Chapter 11's checks: the notebook's solutions pass, and each mistake a check names is named."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import diffusion as checks

NULL_LABEL = checks.NULL_LABEL


def at(values, t, like):
    """``values[t]`` per example, shaped to broadcast over the images ``like`` (as in the notebook)."""
    return tf.reshape(tf.gather(values, t), [-1] + [1] * (len(like.shape) - 1))


# --- the notebook's solutions --------------------------------------------------------------------


def add_noise(x0, t, noise, schedule):
    alpha_bar = at(schedule["alpha_bars"], t, x0)
    return tf.sqrt(alpha_bar) * x0 + tf.sqrt(1.0 - alpha_bar) * noise


def diffusion_loss(denoiser, x0, labels, schedule):
    n = tf.shape(x0)[0]
    t = tf.random.uniform([n], 1, len(schedule["alpha_bars"]), dtype=tf.int32)
    noise = tf.random.normal(tf.shape(x0))
    predicted = denoiser([add_noise(x0, t, noise, schedule), t, labels], training=True)
    return tf.reduce_mean(tf.square(noise - predicted))


def ddpm_step(x_t, t, predicted_noise, z, schedule):
    beta, alpha, alpha_bar = (float(schedule[key][t]) for key in ("betas", "alphas", "alpha_bars"))
    mean = (x_t - beta / np.sqrt(1.0 - alpha_bar) * predicted_noise) / np.sqrt(alpha)
    return mean + np.sqrt(beta) * z if t > 1 else mean


def ddim_step(x_t, t, t_prev, predicted_noise, schedule):
    alpha_bar, alpha_bar_prev = float(schedule["alpha_bars"][t]), float(schedule["alpha_bars"][t_prev])
    x0 = (x_t - np.sqrt(1.0 - alpha_bar) * predicted_noise) / np.sqrt(alpha_bar)
    return np.sqrt(alpha_bar_prev) * x0 + np.sqrt(1.0 - alpha_bar_prev) * predicted_noise


def guided_noise(denoiser, x_t, t, labels, scale):
    conditional = denoiser([x_t, t, labels], training=False)
    unconditional = denoiser([x_t, t, tf.fill(tf.shape(labels), NULL_LABEL)], training=False)
    return unconditional + scale * (conditional - unconditional)


def test_the_solutions_pass(capsys):
    checks.check_add_noise(add_noise)
    checks.check_diffusion_loss(diffusion_loss)
    checks.check_ddpm_step(ddpm_step)
    checks.check_ddim_step(ddim_step)
    checks.check_guided_noise(guided_noise)
    assert capsys.readouterr().out.count("PASSED") == 5


def test_the_toy_schedule_keeps_alpha_and_alpha_bar_apart():
    schedule = checks.toy_schedule()
    assert schedule["alpha_bars"][0] == 1.0 and schedule["betas"][0] == 0.0
    assert np.all(np.abs(schedule["alphas"][2:] - schedule["alpha_bars"][2:]) > 0.04)


def rejected(check, answer):
    with pytest.raises(CheckFailed) as failure:
        check(answer)
    return str(failure.value)


# --- each named mistake is named -----------------------------------------------------------------


def test_add_noise_names_alpha_for_alpha_bar():
    def wrong(x0, t, noise, schedule):
        alpha = at(schedule["alphas"], t, x0)
        return tf.sqrt(alpha) * x0 + tf.sqrt(1.0 - alpha) * noise

    assert "alpha_t where alpha-bar_t belongs" in rejected(checks.check_add_noise, wrong)


def test_add_noise_names_a_missing_square_root():
    def wrong(x0, t, noise, schedule):
        alpha_bar = at(schedule["alpha_bars"], t, x0)
        return alpha_bar * x0 + (1.0 - alpha_bar) * noise

    assert "square roots are missing" in rejected(checks.check_add_noise, wrong)


def test_add_noise_names_t_off_by_one():
    def wrong(x0, t, noise, schedule):
        return add_noise(x0, t - 1, noise, schedule)

    assert "off by one" in rejected(checks.check_add_noise, wrong)


def test_add_noise_names_a_coefficient_that_does_not_broadcast():
    def wrong(x0, t, noise, schedule):
        alpha_bar = tf.gather(schedule["alpha_bars"], t)  # shape (N,): broadcasts over the last axis
        return tf.sqrt(alpha_bar) * x0 + tf.sqrt(1.0 - alpha_bar) * noise

    assert "(N, 1, 1, 1)" in rejected(checks.check_add_noise, wrong)


def loss_with(t_shift=0, target_is_x0=False, noising=add_noise):
    """diffusion_loss with t drawn from [1 + t_shift, T + t_shift], regressing the noise (or x0)."""
    def wrong(denoiser, x0, labels, schedule):
        n = tf.shape(x0)[0]
        t = tf.random.uniform([n], 1 + t_shift, len(schedule["alpha_bars"]) + t_shift, dtype=tf.int32)
        noise = tf.random.normal(tf.shape(x0))
        predicted = denoiser([noising(x0, t, noise, schedule), t, labels], training=True)
        return tf.reduce_mean(tf.square((x0 if target_is_x0 else noise) - predicted))
    return wrong


def noising_with_alpha(x0, t, noise, schedule):
    alpha = at(schedule["alphas"], t, x0)
    return tf.sqrt(alpha) * x0 + tf.sqrt(1.0 - alpha) * noise


def test_loss_names_t_off_by_one():
    assert "off by one" in rejected(checks.check_diffusion_loss, loss_with(t_shift=-1))


def test_loss_names_the_clean_image_as_target():
    assert "clean image x0" in rejected(checks.check_diffusion_loss, loss_with(target_is_x0=True))


def test_loss_names_noising_with_alpha():
    assert "not sqrt(alpha-bar_t) x0" in rejected(checks.check_diffusion_loss, loss_with(noising=noising_with_alpha))


def test_loss_names_numpy_randomness_inside_tf_function():
    rng = np.random.default_rng(0)

    def wrong(denoiser, x0, labels, schedule):
        n = x0.shape[0]
        t = tf.constant(rng.integers(1, len(schedule["alpha_bars"]), size=n), tf.int32)
        noise = tf.constant(rng.normal(size=x0.shape), tf.float32)
        return tf.reduce_mean(tf.square(noise - denoiser([add_noise(x0, t, noise, schedule), t, labels],
                                                         training=True)))

    assert "draws the same t and noise at every call: NumPy" in rejected(checks.check_diffusion_loss, wrong)


def test_ddpm_step_names_alpha_bar_where_alpha_belongs():
    def wrong(x_t, t, eps, z, schedule):
        beta, alpha_bar = float(schedule["betas"][t]), float(schedule["alpha_bars"][t])
        mean = (x_t - beta / np.sqrt(1 - alpha_bar) * eps) / np.sqrt(alpha_bar)
        return mean + np.sqrt(beta) * z if t > 1 else mean

    assert "sqrt(alpha-bar_t) where sqrt(alpha_t) belongs" in rejected(checks.check_ddpm_step, wrong)


def test_ddpm_step_names_the_wrong_variance():
    def wrong(x_t, t, eps, z, schedule):
        return ddpm_step(x_t, t, eps, z, schedule) + (float(schedule["betas"][t]) - np.sqrt(
            float(schedule["betas"][t]))) * z * (t > 1)

    assert "wrong variance" in rejected(checks.check_ddpm_step, wrong)


def test_ddpm_step_names_noise_at_the_final_step():
    def wrong(x_t, t, eps, z, schedule):
        return ddpm_step(x_t, t, eps, z, schedule) + (np.sqrt(float(schedule["betas"][t])) * z if t == 1 else 0)

    assert "final step" in rejected(checks.check_ddpm_step, wrong)


def test_ddpm_step_names_t_off_by_one():
    def wrong(x_t, t, eps, z, schedule):
        return ddpm_step(x_t, t - 1, eps, z, schedule) if t > 1 else ddpm_step(x_t, t, eps, z, schedule)

    assert "off by one" in rejected(checks.check_ddpm_step, wrong)


def test_ddpm_step_accepts_the_posterior_variance(capsys):
    def posterior(x_t, t, eps, z, schedule):
        beta, alpha_bar = float(schedule["betas"][t]), float(schedule["alpha_bars"][t])
        variance = (1 - float(schedule["alpha_bars"][t - 1])) / (1 - alpha_bar) * beta
        return ddpm_step(x_t, t, eps, 0 * z, schedule) + np.sqrt(variance) * z

    checks.check_ddpm_step(posterior)
    assert "posterior variance" in capsys.readouterr().out


def test_ddim_step_names_alpha_for_alpha_bar():
    def wrong(x_t, t, t_prev, eps, schedule):
        a, a_prev = float(schedule["alphas"][t]), float(schedule["alphas"][t_prev])
        return np.sqrt(a_prev) * (x_t - np.sqrt(1 - a) * eps) / np.sqrt(a) + np.sqrt(1 - a_prev) * eps

    assert "alpha_t where alpha-bar_t belongs" in rejected(checks.check_ddim_step, wrong)


def test_ddim_step_names_a_missing_square_root():
    def wrong(x_t, t, t_prev, eps, schedule):
        a, a_prev = float(schedule["alpha_bars"][t]), float(schedule["alpha_bars"][t_prev])
        return a_prev * (x_t - (1 - a) * eps) / a + (1 - a_prev) * eps

    assert "square roots are missing" in rejected(checks.check_ddim_step, wrong)


def test_ddim_step_names_t_minus_one_for_t_prev():
    def wrong(x_t, t, t_prev, eps, schedule):
        return ddim_step(x_t, t, t - 1, eps, schedule)

    assert "instead of t_prev" in rejected(checks.check_ddim_step, wrong)


def test_ddim_step_names_fresh_noise():
    def wrong(x_t, t, t_prev, eps, schedule):
        return ddim_step(x_t, t, t_prev, tf.random.normal(tf.shape(x_t)), schedule)

    assert "no fresh noise" in rejected(checks.check_ddim_step, wrong)


def test_guidance_names_the_weight_on_the_wrong_branch():
    def wrong(denoiser, x_t, t, labels, scale):
        conditional = denoiser([x_t, t, labels], training=False)
        unconditional = denoiser([x_t, t, tf.fill(tf.shape(labels), NULL_LABEL)], training=False)
        return conditional + scale * (unconditional - conditional)

    assert "wrong branch" in rejected(checks.check_guided_noise, wrong)


def test_guidance_names_label_zero_as_no_label():
    def wrong(denoiser, x_t, t, labels, scale):
        conditional = denoiser([x_t, t, labels], training=False)
        unconditional = denoiser([x_t, t, tf.zeros_like(labels)], training=False)
        return unconditional + scale * (conditional - unconditional)

    assert "never got the 'no label' class" in rejected(checks.check_guided_noise, wrong)


def test_guidance_names_the_other_papers_weight():
    def wrong(denoiser, x_t, t, labels, scale):
        conditional = denoiser([x_t, t, labels], training=False)
        unconditional = denoiser([x_t, t, tf.fill(tf.shape(labels), NULL_LABEL)], training=False)
        return (1 + scale) * conditional - scale * unconditional

    assert "w = scale - 1" in rejected(checks.check_guided_noise, wrong)
