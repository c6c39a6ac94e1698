"""The chapter 05 checks pass the solution and name the typical mistakes."""

import keras
import pytest
import tensorflow as tf
from keras import layers

from course_utils.accelerator import global_policy
from course_utils.checks import CheckFailed
from course_utils.checks import dcgan as checks


# --- scaling -----------------------------------------------------------------------------------

def test_scale_images():
    checks.check_scale_images(lambda x: 2.0 * x - 1.0)
    for wrong, message in [(lambda x: 2.0 * x, "subtract 1"), (lambda x: x - 0.5, "2 \\* x - 1"),
                           (lambda x: x / 127.5 - 1.0, "already in \\[0, 1\\]"), (lambda x: None, "return")]:
        with pytest.raises(CheckFailed, match=message):
            checks.check_scale_images(wrong)


# --- generator and discriminator ---------------------------------------------------------------

def generator(latent_dim, output="tanh", padding="same", bn_on_output=False, channels=3):
    stack = [keras.Input((latent_dim,)), layers.Dense(4 * 4 * 32), layers.BatchNormalization(), layers.ReLU(),
             layers.Reshape((4, 4, 32))]
    for filters in (16, 8):
        stack += [layers.Conv2DTranspose(filters, 4, strides=2, padding=padding), layers.BatchNormalization(),
                  layers.ReLU()]
    stack.append(layers.Conv2DTranspose(channels, 4, strides=2, padding=padding, activation=output))
    if bn_on_output:
        stack.append(layers.BatchNormalization())
    return keras.Sequential(stack)


def test_generator_passes_the_solution():
    checks.check_generator(generator)


@pytest.mark.parametrize("kwargs, message", [
    ({"output": "sigmoid"}, "never negative"),
    ({"output": None}, "tanh"),
    ({"padding": "valid"}, "padding='valid'"),
    ({"channels": 1}, "3 filters"),
    ({"bn_on_output": True}, "output layer is followed by BatchNormalization"),
])
def test_generator_mistakes(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_generator(lambda d: generator(d, **kwargs))


def discriminator(first_bn=False, output=None, activation="leaky", pool=False):
    act = (lambda: layers.LeakyReLU(0.2)) if activation == "leaky" else layers.ReLU
    stack = [keras.Input((32, 32, 3))]
    if pool:
        stack += [layers.Conv2D(8, 3, padding="same"), act(), layers.MaxPooling2D()]
    else:
        stack += [layers.Conv2D(8, 4, strides=2, padding="same")]
        stack += [layers.BatchNormalization()] if first_bn else []
        stack += [act()]
    stack += [layers.Conv2D(16, 4, strides=2, padding="same"), layers.BatchNormalization(), act(),
              layers.Flatten(), layers.Dense(1, activation=output)]
    return keras.Sequential(stack)


def test_discriminator_passes_the_solution():
    checks.check_discriminator(discriminator)


@pytest.mark.parametrize("kwargs, message", [
    ({"first_bn": True}, "batch norm on the discriminator's first layer"),
    ({"output": "sigmoid"}, "from_logits=True"),
    ({"activation": "relu"}, "LeakyReLU"),
    ({"pool": True}, "strided convolutions"),
])
def test_discriminator_mistakes(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_discriminator(lambda: discriminator(**kwargs))


# --- train_step --------------------------------------------------------------------------------

class GAN(keras.Model):
    """The notebook's DCGAN class; ``variant`` plants one mistake in train_step."""

    variant = "right"

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, real):
        v, bce = self.variant, self.loss_fn
        n = tf.shape(real)[0]
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        if v == "one_tape":  # both losses from one tape, summed, applied to both nets
            with tf.GradientTape() as tape:
                fake = self.discriminator(self.generator(tf.random.normal((n, self.latent_dim)), training=True),
                                          training=True)
                real_logits = self.discriminator(real, training=True)
                d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake), fake)
                g_loss = bce(tf.ones_like(fake), fake)
                total = d_loss + g_loss
            grads = tape.gradient(total, d_vars + g_vars)
            self.d_optimizer.apply_gradients(zip(grads[:len(d_vars)], d_vars))
            self.g_optimizer.apply_gradients(zip(grads[len(d_vars):], g_vars))
            return {"d_loss": d_loss, "g_loss": g_loss}
        with tf.GradientTape() as tape:
            fake = self.discriminator(self.generator(tf.random.normal((n, self.latent_dim)), training=True),
                                      training=True)
            real_logits = self.discriminator(real, training=True)
            real_label, fake_label = (0.0, 1.0) if v == "swapped" else (1.0, 0.0)
            d_loss = bce(real_label * tf.ones_like(real_logits), real_logits) + bce(
                fake_label * tf.ones_like(fake), fake)
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            fake = self.discriminator(self.generator(tf.random.normal((n, self.latent_dim)), training=True),
                                      training=True)
            if v == "g_label0":
                g_loss = bce(tf.zeros_like(fake), fake)
            elif v == "saturating":
                g_loss = -bce(tf.zeros_like(fake), fake)
            else:
                g_loss = bce(tf.ones_like(fake), fake)
        if v == "g_opt_on_d":
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, d_vars), d_vars))
        else:
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return {"d_loss": d_loss, "g_loss": g_loss}


def variant(name):
    return type(f"GAN_{name}", (GAN,), {"variant": name})


def test_train_step_passes_the_solution():
    checks.check_train_step(GAN)
    with global_policy("mixed_bfloat16"):  # as in the notebook on a CPU with AMX
        checks.check_train_step(GAN)


@pytest.mark.parametrize("name, message", [
    ("swapped", "labels are swapped"),
    ("one_tape", "also receives the gradient of the generator's loss"),
    ("g_label0", "make its fakes look fake"),
    ("saturating", "saturating"),
    ("g_opt_on_d", "received the discriminator's variables"),
])
def test_train_step_mistakes(name, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_train_step(variant(name))


def test_builder_checks_build_in_float32_under_the_notebooks_mixed_policy(capsys):
    # mixed precision is a speed setting, not the lesson: output layers without dtype="float32" pass
    with global_policy("mixed_bfloat16"):  # what accelerator.setup(mixed_precision=True) sets on an AMX CPU
        checks.check_generator(generator)
        checks.check_discriminator(discriminator)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert capsys.readouterr().out.count("PASSED") == 2

