"""Chapter 13's own models train under both precisions `accelerator.setup(mixed_precision=True)` may pick:
float32 here, mixed bfloat16 on a CPU with AMX units or a TPU (a learner's machine, not this one)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.chapters.ch05 import DCGAN
from course_utils.files import REPO_ROOT
from tools.notebook_code import notebook_definitions

NOTEBOOK = REPO_ROOT / "solutions" / "13_faces_dcgan_vae.ipynb"


def _batch_of(faces):
    """One batch of images alone, as the chapter's face_batches gives fit (its train_step takes images, not (x, y))."""
    return tf.data.Dataset.from_tensor_slices(faces).batch(len(faces))


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_the_face_vae_trains_a_step(policy):
    chapter = notebook_definitions(NOTEBOOK, names=["FaceVAE", "build_encoder", "build_decoder", "DECODER_STD"])
    faces = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    with global_policy(policy):
        vae = chapter["FaceVAE"](chapter["build_encoder"](32, 8, width=4), chapter["build_decoder"](32, 8, width=4),
                                 chapter["DECODER_STD"])
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        logs = vae.fit(_batch_of(faces), epochs=1, verbose=0).history
    assert np.isfinite(logs["neg_elbo"][0]), f"the VAE's first step under {policy} gives {logs}"


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_the_face_dcgan_trains_a_step(policy):
    chapter = notebook_definitions(NOTEBOOK, names=["build_generator", "build_discriminator"])
    faces = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    with global_policy(policy):
        gan = DCGAN(chapter["build_generator"](16, 32, width=4), chapter["build_discriminator"](32, width=4), 16)
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        logs = gan.fit(_batch_of(faces), epochs=1, verbose=0).history
    assert np.isfinite(logs["d_loss"][0]) and np.isfinite(logs["g_loss"][0]), (
        f"the DCGAN's first step under {policy}: {logs}")
