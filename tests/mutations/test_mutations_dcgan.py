"""Chapter 05's checks against answers a learner might write: each wrong one rejected with a message
naming its mistake, each correct one (written differently from the solution) accepted."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_utils.accelerator import global_policy
from course_utils.chapters import ch05
from course_utils.checks import dcgan as checks
from tests.mutations.harness import assert_accepted, check_tests, with_quiet_last_layer


# --- exercise 1: scale_images(x) ---------------------------------------------------------------------

SCALE_MISTAKES = {
    "times-two": (lambda x: 2.0 * x, "did not subtract 1"),
    "minus-half": (lambda x: x - 0.5, r"2 \* x - 1"),
    "divided-by-127.5-again": (lambda x: x / 127.5 - 1.0, r"already in \[0, 1\]"),
    "divided-by-255-again": (lambda x: x / 255.0, r"already in \[0, 1\]"),
    "inverted": (lambda x: 1.0 - 2.0 * x, "inverted"),
    "batch-min-max": (lambda x: 2.0 * (x - x.min()) / (x.max() - x.min()) - 1.0, "min and max"),
    "standardised": (lambda x: (x - x.mean()) / x.std(), "standardis"),
    "flattened": (lambda x: np.reshape(2.0 * x - 1.0, -1), "shape"),
    "forgot-return": (lambda x: None, "returned None"),
    "tensor-method-on-numpy": (lambda x: x.numpy() * 2.0 - 1.0, r"scale_images.*raised.*AttributeError"),
}


test_scale_images_rejects, test_scale_images_accepts = check_tests(checks.check_scale_images, SCALE_MISTAKES, {
    "rescaling-layer": lambda x: keras.layers.Rescaling(scale=2.0, offset=-1.0)(x),
    "centre-and-divide": lambda x: (x - 0.5) / 0.5,
    "tf-ops": lambda x: tf.subtract(tf.multiply(x, 2.0), 1.0),
})


# --- exercise 2: build_generator(latent_dim) -------------------------------------------------------------

def generator(latent_dim, output="tanh", padding="same", channels=3, first_activation=True, batch_norm=True,
              bn_on_output=False, input_size=None, transposed=True):
    """A small DCGAN generator, with one part written as a learner might write it."""
    bn = (lambda: [layers.BatchNormalization()]) if batch_norm else (lambda: [])
    stack = [keras.Input((input_size or latent_dim,)), layers.Dense(4 * 4 * 32), *bn()]
    stack += [layers.ReLU()] if first_activation else []
    stack += [layers.Reshape((4, 4, 32))]
    for filters in (16, 8):
        if transposed:
            stack += [layers.Conv2DTranspose(filters, 4, strides=2, padding=padding)]
        else:
            stack += [layers.UpSampling2D(), layers.Conv2D(filters, 3, padding=padding)]
        stack += [*bn(), layers.ReLU()]
    if transposed:
        stack += [layers.Conv2DTranspose(channels, 4, strides=2, padding=padding, activation=output)]
    else:
        stack += [layers.UpSampling2D(), layers.Conv2D(channels, 3, padding=padding, activation=output)]
    stack += [layers.BatchNormalization()] if bn_on_output else []
    return keras.Sequential(stack)


def noise_layer_forced_on(latent_dim):
    z = keras.Input((latent_dim,))
    x = layers.GaussianNoise(0.1)(generator(latent_dim)(z), training=True)
    return keras.Model(z, x)


def forgot_return(latent_dim):
    generator(latent_dim)


def undefined_initializer(latent_dim):
    return keras.Sequential([keras.Input((latent_dim,)), layers.Dense(4 * 4 * 32, kernel_initializer=INIT)])  # noqa: F821


GENERATOR_MISTAKES = {
    "sigmoid-output": (lambda d: generator(d, output="sigmoid"), "never negative.*sigmoid"),
    "relu-output": (lambda d: generator(d, output="relu"), "never negative.*relu"),
    "softmax-output": (lambda d: generator(d, output="softmax"), "never negative.*softmax"),
    "no-output-activation": (lambda d: generator(d, output=None), "tanh"),
    "no-output-activation-with-quiet-weights": (lambda d: with_quiet_last_layer(generator(d, output=None), 0.0),
                                                r"no activation \(a linear output\).*activation='tanh'"),
    "leaky-relu-output-with-quiet-weights": (lambda d: with_quiet_last_layer(generator(d, output="leaky_relu"), 0.0),
                                             r"activation 'leaky_relu'.*activation='tanh'"),
    "activation-missing-after-dense": (lambda d: generator(d, first_activation=False), "no activation in between"),
    "valid-padding": (lambda d: generator(d, padding="valid"), "padding='valid'"),
    "one-channel": (lambda d: generator(d, channels=1), "3 filters"),
    "no-batch-norm": (lambda d: generator(d, batch_norm=False), "BatchNormalization"),
    "batch-norm-on-output": (lambda d: generator(d, bn_on_output=True), "output layer is followed by BatchNormalization"),
    "upsampling-instead-of-transposed": (lambda d: generator(d, transposed=False), "Conv2DTranspose"),
    "latent-dim-hard-coded": (lambda d: generator(d, input_size=100), "latent_dim"),
    "noise-layer-forced-on": (noise_layer_forced_on, "training=True stays on"),
    "forgot-return": (forgot_return, "keras Model.*None"),
    "raises": (undefined_initializer, r"build_generator.*raised.*NameError"),
}


def functional_generator(latent_dim):
    """Functional API, LeakyReLU inside, tanh as a layer of its own, no dtype on the output layer."""
    z = keras.Input((latent_dim,))
    x = layers.Reshape((4, 4, 32))(layers.LeakyReLU(0.2)(layers.BatchNormalization()(layers.Dense(512)(z))))
    for filters in (16, 8):
        x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(
            layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)))
    images = layers.Activation("tanh")(layers.Conv2DTranspose(3, 4, strides=2, padding="same")(x))
    return keras.Model(z, images)


def activation_inside_the_layers(latent_dim):
    """Each layer computes its own ReLU, then batch norm (the other common order)."""
    return keras.Sequential([
        keras.Input((latent_dim,)), layers.Dense(4 * 4 * 32, activation="relu"), layers.BatchNormalization(),
        layers.Reshape((4, 4, 32)),
        layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.Conv2DTranspose(8, 5, strides=2, padding="same", activation="relu"), layers.BatchNormalization(),
        layers.Conv2DTranspose(3, 5, strides=2, padding="same", activation=keras.activations.tanh),
    ])


test_generator_rejects, test_generator_accepts = check_tests(
    checks.check_generator, GENERATOR_MISTAKES, [functional_generator, activation_inside_the_layers])


def test_generator_without_float32_output_passes_under_mixed_precision():
    with global_policy("mixed_bfloat16"):  # what the notebook's setup sets on a CPU with bfloat16 units
        assert_accepted(checks.check_generator, activation_inside_the_layers)


# --- exercise 3: build_discriminator() ----------------------------------------------------------------------

def discriminator(output=None, first_bn=False, hidden="leaky", pool=False, batch_norm=True, second_activation=True,
                  input_shape=(32, 32, 3), units=1, flatten=True, wrap=None):
    """A small DCGAN discriminator, with one part written as a learner might write it."""
    act = (lambda: layers.LeakyReLU(0.2)) if hidden == "leaky" else layers.ReLU
    stack = [keras.Input(input_shape)]
    if pool:
        stack += [layers.Conv2D(8, 3, padding="same"), act(), layers.MaxPooling2D()]
    else:
        stack += [layers.Conv2D(8, 4, strides=2, padding="same"), *([layers.BatchNormalization()] if first_bn else []),
                  act()]
    bn = (lambda: [layers.BatchNormalization()]) if batch_norm else (lambda: [])
    stack += [layers.Conv2D(16, 4, strides=2, padding="same"), *bn()]
    stack += [act()] if second_activation else []
    stack += [layers.Conv2D(32, 4, strides=2, padding="same"), *bn(), act()]
    stack += [layers.Flatten()] if flatten else []
    stack += [layers.Dense(units, activation=output)]
    stack += [wrap] if wrap is not None else []
    return keras.Sequential(stack)


def dropout_always_on():
    images = keras.Input((32, 32, 3))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(8, 4, strides=2, padding="same")(images))
    x = layers.Dropout(0.3)(x, training=True)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(layers.Conv2D(16, 4, strides=2, padding="same")(x)))
    return keras.Model(images, layers.Dense(1)(layers.Flatten()(x)))


DISCRIMINATOR_MISTAKES = {
    "sigmoid-output": (lambda: discriminator(output="sigmoid"), "sigmoid.*from_logits=True"),
    "sigmoid-layer-after-logit": (lambda: discriminator(wrap=layers.Activation("sigmoid")), "sigmoid"),
    "sigmoid-in-a-lambda": (lambda: discriminator(wrap=layers.Lambda(tf.sigmoid)), "not a raw logit"),
    "relu-output": (lambda: discriminator(output="relu"), "relu"),
    "tanh-output": (lambda: discriminator(output="tanh"), "tanh"),
    "softmax-output": (lambda: discriminator(output="softmax"), "softmax"),
    "batch-norm-on-first-layer": (lambda: discriminator(first_bn=True), "batch norm on the discriminator's first"),
    "no-batch-norm": (lambda: discriminator(batch_norm=False, first_bn=False), "BatchNormalization"),
    "plain-relu": (lambda: discriminator(hidden="relu"), "LeakyReLU"),
    "max-pooling": (lambda: discriminator(pool=True), "strided convolutions"),
    "activation-missing-after-a-conv": (lambda: discriminator(second_activation=False), "no activation in between"),
    "mnist-input-shape": (lambda: discriminator(input_shape=(28, 28, 1)), r"\(32, 32, 3\)"),
    "ten-outputs": (lambda: discriminator(units=10), r"one number per image"),
    "no-flatten": (lambda: discriminator(flatten=False), r"one number per image"),
    "dropout-forced-on": (dropout_always_on, "training=True stays on"),
    "forgot-return": (lambda: None, "keras Model.*None"),
}


def functional_discriminator():
    """Functional API, no dtype on the logit layer."""
    images = keras.Input((32, 32, 3))
    x = layers.LeakyReLU(negative_slope=0.2)(layers.Conv2D(8, 4, strides=2, padding="same")(images))
    for filters in (16, 32):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(layers.BatchNormalization()(x))
    return keras.Model(images, layers.Dense(1)(layers.Flatten()(x)))


def convolution_to_one_logit():
    """The DCGAN paper's ending: a last convolution down to one 1x1 map, flattened."""
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 4, strides=2, padding="same", activation=keras.layers.LeakyReLU(0.2)),
        layers.Conv2D(16, 4, strides=2, padding="same"), layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Conv2D(32, 4, strides=2, padding="same"), layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Conv2D(1, 4, padding="valid"), layers.Flatten(),
    ])


test_discriminator_rejects, test_discriminator_accepts = check_tests(
    checks.check_discriminator, DISCRIMINATOR_MISTAKES, [functional_discriminator, convolution_to_one_logit])


def test_discriminator_without_float32_output_passes_under_mixed_precision():
    with global_policy("mixed_bfloat16"):
        assert_accepted(checks.check_discriminator, functional_discriminator)


# --- exercise 4: the DCGAN class's train_step ----------------------------------------------------------------

class DCGAN(ch05.DCGAN):
    """Chapter 05's DCGAN with its train_step (the exercise) cut into parts that a mutation can replace."""

    def train_step(self, real_images):
        d_loss, g_loss = self.update_networks(real_images, tf.shape(real_images)[0])
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def d_and_g_losses(self, real_logits, fake_logits):
        bce = self.loss_fn
        return (bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits),
                bce(tf.ones_like(fake_logits), fake_logits))

    def noise(self, n, real_images):
        return self.sample_noise(n)

    training_flag = True

    def update_networks(self, real_images, n):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(self.noise(n, real_images), training=self.training_flag)
            real_logits = self.discriminator(real_images, training=self.training_flag)
            fake_logits = self.discriminator(fake_images, training=self.training_flag)
            d_loss, g_loss = self.d_and_g_losses(real_logits, fake_logits)
        self.apply_to(d_tape, d_loss, self.discriminator, self.d_optimizer)
        self.apply_to(g_tape, g_loss, self.generator, self.g_optimizer)
        return d_loss, g_loss

    def apply_to(self, tape, loss, model, optimizer):
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))


def dcgan_with(**parts):
    """The DCGAN class with some of its parts replaced by a learner's version."""
    return type("LearnersDCGAN", (DCGAN,), parts)


def labels_swapped(self, real_logits, fake_logits):
    bce = self.loss_fn
    return (bce(tf.zeros_like(real_logits), real_logits) + bce(tf.ones_like(fake_logits), fake_logits),
            bce(tf.ones_like(fake_logits), fake_logits))


def generator_labels_fakes_fake(self, real_logits, fake_logits):
    d_loss, _ = DCGAN.d_and_g_losses(self, real_logits, fake_logits)
    return d_loss, self.loss_fn(tf.zeros_like(fake_logits), fake_logits)


def saturating_generator_loss(self, real_logits, fake_logits):
    d_loss, _ = DCGAN.d_and_g_losses(self, real_logits, fake_logits)
    return d_loss, -self.loss_fn(tf.zeros_like(fake_logits), fake_logits)


def sigmoid_before_the_loss(self, real_logits, fake_logits):
    return DCGAN.d_and_g_losses(self, tf.sigmoid(real_logits), tf.sigmoid(fake_logits))


def from_logits_forgotten(self, real_logits, fake_logits):
    bce = keras.losses.BinaryCrossentropy()
    return (bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits),
            bce(tf.ones_like(fake_logits), fake_logits))


def one_tape_for_both(self, real_images, n):
    with tf.GradientTape() as tape:
        fake_logits = self.discriminator(self.generator(self.sample_noise(n), training=True), training=True)
        real_logits = self.discriminator(real_images, training=True)
        d_loss, g_loss = self.d_and_g_losses(real_logits, fake_logits)
        total = d_loss + g_loss
    d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
    grads = tape.gradient(total, d_vars + g_vars)
    self.d_optimizer.apply_gradients(zip(grads[:len(d_vars)], d_vars))
    self.g_optimizer.apply_gradients(zip(grads[len(d_vars):], g_vars))
    return d_loss, g_loss


def tape_asked_twice(self, real_images, n):
    with tf.GradientTape() as tape:
        fake_logits = self.discriminator(self.generator(self.sample_noise(n), training=True), training=True)
        d_loss, g_loss = self.d_and_g_losses(self.discriminator(real_images, training=True), fake_logits)
    self.apply_to(tape, d_loss, self.discriminator, self.d_optimizer)
    self.apply_to(tape, g_loss, self.generator, self.g_optimizer)
    return d_loss, g_loss


def generator_optimizer_on_discriminator(self, tape, loss, model, optimizer):
    if optimizer is self.g_optimizer:
        model = self.discriminator
    DCGAN.apply_to(self, tape, loss, model, optimizer)


def numpy_noise(self, n, real_images):
    return np.random.normal(size=(real_images.shape[0], self.latent_dim)).astype("float32")


def undefined_name(self, real_logits, fake_logits):
    return bce(tf.ones_like(real_logits), real_logits), None  # noqa: F821


TRAIN_STEP_MISTAKES = {
    "no-training-flag": (dcgan_with(training_flag=None), "without training=True"),
    "labels-swapped": (dcgan_with(d_and_g_losses=labels_swapped), "labels are swapped"),
    "generator-labels-fakes-fake": (dcgan_with(d_and_g_losses=generator_labels_fakes_fake), "make its fakes look fake"),
    "saturating-generator-loss": (dcgan_with(d_and_g_losses=saturating_generator_loss), "saturating"),
    "sigmoid-before-the-loss": (dcgan_with(d_and_g_losses=sigmoid_before_the_loss), "sigmoid"),
    "from-logits-forgotten": (dcgan_with(d_and_g_losses=from_logits_forgotten), "from_logits=True"),
    "one-tape-summed-losses": (dcgan_with(update_networks=one_tape_for_both), "also receives the gradient of the generator"),
    "tape-asked-twice": (dcgan_with(update_networks=tape_asked_twice), "tape was asked for gradients twice"),
    "g-optimizer-on-discriminator": (dcgan_with(apply_to=generator_optimizer_on_discriminator),
                                     "received the discriminator's variables"),
    "one-noise-vector-per-batch": (dcgan_with(noise=lambda self, n, x: self.sample_noise(1)), "one noise vector per"),
    "same-noise-for-every-image": (dcgan_with(noise=lambda self, n, x: tf.repeat(self.sample_noise(1), n, axis=0)),
                                   "same noise vector"),
    "uniform-noise": (dcgan_with(noise=lambda self, n, x: keras.random.uniform((n, self.latent_dim))),
                      "standard normal"),
    "numpy-noise": (dcgan_with(noise=numpy_noise), "NumPy"),
    "raises": (dcgan_with(d_and_g_losses=undefined_name), r"train_step.*raised.*NameError"),
}


def alternating_updates(self, real_images, n):
    """Discriminator first, then the generator on fresh noise, with Keras 3's optimizer.apply."""
    with tf.GradientTape() as tape:
        real_logits = self.discriminator(real_images, training=True)
        fake_logits = self.discriminator(self.generator(self.sample_noise(n), training=True), training=True)
        d_loss = self.loss_fn(tf.ones_like(real_logits), real_logits) + self.loss_fn(
            tf.zeros_like(fake_logits), fake_logits)
    self.d_optimizer.apply(tape.gradient(d_loss, self.discriminator.trainable_variables),
                           self.discriminator.trainable_variables)
    with tf.GradientTape() as tape:
        fake_logits = self.discriminator(self.generator(self.sample_noise(n), training=True), training=True)
        g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
    self.g_optimizer.apply(tape.gradient(g_loss, self.generator.trainable_variables),
                           self.generator.trainable_variables)
    return d_loss, g_loss


def one_batch_of_labels(self, real_logits, fake_logits):
    """Real and fake logits in one batch against one label vector; keras.ops throughout."""
    logits = keras.ops.concatenate([real_logits, fake_logits], axis=0)
    labels = keras.ops.concatenate([keras.ops.ones_like(real_logits), keras.ops.zeros_like(fake_logits)], axis=0)
    d_loss = keras.ops.mean(keras.ops.binary_crossentropy(labels, logits, from_logits=True))
    return d_loss, keras.ops.mean(keras.ops.softplus(-fake_logits))


test_train_step_rejects, test_train_step_accepts = check_tests(checks.check_train_step, TRAIN_STEP_MISTAKES, {
    "alternating-updates": dcgan_with(update_networks=alternating_updates),
    "one-batch-of-labels": dcgan_with(d_and_g_losses=one_batch_of_labels),
})
