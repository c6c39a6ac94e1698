"""The chapter 04 checks pass the solution and reject each typical mistake with the right message."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.checks import CheckFailed
from course_utils.checks import gan_mnist as checks

bce = keras.losses.BinaryCrossentropy(from_logits=True)


# --- exercise 1: the input pipeline ------------------------------------------------------------

def make_dataset(images, batch_size, scale=lambda x: 2.0 * x - 1.0, order="cache-shuffle", batch=True,
                 prefetch=True, labels=False):
    dataset = tf.data.Dataset.from_tensor_slices(scale(images))
    if labels:
        dataset = tf.data.Dataset.from_tensor_slices((scale(images), np.zeros(len(images))))
    if order == "cache-shuffle":
        dataset = dataset.cache().shuffle(len(images))
    elif order == "shuffle-cache":
        dataset = dataset.shuffle(len(images)).cache()
    else:
        dataset = dataset.cache()
    if batch:
        dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset


def test_make_dataset_passes_the_solution(capsys):
    checks.check_make_dataset(make_dataset)
    assert capsys.readouterr().out.startswith("PASSED")


@pytest.mark.parametrize("kwargs, message", [
    ({"scale": lambda x: x}, r"tanh output paired with data in \[0, 1\]"),
    ({"scale": lambda x: 2.0 * x}, "did not subtract 1"),
    ({"scale": lambda x: x / 127.5 - 1}, r"already in \[0, 1\]"),
    ({"order": "none"}, "shuffle the images"),
    ({"order": "shuffle-cache"}, r"shuffle AFTER \.cache\(\)"),
    ({"batch": False}, r"\.batch\(batch_size\)"),
    ({"prefetch": False}, r"\.prefetch"),
    ({"labels": True}, "tuples"),
])
def test_make_dataset_mistakes(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_make_dataset(lambda images, batch_size: make_dataset(images, batch_size, **kwargs))


# --- exercise 2: the discriminator's loss ------------------------------------------------------

def discriminator_loss(real_logits, fake_logits, smoothing=0.0):
    return bce(tf.fill(tf.shape(real_logits), 1.0 - smoothing), real_logits) + bce(
        tf.zeros_like(fake_logits), fake_logits)


def test_discriminator_loss_passes_the_solution_and_its_mean_form(capsys):
    checks.check_discriminator_loss(discriminator_loss)
    checks.check_discriminator_loss(lambda r, f, s=0.0: 0.5 * discriminator_loss(r, f, s))
    assert capsys.readouterr().out.count("PASSED") == 2


ones, zeros = tf.ones_like, tf.zeros_like


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f, s: bce((1 - s) * ones(r), r) + bce(ones(f), f), "fakes are labelled real"),
    (lambda r, f, s: bce((1 - s) * ones(r), r) + bce(s * ones(f), f), "smoothing is applied to the fakes"),
    (lambda r, f, s: bce(ones(r), r) + bce(zeros(f), f), "smoothing argument is ignored"),
    (lambda r, f, s: bce(zeros(r), r) + bce(ones(f), f), "labels are swapped"),
    (lambda r, f, s: bce(s * ones(r), r) + bce(zeros(f), f), "1 - smoothing"),
    (lambda r, f, s: bce((1 - s) * ones(r), r), "only the real images"),
    (lambda r, f, s: keras.losses.BinaryCrossentropy()((1 - s) * ones(r), r)
     + keras.losses.BinaryCrossentropy()(zeros(f), f), "from_logits=True"),
    (lambda r, f, s: tf.reduce_sum(keras.losses.binary_crossentropy((1 - s) * ones(r), r, from_logits=True)
                                   + keras.losses.binary_crossentropy(zeros(f), f, from_logits=True)),
     "summed over the batch"),
    (lambda r, f, s: keras.losses.binary_crossentropy((1 - s) * ones(r), r, from_logits=True), "scalar"),
    (lambda r, f, s: None, "return"),
])
def test_discriminator_loss_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_discriminator_loss(wrong)


# --- exercise 3: the generator's loss ----------------------------------------------------------

def generator_loss(fake_logits):
    return bce(tf.ones_like(fake_logits), fake_logits)


def test_generator_loss_passes_the_solution(capsys):
    checks.check_generator_loss(generator_loss)
    assert capsys.readouterr().out.startswith("PASSED")


@pytest.mark.parametrize("wrong, message", [
    (lambda f: -bce(zeros(f), f), "saturating loss"),
    (lambda f: tf.reduce_mean(tf.math.log(1.0 - tf.sigmoid(f))), "saturating loss"),
    (lambda f: bce(zeros(f), f), "labelled 0"),
    (lambda f: bce(0.9 * ones(f), f), "do not smooth the generator's labels"),
    (lambda f: keras.losses.BinaryCrossentropy()(ones(f), f), "from_logits=True"),
])
def test_generator_loss_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_generator_loss(wrong)


# --- exercise 4: the training step -------------------------------------------------------------

def train_step_factory(d_loss=discriminator_loss, g_loss=generator_loss, d_training=True, g_training=True,
                       g_step_updates_d=False, g_optimizer_gets_d=False, g_logits_outside_tape=False):
    """The solution's make_train_step, with switches that introduce the typical mistakes."""

    def make_train_step(generator, discriminator, g_optimizer, d_optimizer, smoothing=0.1):
        latent_dim = generator.input_shape[-1]

        @tf.function
        def train_step(real_images):
            batch_size = tf.shape(real_images)[0]
            noise = tf.random.normal([batch_size, latent_dim])
            with tf.GradientTape() as tape:
                fake_images = generator(noise, training=g_training)
                real_logits = discriminator(real_images, training=d_training)
                fake_logits = discriminator(fake_images, training=d_training)
                d = d_loss(real_logits, fake_logits, smoothing)
            grads = tape.gradient(d, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))

            noise = tf.random.normal([batch_size, latent_dim])
            outside = discriminator(generator(noise, training=g_training), training=d_training)
            variables = generator.trainable_variables + (
                discriminator.trainable_variables if g_optimizer_gets_d else [])
            with tf.GradientTape(persistent=True) as tape:
                logits = outside if g_logits_outside_tape else discriminator(
                    generator(noise, training=g_training), training=d_training)
                g = g_loss(logits)
            g_optimizer.apply_gradients(zip(tape.gradient(g, variables), variables))
            if g_step_updates_d:
                d_grads = tape.gradient(g, discriminator.trainable_variables)
                d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
            return {"d_loss": d, "g_loss": g, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                    "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

        return train_step

    return make_train_step


def test_train_step_passes_the_solution(capsys):
    checks.check_train_step(train_step_factory(), latent_dim=8)
    assert capsys.readouterr().out.startswith("PASSED")
    assert not tf.config.functions_run_eagerly(), "the check must switch eager execution back off"


def test_train_step_check_runs_its_doubles_in_float32_under_a_mixed_policy():
    # the notebook turns mixed precision on before this check; its gradient comparisons need float32
    with global_policy("mixed_bfloat16"):
        checks.check_train_step(train_step_factory(), latent_dim=8)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"


def test_train_step_passes_a_real_optimizer_run_too():
    """The solution also runs compiled with real models and optimizers (as in the notebook)."""
    generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(784, activation="tanh"),
                                  keras.layers.Reshape((28, 28, 1))])
    discriminator = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                      keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    step = train_step_factory()(generator, discriminator, keras.optimizers.Adam(1e-3),
                                keras.optimizers.Adam(1e-3), 0.1)
    out = step(tf.random.uniform((4, 28, 28, 1), -1, 1))
    assert all(np.isfinite(float(v)) for v in out.values())


@pytest.mark.parametrize("kwargs, message", [
    ({"d_loss": lambda r, f, s: bce((1 - s) * ones(r), r) + bce(ones(f), f)}, "fakes are labelled real"),
    ({"d_loss": lambda r, f, s: bce((1 - s) * ones(r), r) + bce(s * ones(f), f)},
     "smoothing is applied to the fakes"),
    ({"g_loss": lambda f: -bce(zeros(f), f)}, "saturating"),
    ({"g_step_updates_d": True}, "generator step also updates the discriminator"),
    ({"g_optimizer_gets_d": True}, "generator step also updates the discriminator"),
    ({"d_training": False}, "discriminator is called without training=True"),
    ({"g_training": None}, "generator is called without training=True"),
    ({"g_logits_outside_tape": True}, "no gradient reached the generator"),
])
def test_train_step_mistakes(kwargs, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_train_step(train_step_factory(**kwargs), latent_dim=8)
    assert not tf.config.functions_run_eagerly()
