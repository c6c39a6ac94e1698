"""Every check whose answer is a function, fed that function's right answer in the wrong form.

A learner's function can return anything: a scalar where a batch belongs, a batch of the wrong length, a string,
None, a pair. The check must reject each with a verdict (``learner_array`` says which shape it expected and which
came), never crash inside its own helpers (a comparison of arrays of different lengths, ``len`` of a scalar) and
never hang. The answers are the solutions of ``tests/test_checks_*.py``, with their result replaced.
"""

import functools

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import autoencoders, conditional_gan, controllable, dcgan, denoising, diffusion, gan_mnist
from course_utils.checks import flows, ssgan, text_generation, vae, vq_vae, wgan_gp
from tests import test_checks_conditional_gan as cgan_answers
from tests import test_checks_controllable as controllable_answers
from tests import test_checks_denoising as denoising_answers
from tests import test_checks_diffusion as diffusion_answers
from tests import test_checks_flows as flows_answers
from tests import test_checks_gan_mnist as gan_answers
from tests import test_checks_ssgan as ssgan_answers
from tests import test_checks_text_generation as text_answers
from tests import test_checks_vae as vae_answers
from tests import test_checks_vq_vae as vq_vae_answers
from tests import test_checks_wgan_gp as wgan_answers
from tests.mutations.harness import run_check

WRONG_FORMS = {
    "scalar": lambda result: tf.constant(0.5),
    "python_float": lambda result: 0.5,
    "short_vector": lambda result: tf.constant([0.1, 0.2, 0.3]),
    "extra_axis": lambda result: tf.zeros((2, 3, 5, 7)),
    "string": lambda result: "done",
    "none": lambda result: None,
    "pair": lambda result: (result, result),
    "ragged_list": lambda result: [[0.1, 0.2], [0.3]],
}
"""What a learner's function returns in place of its right result."""

CHECKS = {
    "compression_ratio": (autoencoders.check_compression_ratio, lambda shape, d: float(np.prod(shape)) / d),
    "target_log_probability": (controllable.check_target_log_probability, controllable_answers.target_log_probability),
    "steering_step": (controllable.check_steering_step, controllable_answers.steering_step),
    "scale_images": (dcgan.check_scale_images, lambda x: 2.0 * x - 1.0),
    "add_gaussian_noise": (denoising.check_add_gaussian_noise, denoising_answers.add_gaussian_noise),
    "add_salt_and_pepper": (denoising.check_add_salt_and_pepper, denoising_answers.add_salt_and_pepper),
    "add_noise": (diffusion.check_add_noise, diffusion_answers.add_noise),
    "diffusion_loss": (diffusion.check_diffusion_loss, diffusion_answers.diffusion_loss),
    "ddpm_step": (diffusion.check_ddpm_step, diffusion_answers.ddpm_step),
    "ddim_step": (diffusion.check_ddim_step, diffusion_answers.ddim_step),
    "guided_noise": (diffusion.check_guided_noise, diffusion_answers.guided_noise),
    "gan_discriminator_loss": (gan_mnist.check_discriminator_loss, gan_answers.discriminator_loss),
    "gan_generator_loss": (gan_mnist.check_generator_loss, gan_answers.generator_loss),
    "fake_batch": (functools.partial(conditional_gan.check_fake_batch, latent_dim=cgan_answers.LATENT),
                   cgan_answers.fake_batch),
    "cgan_discriminator_loss": (conditional_gan.check_discriminator_loss, cgan_answers.d_loss),
    "cgan_generator_loss": (conditional_gan.check_generator_loss, cgan_answers.g_loss),
    "unsupervised_loss": (ssgan.check_unsupervised_loss, ssgan_answers.unsupervised),
    "feature_matching_loss": (ssgan.check_feature_matching_loss, ssgan_answers.feature_matching),
    "labelled_subset": (ssgan.check_labelled_subset, ssgan_answers.labelled_subset),
    "split_input_target": (text_generation.check_split_input_target, text_answers.split_input_target),
    "sample_with_temperature": (text_generation.check_sample_with_temperature, text_answers.sample_with_temperature),
    "bits_per_character": (text_generation.check_bits_per_character, text_answers.bits_per_character),
    "reparameterize": (vae.check_reparameterize, vae_answers.reparameterize),
    "kl_divergence": (vae.check_kl_divergence, vae_answers.kl_divergence),
    "negative_elbo": (vae.check_negative_elbo, vae_answers.negative_elbo),
    "causal_mask": (vae.check_causal_mask, vae_answers.causal_mask),
    "mode_stats": (wgan_gp.check_mode_stats, wgan_answers.mode_stats),
    "gradient_penalty": (wgan_gp.check_gradient_penalty, wgan_answers.penalty),
    "nearest_codes": (vq_vae.check_nearest_codes, vq_vae_answers.nearest_codes),
    "straight_through": (vq_vae.check_straight_through, vq_vae_answers.straight_through_and_losses),
    "codebook_usage": (vq_vae.check_codebook_usage, vq_vae_answers.codebook_usage),
    "prior_sequences": (vq_vae.check_prior_sequences, vq_vae_answers.prior_sequences),
    "dequantize_logit": (flows.check_dequantize_logit, flows_answers.dequantize_logit),
    "bits_per_dim": (flows.check_bits_per_dim, flows_answers.bits_per_dim),
    "flow_matching_loss": (flows.check_flow_matching_loss, flows_answers.flow_matching_loss),
    "euler_sample": (flows.check_euler_sample, flows_answers.euler_sample),
    "heun_sample": (flows.check_heun_sample, flows_answers.heun_sample),
    "guided_velocity": (flows.check_guided_velocity, flows_answers.guided_velocity),
}
"""Each function check, with the right answer the wrong forms start from."""


def returning(form, answer):
    """``answer`` with its result replaced by ``WRONG_FORMS[form]`` of it."""
    @functools.wraps(answer)
    def wrong(*args, **kwargs):
        return WRONG_FORMS[form](answer(*args, **kwargs))
    return wrong


@pytest.mark.parametrize("form", list(WRONG_FORMS))
@pytest.mark.parametrize("name", list(CHECKS))
def test_a_result_in_the_wrong_form_gets_a_verdict(name, form):
    check, answer = CHECKS[name]
    outcome = run_check(check, returning(form, answer))
    assert outcome.kind == "rejected", f"{name} returning {form}: {outcome.kind}: {outcome.message}"


@pytest.mark.parametrize("name", ["add_noise", "ddpm_step", "ddim_step", "guided_noise", "kl_divergence",
                                  "negative_elbo", "target_log_probability", "scale_images"])
def test_a_wrong_shape_is_named_with_the_shape_expected_and_the_shape_returned(name):
    check, answer = CHECKS[name]
    outcome = run_check(check, returning("extra_axis", answer))
    assert outcome.kind == "rejected" and "(2, 3, 5, 7)" in outcome.message, outcome.message


@pytest.mark.parametrize("pair", [("generator_losses", wgan_gp.check_generator_losses, wgan_answers.saturating,
                                   wgan_answers.non_saturating),
                                  ("wasserstein_losses", wgan_gp.check_wasserstein_losses, wgan_answers.critic_loss,
                                   wgan_answers.generator_loss)], ids=lambda pair: pair[0])
@pytest.mark.parametrize("form", list(WRONG_FORMS))
def test_a_loss_pair_in_the_wrong_form_gets_a_verdict(pair, form):
    _, check, first, second = pair
    for answers in ((returning(form, first), second), (first, returning(form, second))):
        outcome = run_check(check, *answers)
        assert outcome.kind == "rejected", f"{pair[0]} returning {form}: {outcome.kind}: {outcome.message}"
