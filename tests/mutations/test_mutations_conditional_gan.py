"""Chapter 07's checks against wrong answers a learner writes, and correct answers written differently."""

import functools
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_utils.checks import conditional_gan as checks
from tests.mutations.harness import assert_rejected, check_tests, with_quiet_last_layer

LATENT = 100  # as in the notebook
bce = keras.losses.BinaryCrossentropy(from_logits=True)
ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


# --- build_generator ------------------------------------------------------------------------------


def mlp_generator(latent_dim, hidden_activation=("leaky", "leaky"), output="tanh", label_input=(),
                  use_label=True, image_shape=(28, 28, 1)):
    """The lesson's MLP generator (small), written the way a learner varies it."""
    noise = keras.Input((latent_dim,))
    labels = keras.Input(label_input, dtype="int32")
    embedded = layers.Embedding(10, 8)(labels)
    h = layers.Concatenate()([noise, embedded]) if use_label else noise
    for units, activation in zip((16, 32), hidden_activation):
        h = layers.BatchNormalization()(layers.Dense(units)(h))
        if activation == "leaky":
            h = layers.LeakyReLU(0.2)(h)
    images = layers.Dense(int(np.prod(image_shape)), activation=output)(h)
    return keras.Model([noise, labels], layers.Reshape(image_shape)(images))


GENERATOR_MISTAKES = {
    "sigmoid_output": (lambda d: mlp_generator(d, output="sigmoid"), "never negative.*sigmoid"),
    "relu_output": (lambda d: mlp_generator(d, output="relu"), "never negative.*relu"),
    "no_output_activation": (lambda d: mlp_generator(d, output=None), r"no activation \(a linear output\).*'tanh'"),
    "no_output_activation_with_quiet_weights": (lambda d: with_quiet_last_layer(mlp_generator(d, output=None), 0.0),
                                                r"no activation \(a linear output\).*'tanh'"),
    "sigmoid_output_with_quiet_weights": (lambda d: with_quiet_last_layer(mlp_generator(d, output="sigmoid"), 0.0),
                                          "never negative.*sigmoid"),
    "hidden_activation_missing": (lambda d: mlp_generator(d, hidden_activation=("leaky", None)),
                                  "no activation in between.*LeakyReLU"),
    "label_ignored": (lambda d: mlp_generator(d, use_label=False), "ignores the label"),
    "label_input_of_shape_1": (lambda d: mlp_generator(d, label_input=(1,)), "Input\\(\\(\\), dtype='int32'\\)"),
    "no_channel_axis": (lambda d: mlp_generator(d, image_shape=(28, 28)), "shape \\(10, 28, 28, 1\\)"),
    "forgot_return": (lambda d: None, "returned None"),
    "noise_only_sequential": (lambda d: keras.Sequential(
        [keras.Input((d,)), layers.Dense(784, activation="tanh"), layers.Reshape((28, 28, 1))]), "TWO inputs"),
}


def multiplied_embedding_generator(latent_dim):
    """Label embedding the size of the noise, multiplied into it (as in Keras' AC-GAN example)."""
    noise = keras.Input((latent_dim,))
    labels = keras.Input((1,), dtype="int32")
    embedded = layers.Flatten()(layers.Embedding(10, latent_dim)(labels))
    h = layers.Multiply()([noise, embedded])
    h = layers.Dense(32, activation=layers.LeakyReLU(0.2))(h)
    h = layers.Dense(784)(h)
    return keras.Model([noise, labels], layers.Reshape((28, 28, 1))(layers.Activation("tanh")(h)))


def convolutional_generator(latent_dim):
    """Dense to a 7x7 map, then transposed convolutions; a sigmoid rescaled to [-1, 1] at the end."""
    noise = keras.Input((latent_dim,))
    labels = keras.Input((), dtype="int32")
    h = layers.Concatenate()([noise, layers.Embedding(10, 10)(labels)])
    h = keras.ops.leaky_relu(layers.Dense(7 * 7 * 4)(h), 0.2)
    h = layers.Reshape((7, 7, 4))(h)
    h = layers.Conv2DTranspose(4, 4, strides=2, padding="same", activation="relu")(h)
    h = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid")(h)
    return keras.Model([noise, labels], 2.0 * h - 1.0)


def body_in_a_sequential(latent_dim):
    """A Sequential body inside the functional model."""
    noise = keras.Input((latent_dim,))
    labels = keras.Input((), dtype="int32")
    body = keras.Sequential([layers.Dense(32), layers.BatchNormalization(), layers.ReLU(),
                             layers.Dense(784, activation="tanh"), layers.Reshape((28, 28, 1))])
    return keras.Model([noise, labels], body(layers.Concatenate()([noise, layers.Embedding(10, 5)(labels)])))


test_generator_mistake_is_rejected, test_generator_written_differently_is_accepted = check_tests(
    functools.partial(checks.check_generator, latent_dim=LATENT), GENERATOR_MISTAKES,
    [mlp_generator, multiplied_embedding_generator, convolutional_generator, body_in_a_sequential])


def test_a_missing_activation_inside_a_nested_model_is_found():
    def nested_without_activation(latent_dim):
        noise = keras.Input((latent_dim,))
        labels = keras.Input((), dtype="int32")
        body = keras.Sequential([layers.Dense(32), layers.BatchNormalization(), layers.Dense(784, activation="tanh"),
                                 layers.Reshape((28, 28, 1))])
        return keras.Model([noise, labels], body(layers.Concatenate()([noise, layers.Embedding(10, 5)(labels)])))

    assert_rejected("no activation in between", checks.check_generator, nested_without_activation, latent_dim=LATENT)


# --- fake_batch -----------------------------------------------------------------------------------


def draw(batch_size, latent_dim):
    return tf.random.normal([batch_size, latent_dim]), tf.random.uniform([batch_size], 0, 10, dtype=tf.int32)


def labels_drawn_twice(generator, batch_size, latent_dim):
    noise, labels = draw(batch_size, latent_dim)
    images = generator([noise, labels], training=True)
    return images, tf.random.uniform([batch_size], 0, 10, dtype=tf.int32)


def maxval_nine(generator, batch_size, latent_dim):
    labels = tf.random.uniform([batch_size], minval=0, maxval=9, dtype=tf.int32)
    return generator([tf.random.normal([batch_size, latent_dim]), labels], training=True), labels


def one_noise_for_the_batch(generator, batch_size, latent_dim):
    noise = tf.repeat(tf.random.normal([1, latent_dim]), batch_size, axis=0)
    labels = tf.random.uniform([batch_size], 0, 10, dtype=tf.int32)
    return generator([noise, labels], training=True), labels


def one_label_for_the_batch(generator, batch_size, latent_dim):
    labels = tf.fill([batch_size], tf.random.uniform([], 0, 10, dtype=tf.int32))
    return generator([tf.random.normal([batch_size, latent_dim]), labels], training=True), labels


def no_training_flag(generator, batch_size, latent_dim):
    noise, labels = draw(batch_size, latent_dim)
    return generator([noise, labels]), labels


def inference_mode(generator, batch_size, latent_dim):
    noise, labels = draw(batch_size, latent_dim)
    return generator([noise, labels], training=False), labels


def numpy_randomness(generator, batch_size, latent_dim):
    labels = np.random.randint(0, 10, size=batch_size)
    noise = np.random.normal(size=(batch_size, latent_dim)).astype("float32")
    return generator([noise, labels], training=True), labels


def numpy_randomness_of_a_fixed_size(generator, batch_size, latent_dim):
    labels = tf.constant(np.random.randint(0, 10, size=1000), tf.int32)[:batch_size]
    noise = tf.constant(np.random.normal(size=(1000, latent_dim)), tf.float32)[:batch_size]
    return generator([noise, labels], training=True), labels


def returned_in_the_wrong_order(generator, batch_size, latent_dim):
    noise, labels = draw(batch_size, latent_dim)
    return labels, generator([noise, labels], training=True)


def float_labels(generator, batch_size, latent_dim):
    labels = tf.floor(tf.random.uniform([batch_size], 0, 10))
    return generator([tf.random.normal([batch_size, latent_dim]), labels], training=True), labels


def two_positional_inputs(generator, batch_size, latent_dim):
    noise, labels = draw(batch_size, latent_dim)
    return generator(noise, labels), labels


def uniform_noise(generator, batch_size, latent_dim):
    labels = tf.random.uniform([batch_size], 0, 10, dtype=tf.int32)
    return generator([tf.random.uniform([batch_size, latent_dim], -1, 1), labels], training=True), labels


FAKE_BATCH_MISTAKES = {
    "labels_drawn_twice": (labels_drawn_twice, "not the ones the images were generated with"),
    "maxval_nine": (maxval_nine, "maxval=10"),
    "one_noise_for_the_batch": (one_noise_for_the_batch, "same noise vector"),
    "one_label_for_the_batch": (one_label_for_the_batch, "same label"),
    "no_training_flag": (no_training_flag, "training=None.*training=True"),
    "training_false": (inference_mode, "training=False.*training=True"),
    "numpy_randomness": (numpy_randomness, "compiled training step.*tf.random"),
    "numpy_randomness_frozen": (numpy_randomness_of_a_fixed_size, "same noise at every step.*traced"),
    "returned_in_the_wrong_order": (returned_in_the_wrong_order, "\\(images, labels\\), in that order"),
    "float_labels": (float_labels, "integers"),
    "two_positional_inputs": (two_positional_inputs, "list \\[noise, labels\\]"),
    "uniform_noise": (uniform_noise, "standard normal"),
    "returns_images_only": (lambda generator, n, d: generator([*draw(n, d)], training=True), "two things"),
    "noise_shape_without_brackets": (lambda generator, n, d: generator(
        [tf.random.normal(n, d), tf.random.uniform([n], 0, 10, dtype=tf.int32)], training=True), "fake_batch.*raised"),
}


def keras_random(generator, batch_size, latent_dim):
    labels = keras.random.randint((batch_size,), 0, 10, dtype="int32")
    return generator([keras.random.normal((batch_size, latent_dim)), labels], training=True), labels


def categorical_labels(generator, batch_size, latent_dim):
    labels = tf.random.categorical(tf.zeros([1, 10]), batch_size, dtype=tf.int32)[0]
    images = generator(inputs=(tf.random.normal(tf.stack([batch_size, latent_dim])), labels), training=True)
    return images, labels


test_fake_batch_mistake_is_rejected, test_fake_batch_written_differently_is_accepted = check_tests(
    functools.partial(checks.check_fake_batch, latent_dim=LATENT), FAKE_BATCH_MISTAKES,
    [keras_random, categorical_labels])


# --- discriminator_loss ---------------------------------------------------------------------------


def d_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0, source=bce, classes=ce):
    (real_source, real_classes), (fake_source, fake_classes) = real_out, fake_out
    loss = source(tf.fill(tf.shape(real_source), 1.0 - smoothing), real_source)
    loss += source(tf.zeros_like(fake_source), fake_source)
    return loss + classes(real_labels, real_classes) + classes(fake_labels, fake_classes)


def sigmoid_first(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    (rs, rc), (fs, fc) = real_out, fake_out
    return d_loss((tf.sigmoid(rs), rc), (tf.sigmoid(fs), fc), real_labels, fake_labels, smoothing)


def softmax_first(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    (rs, rc), (fs, fc) = real_out, fake_out
    return d_loss((rs, tf.nn.softmax(rc)), (fs, tf.nn.softmax(fc)), real_labels, fake_labels, smoothing)


def real_target_is_smoothing(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    return d_loss(real_out, fake_out, real_labels, fake_labels, 1.0 - smoothing if smoothing else 0.0)


def one_hot_targets(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    return d_loss(real_out, fake_out, tf.one_hot(real_labels, 10), tf.one_hot(fake_labels, 10), smoothing)


def numpy_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    return float(d_loss(real_out, fake_out, real_labels, fake_labels, smoothing).numpy())


def only_real_classified(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    (rs, rc), (fs, fc) = real_out, fake_out
    return bce(tf.ones_like(rs) - smoothing, rs) + bce(tf.zeros_like(fs), fs) + ce(real_labels, rc)


DISCRIMINATOR_MISTAKES = {
    "bce_without_from_logits": (lambda *a, smoothing=0.0: d_loss(
                                    *a, smoothing, source=keras.losses.BinaryCrossentropy()),
                                "source logits as probabilities.*from_logits=True"),
    "ce_without_from_logits": (lambda *a, smoothing=0.0: d_loss(
                                   *a, smoothing, classes=keras.losses.SparseCategoricalCrossentropy()),
                               "class logits as probabilities.*from_logits=True"),
    "sigmoid_around_the_logit": (sigmoid_first, "applied a sigmoid"),
    "softmax_around_the_logits": (softmax_first, "applied a softmax"),
    "only_real_classified": (only_real_classified, "real images only"),
    "real_target_is_smoothing": (real_target_is_smoothing, "target 0.1"),
    "smoothing_ignored": (lambda r, f, yr, yf, smoothing=0.0: d_loss(r, f, yr, yf), "did not change"),
    "one_hot_targets": (one_hot_targets, "discriminator_loss raised"),
    "numpy_loss": (numpy_loss, "no gradient"),
    "per_example_losses": (lambda r, f, yr, yf, smoothing=0.0: tf.stack(
        [d_loss(r, f, yr, yf, smoothing)] * 3), "one number"),
    "forgot_return": (lambda *a, smoothing=0.0: None, "returned None"),
}


def low_level_d_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    (rs, rc), (fs, fc) = real_out, fake_out
    source = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(rs) * (1.0 - smoothing), logits=rs)
    source = tf.reduce_mean(source) + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fs), logits=fs))
    real_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=real_labels, logits=rc)
    fake_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=fake_labels, logits=fc)
    return source + tf.reduce_mean(real_ce) + tf.reduce_mean(fake_ce)


def softplus_d_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0):
    (rs, rc), (fs, fc) = real_out, fake_out
    real_term = keras.ops.mean(keras.ops.softplus(rs) - (1.0 - smoothing) * rs)
    fake_term = keras.ops.mean(keras.ops.softplus(fs))
    log_p = keras.ops.log_softmax(keras.ops.concatenate([rc, fc], axis=0), axis=-1)
    picked = tf.gather(log_p, tf.concat([real_labels, fake_labels], 0), batch_dims=1)
    return real_term + fake_term - 2.0 * keras.ops.mean(picked)  # equal batch sizes: mean of both = sum of means / 2


test_discriminator_loss_mistake_is_rejected, test_discriminator_loss_written_differently_is_accepted = check_tests(
    checks.check_discriminator_loss, DISCRIMINATOR_MISTAKES, [low_level_d_loss, softplus_d_loss])


# --- generator_loss -------------------------------------------------------------------------------


GENERATOR_LOSS_MISTAKES = {
    "bce_without_from_logits": (lambda out, y: keras.losses.BinaryCrossentropy()(
        tf.ones_like(out[0]), out[0]) + ce(y, out[1]), "source logits as probabilities"),
    "ce_without_from_logits": (lambda out, y: bce(tf.ones_like(out[0]), out[0])
                               + keras.losses.SparseCategoricalCrossentropy()(y, out[1]),
                               "class logits as probabilities"),
    "sigmoid_around_the_logit": (lambda out, y: bce(tf.ones_like(out[0]), tf.sigmoid(out[0]))
                                 + ce(y, out[1]), "applied a sigmoid"),
    "saturating": (lambda out, y: -bce(tf.zeros_like(out[0]), out[0]) + ce(y, out[1]), "saturating"),
    "class_term_missing": (lambda out, y: bce(tf.ones_like(out[0]), out[0]), "class loss is missing"),
    "fakes_called_fake": (lambda out, y: bce(tf.zeros_like(out[0]), out[0]) + ce(y, out[1]), "called REAL"),
    "averaged_terms": (lambda out, y: (bce(tf.ones_like(out[0]), out[0]) + ce(y, out[1])) / 2, "averaged"),
    "numpy_loss": (lambda out, y: np.mean(np.logaddexp(0, -out[0].numpy())) + float(ce(y, out[1])), "no gradient"),
    "wrong_argument_order": (lambda out, y: ce(out[1], y) + bce(tf.ones_like(out[0]), out[0]), "generator_loss raised"),
}


def low_level_g_loss(fake_out, fake_labels):
    source, classes = fake_out
    return (tf.reduce_mean(tf.math.softplus(-source))
            + tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=fake_labels, logits=classes)))


def functional_g_loss(fake_out, fake_labels):
    source, classes = fake_out
    return (keras.ops.mean(keras.losses.binary_crossentropy(keras.ops.ones_like(source), source, from_logits=True))
            + keras.ops.mean(keras.losses.sparse_categorical_crossentropy(fake_labels, classes, from_logits=True)))


test_generator_loss_mistake_is_rejected, test_generator_loss_written_differently_is_accepted = check_tests(
    checks.check_generator_loss, GENERATOR_LOSS_MISTAKES, [low_level_g_loss, functional_g_loss])
