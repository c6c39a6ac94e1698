"""Chapter 04's checks against answers a learner might write: each wrong one rejected with a message
naming its mistake, each correct one (written differently from the solution) accepted."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import gan_mnist as checks
from tests.mutations.harness import check_tests

bce = keras.losses.BinaryCrossentropy(from_logits=True)
ones, zeros = tf.ones_like, tf.zeros_like


# --- exercise 1: make_dataset(images, batch_size) ----------------------------------------------

def pipeline(images, batch_size, scale=lambda x: 2.0 * x - 1.0, steps="cache shuffle batch prefetch"):
    """The solution's pipeline, its transformations applied in the order ``steps`` names them."""
    dataset = tf.data.Dataset.from_tensor_slices(scale(images))
    apply = {"cache": lambda d: d.cache(), "shuffle": lambda d: d.shuffle(len(images)),
             "batch": lambda d: d.batch(batch_size), "prefetch": lambda d: d.prefetch(tf.data.AUTOTUNE),
             "repeat": lambda d: d.repeat(), "small-shuffle": lambda d: d.shuffle(batch_size),
             "batch-128": lambda d: d.batch(128)}
    for step in steps.split():
        dataset = apply[step](dataset)
    return dataset


def forgot_return(images, batch_size):
    pipeline(images, batch_size)


def shuffle_without_buffer(images, batch_size):
    return tf.data.Dataset.from_tensor_slices(2 * images - 1).cache().shuffle().batch(batch_size)


def with_labels(images, batch_size):
    return tf.data.Dataset.from_tensor_slices((2 * images - 1, np.zeros(len(images)))).batch(batch_size)


DATASET_MISTAKES = {
    "no-scaling": (lambda x, b: pipeline(x, b, scale=lambda x: x), r"2 \* x - 1"),
    "times-two": (lambda x, b: pipeline(x, b, scale=lambda x: 2 * x), "did not subtract 1"),
    "divided-again": (lambda x, b: pipeline(x, b, scale=lambda x: x / 127.5 - 1), r"already in \[0, 1\]"),
    "no-shuffle": (lambda x, b: pipeline(x, b, steps="cache batch prefetch"), "shuffle the images"),
    "shuffle-after-batch": (lambda x, b: pipeline(x, b, steps="cache batch shuffle prefetch"),
                            r"shuffle.*before.*\.batch"),
    "shuffle-before-cache": (lambda x, b: pipeline(x, b, steps="shuffle cache batch prefetch"),
                             r"shuffle AFTER \.cache\(\)"),
    "buffer-of-one-batch": (lambda x, b: pipeline(x, b, steps="cache small-shuffle batch prefetch"),
                            "buffer"),
    "repeat-forever": (lambda x, b: pipeline(x, b, steps="cache shuffle batch repeat prefetch"), r"repeat"),
    "no-batch": (lambda x, b: pipeline(x, b, steps="cache shuffle prefetch"), r"\.batch\(batch_size\)"),
    "global-batch-size": (lambda x, b: pipeline(x, b, steps="cache shuffle batch-128 prefetch"),
                          "batch_size argument"),
    "no-prefetch": (lambda x, b: pipeline(x, b, steps="cache shuffle batch"), r"\.prefetch"),
    "no-cache": (lambda x, b: pipeline(x, b, steps="shuffle batch prefetch"), r"\.cache\(\)"),
    "labels-kept": (with_labels, "tuples"),
    "numpy-returned": (lambda x, b: 2 * x - 1, r"tf\.data\.Dataset"),
    "forgot-return": (forgot_return, r"returned None.*return"),
    "raises": (shuffle_without_buffer, r"make_dataset.*raised.*TypeError"),
}


def scale_after_batching(images, batch_size):
    return (tf.data.Dataset.from_tensor_slices(images).cache().shuffle(len(images), reshuffle_each_iteration=True)
            .batch(batch_size, drop_remainder=True).map(lambda x: x * 2 - 1).prefetch(tf.data.AUTOTUNE))


def scaled_with_keras_ops(images, batch_size):
    scaled = keras.ops.subtract(keras.ops.multiply(images, 2.0), 1.0)
    dataset = tf.data.Dataset.from_tensor_slices(scaled).cache()
    return dataset.shuffle(buffer_size=10_000).batch(batch_size).prefetch(buffer_size=2)


test_make_dataset_rejects, test_make_dataset_accepts = check_tests(
    checks.check_make_dataset, DATASET_MISTAKES, [scale_after_batching, scaled_with_keras_ops])


# --- exercise 2: discriminator_loss(real_logits, fake_logits, smoothing) ----------------------------

def per_image_loss(r, f, s):
    return (keras.losses.binary_crossentropy((1 - s) * ones(r), r, from_logits=True)
            + keras.losses.binary_crossentropy(zeros(f), f, from_logits=True))


def through_numpy(r, f, s):
    return tf.constant((bce((1 - s) * ones(r), r) + bce(zeros(f), f)).numpy())


def label_shape_typo(r, f, s):
    return bce(tf.fill(r.shape, 1 - s, name=None, dtype=tf.float32), r) + bce(zeros(f), f)


D_LOSS_MISTAKES = {
    "fakes-labelled-real": (lambda r, f, s: bce((1 - s) * ones(r), r) + bce(ones(f), f), "fakes are labelled real"),
    "labels-swapped": (lambda r, f, s: bce(zeros(r), r) + bce(ones(f), f), "labels are swapped"),
    "smoothing-on-fakes": (lambda r, f, s: bce((1 - s) * ones(r), r) + bce(s * ones(f), f),
                           "smoothing is applied to the fakes"),
    "smoothing-ignored": (lambda r, f, s: bce(ones(r), r) + bce(zeros(f), f), "smoothing argument is ignored"),
    "smoothing-as-label": (lambda r, f, s: bce(s * ones(r), r) + bce(zeros(f), f), "1 - smoothing"),
    "smoothing-hard-coded": (lambda r, f, s: bce(0.9 * ones(r), r) + bce(zeros(f), f),
                             "smoothing argument is ignored.*0.9"),
    "from-logits-forgotten": (lambda r, f, s: keras.losses.BinaryCrossentropy()((1 - s) * ones(r), r)
                              + keras.losses.BinaryCrossentropy()(zeros(f), f), "from_logits=True"),
    "sigmoid-around-logits": (lambda r, f, s: bce((1 - s) * ones(r), tf.sigmoid(r)) + bce(zeros(f), tf.sigmoid(f)),
                              "sigmoid"),
    "real-term-only": (lambda r, f, s: bce((1 - s) * ones(r), r), "only the real images"),
    "summed-over-batch": (lambda r, f, s: tf.reduce_sum(per_image_loss(r, f, s)), "summed over the batch"),
    "one-loss-per-image": (per_image_loss, "one number"),
    "forgot-return": (lambda r, f, s: None, r"returned None"),
    "computed-in-numpy": (through_numpy, "no gradient"),
    "raises": (label_shape_typo, r"discriminator_loss.*raised.*TypeError"),
}


def d_loss_by_softplus(real_logits, fake_logits, smoothing):
    """BCE(y, l) = softplus(l) - y * l, written out."""
    real = tf.nn.softplus(real_logits) - (1.0 - smoothing) * real_logits
    return tf.reduce_mean(real) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def d_loss_tf_nn(real_logits, fake_logits, smoothing):
    real = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(real_logits) * (1 - smoothing),
                                                   logits=real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return 0.5 * (tf.reduce_mean(real) + tf.reduce_mean(fake))


def d_loss_keras_ops(real_logits, fake_logits, smoothing):
    logits = keras.ops.concatenate([real_logits, fake_logits], axis=0)
    labels = keras.ops.concatenate([keras.ops.full_like(real_logits, 1 - smoothing),
                                    keras.ops.zeros_like(fake_logits)], axis=0)
    return keras.ops.mean(keras.ops.binary_crossentropy(labels, logits, from_logits=True))


test_discriminator_loss_rejects, test_discriminator_loss_accepts = check_tests(
    checks.check_discriminator_loss, D_LOSS_MISTAKES, [d_loss_by_softplus, d_loss_tf_nn, d_loss_keras_ops])


# --- exercise 3: generator_loss(fake_logits) ---------------------------------------------------------

G_LOSS_MISTAKES = {
    "saturating": (lambda f: -bce(zeros(f), f), "saturating loss"),
    "saturating-by-hand": (lambda f: tf.reduce_mean(tf.math.log(1.0 - tf.sigmoid(f))), "saturating loss"),
    "fakes-labelled-fake": (lambda f: bce(zeros(f), f), "labelled 0"),
    "smoothed-target": (lambda f: bce(0.9 * ones(f), f), "do not smooth the generator's labels"),
    "from-logits-forgotten": (lambda f: keras.losses.BinaryCrossentropy()(ones(f), f), "from_logits=True"),
    "sigmoid-around-logits": (lambda f: bce(ones(f), tf.sigmoid(f)), "sigmoid"),
    "summed-over-batch": (lambda f: tf.reduce_sum(keras.losses.binary_crossentropy(ones(f), f, from_logits=True)),
                          "summed over the batch"),
    "one-loss-per-image": (lambda f: keras.losses.binary_crossentropy(ones(f), f, from_logits=True), "one number"),
    "forgot-return": (lambda f: None, r"returned None"),
    "computed-in-numpy": (lambda f: tf.constant(bce(ones(f), f).numpy()), "no gradient"),
    "raises": (lambda f: bce(ones(f), f, from_logits=True), r"generator_loss.*raised.*TypeError"),
}


test_generator_loss_rejects, test_generator_loss_accepts = check_tests(checks.check_generator_loss, G_LOSS_MISTAKES, {
    "softplus": lambda f: tf.reduce_mean(tf.nn.softplus(-f)),
    "log-sigmoid": lambda f: -keras.ops.mean(keras.ops.log_sigmoid(f)),
    "tf-nn": lambda f: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(f), logits=f)),
})


# --- exercise 4: make_train_step(generator, discriminator, g_optimizer, d_optimizer, smoothing) ------

def discriminator_loss(real_logits, fake_logits, smoothing=0.1):
    return bce(tf.fill(tf.shape(real_logits), 1.0 - smoothing), real_logits) + bce(zeros(fake_logits), fake_logits)


def generator_loss(fake_logits):
    return bce(ones(fake_logits), fake_logits)


def standard_noise(batch_size, latent_dim, real_images):
    return tf.random.normal([batch_size, latent_dim])


def train_step_with(noise=standard_noise, g_training=True, d_training=True, d_loss=discriminator_loss,
                    g_loss=generator_loss, pass_smoothing=True, d_vars_also_g=False, g_vars_also_d=False,
                    one_tape=False):
    """The solution's make_train_step with one part written as a learner might write it."""

    def make_train_step(generator, discriminator, g_optimizer, d_optimizer, smoothing=0.1):
        latent_dim = generator.input_shape[-1]

        @tf.function
        def train_step(real_images):
            batch_size = tf.shape(real_images)[0]
            z = noise(batch_size, latent_dim, real_images)
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake_images = generator(z, training=g_training)
                real_logits = discriminator(real_images, training=d_training)
                fake_logits = discriminator(fake_images, training=d_training)
                d = d_loss(real_logits, fake_logits, smoothing) if pass_smoothing else d_loss(real_logits, fake_logits)
                g = g_loss(fake_logits)
            d_vars = discriminator.trainable_variables + (generator.trainable_variables if d_vars_also_g else [])
            g_vars = generator.trainable_variables + (discriminator.trainable_variables if g_vars_also_d else [])
            d_optimizer.apply_gradients(zip(d_tape.gradient(d, d_vars), d_vars))
            g_optimizer.apply_gradients(zip((d_tape if one_tape else g_tape).gradient(g, g_vars), g_vars))
            return {"d_loss": d, "g_loss": g, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                    "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

        return train_step

    return make_train_step


def logits_outside_the_tape(generator, discriminator, g_optimizer, d_optimizer, smoothing=0.1):
    @tf.function
    def train_step(real_images):
        noise = tf.random.normal([tf.shape(real_images)[0], generator.input_shape[-1]])
        fake_logits = discriminator(generator(noise, training=True), training=True)
        with tf.GradientTape() as d_tape:
            real_logits = discriminator(real_images, training=True)
            d = discriminator_loss(real_logits, discriminator(generator(noise, training=True), training=True),
                                   smoothing)
        with tf.GradientTape() as g_tape:
            g = generator_loss(fake_logits)
        d_optimizer.apply_gradients(zip(d_tape.gradient(d, discriminator.trainable_variables),
                                        discriminator.trainable_variables))
        g_optimizer.apply_gradients(zip(g_tape.gradient(g, generator.trainable_variables),
                                        generator.trainable_variables))
        return {"d_loss": d, "g_loss": g, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


TRAIN_STEP_MISTAKES = {
    "d-without-training-flag": (train_step_with(d_training=None), "discriminator is called without training=True"),
    "g-in-inference-mode": (train_step_with(g_training=False), "generator is called without training=True"),
    "one-noise-vector-per-batch": (train_step_with(noise=lambda b, d, x: tf.random.normal([1, d])),
                                   "one noise vector per"),
    "same-noise-for-every-image": (train_step_with(noise=lambda b, d, x: tf.repeat(tf.random.normal([1, d]), b, 0)),
                                   "same noise vector"),
    "fixed-number-of-noise-vectors": (train_step_with(noise=lambda b, d, x: tf.random.normal([128, d])),
                                      r"one noise vector per"),
    "uniform-noise": (train_step_with(noise=lambda b, d, x: tf.random.uniform([b, d])), "standard normal"),
    "numpy-noise-in-tf-function": (
        train_step_with(noise=lambda b, d, x: np.random.normal(size=(x.shape[0], d)).astype("float32")), "NumPy"),
    "fakes-labelled-real": (train_step_with(d_loss=lambda r, f, s: bce((1 - s) * ones(r), r) + bce(ones(f), f)),
                            "fakes are labelled real"),
    "smoothing-not-passed": (train_step_with(pass_smoothing=False), "smoothing"),
    "saturating-generator-loss": (train_step_with(g_loss=lambda f: -bce(zeros(f), f)), "saturating"),
    "generator-step-updates-d": (train_step_with(g_vars_also_d=True), "generator step also updates the discriminator"),
    "d-step-updates-generator": (train_step_with(d_vars_also_g=True), "discriminator step also updates the generator"),
    "one-tape-asked-twice": (train_step_with(one_tape=True), "tape"),
    "logits-outside-the-tape": (logits_outside_the_tape, "no gradient reached the generator"),
}


def alternating_updates(generator, discriminator, g_optimizer, d_optimizer, smoothing=0.1):
    """A discriminator update, then a generator update on fresh noise (the classic alternation)."""
    latent_dim = generator.input_shape[-1]

    @tf.function
    def train_step(real_images):
        n = tf.shape(real_images)[0]
        with tf.GradientTape() as tape:
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(generator(keras.random.normal((n, latent_dim)), training=True), training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, smoothing)
        d_optimizer.apply(tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = generator_loss(discriminator(generator(keras.random.normal((n, latent_dim)), training=True),
                                                  training=True))
        g_optimizer.apply(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def one_persistent_tape(generator, discriminator, g_optimizer, d_optimizer, smoothing=0.1):
    @tf.function
    def train_step(real_images):
        noise = tf.random.normal(tf.stack([tf.shape(real_images)[0], generator.input_shape[-1]]))
        with tf.GradientTape(persistent=True) as tape:
            fake_logits = discriminator(generator(noise, training=True), training=True)
            real_logits = discriminator(real_images, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, smoothing)
            g_loss = generator_loss(fake_logits)
        for loss, model, optimizer in ((d_loss, discriminator, d_optimizer), (g_loss, generator, g_optimizer)):
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        del tape
        return {"d_loss": d_loss, "g_loss": g_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def check_train_step_in_graph_mode(answer):
    """check_train_step (on a small latent space), which must leave tf.functions compiled however it ends."""
    try:
        checks.check_train_step(answer, latent_dim=8)
    finally:
        assert not tf.config.functions_run_eagerly(), "check_train_step left tf.functions running eagerly"


test_train_step_rejects, test_train_step_accepts = check_tests(
    check_train_step_in_graph_mode, TRAIN_STEP_MISTAKES, [alternating_updates, one_persistent_tape])
