"""A trained MNIST generator for chapters that *use* a GAN rather than teach one.

Chapter 04 builds and trains a GAN step by step. Later chapters (09, steering a generator)
only need a trained generator, and a learner should not have to run chapter 04 first:
``trained_generator()`` trains chapter 04's GAN once and caches the generator in
``data.cache_dir()``, so re-runs load it in a second. Smoke runs train for a few steps under a
separate file name, so a smoke generator never serves a full run. Delete the cached files to
train again.

The recipe is chapter 04's solution, packaged: the same fully connected networks, the
non-saturating loss of Goodfellow et al. (2014) with one-sided label smoothing (Salimans et al.,
2016), Adam(2e-4, beta_1=0.5), both players updated from one forward pass, and the generator's
weights averaged over the recent steps (Yazici et al., 2019). Two differences, both of form:
``fit`` runs the loop that chapter 04 writes by hand, and the optimizer keeps the average
(``use_ema``) that chapter 04 updates itself. The generator maps noise ``z ~ N(0, I)`` of
``LATENT_DIM`` numbers to images (N, 28, 28, 1) with pixels in [0, 1] (its tanh output rescaled),
the range the course's MNIST classifier reads.
"""

import json
import time

import keras
import numpy as np
import tensorflow as tf

from course_utils import data, progress, runmode

LATENT_DIM = 100
HIDDEN = (128, 256, 512)  # generator widths; the discriminator uses them in reverse
BATCH_SIZE = 128
FULL_EPOCHS = 60
SMOKE_STEPS = 20
LABEL_SMOOTHING = 0.1  # one-sided: real images are labelled 0.9 for the discriminator
EMA_DECAY = 0.999  # the generator's averaged weights span about the last 1,000 steps

layers = keras.layers


def build_generator(latent_dim=LATENT_DIM):
    """Noise (N, latent_dim) -> images (N, 28, 28, 1) in [0, 1]: chapter 04's generator."""
    model = keras.Sequential([keras.Input((latent_dim,))], name="generator")
    for units in HIDDEN:
        model.add(layers.Dense(units))
        model.add(layers.LeakyReLU(0.2))
    model.add(layers.Dense(28 * 28, activation="tanh"))
    model.add(layers.Reshape((28, 28, 1)))
    model.add(layers.Rescaling(0.5, offset=0.5))  # tanh's [-1, 1] -> pixels in [0, 1]
    return model


def build_discriminator():
    """Images (N, 28, 28, 1) in [0, 1] -> one logit each (real if positive): chapter 04's discriminator."""
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(2.0, offset=-1.0), layers.Flatten()],
                             name="discriminator")
    for units in reversed(HIDDEN):
        model.add(layers.Dense(units))
        model.add(layers.LeakyReLU(0.2))
        model.add(layers.Dropout(0.3))
    model.add(layers.Dense(1))
    return model


class GAN(keras.Model):
    """Generator and discriminator trained together by ``fit``: both updated from one forward pass."""

    def __init__(self, generator, discriminator, seed=0):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, g_optimizer, d_optimizer):
        super().compile()
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            d_loss = (self.bce(tf.fill(tf.shape(real_logits), 1.0 - LABEL_SMOOTHING), real_logits)
                      + self.bce(tf.zeros_like(fake_logits), fake_logits))
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)  # non-saturating loss
        d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}


def train_gan(images, epochs, steps_per_epoch=None, latent_dim=LATENT_DIM, batch_size=BATCH_SIZE, verbose=0):
    """Train a fresh GAN on ``images`` (N, 28, 28, 1) in [0, 1]; return (averaged generator, history).

    ``steps_per_epoch=None`` uses every image once per epoch; ``history`` holds the mean
    discriminator and generator loss of each epoch. ``verbose=0`` draws one progress bar over the epochs.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"train_gan expects MNIST-shaped images (N, 28, 28, 1); got {images.shape}.")
    if images.min() < 0.0 or images.max() > 1.0:
        raise ValueError(f"pixels must lie in [0, 1]; got [{images.min():.3g}, {images.max():.3g}].")
    dataset = (tf.data.Dataset.from_tensor_slices(images).cache().shuffle(len(images), seed=0)
               .batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    steps_per_epoch = steps_per_epoch or len(images) // batch_size
    gan = GAN(build_generator(latent_dim), build_discriminator())
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=EMA_DECAY),
                d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    history = gan.fit(dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=False,  # shuffled above
                      verbose=verbose, callbacks=[progress.EpochBarCallback("MNIST GAN")])
    gan.g_optimizer.finalize_variable_values(gan.generator.trainable_variables)  # the averaged weights
    return gan.generator, {name: [float(v) for v in values] for name, values in history.history.items()}


def _cache_paths(latent_dim, epochs):
    stem = f"mnist_gan_dense_ema_z{latent_dim}_e{epochs}_{runmode.mode()}"
    return data.cache_dir() / f"{stem}.keras", data.cache_dir() / f"{stem}.json"


def trained_generator(latent_dim=LATENT_DIM):
    """A trained MNIST generator and its training record, from the cache or trained now.

    Full runs train ``FULL_EPOCHS`` epochs on the 60,000 training digits; smoke runs
    ``SMOKE_STEPS`` steps on 1,024 digits. Returns ``(generator, info)``, ``info`` being a dict
    with the mode, epochs, steps, training seconds and the per-epoch loss history. Prints
    whether it trained or loaded the generator.
    """
    epochs = runmode.epochs(full=FULL_EPOCHS, smoke=1)
    model_path, info_path = _cache_paths(latent_dim, epochs)
    if model_path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        print(f"Loaded the cached MNIST generator ({info['mode']} mode, {info['epochs']} epochs, "
              f"{info['steps']:,} steps, trained in {info['train_seconds']:.0f} s)")
        return keras.models.load_model(model_path), info
    images, _ = data.load_mnist("train")
    images = images[:runmode.examples(full=None, smoke=1024)]
    steps = runmode.steps(full=None, smoke=SMOKE_STEPS)
    print(f"Training the MNIST generator ({len(images):,} images, {epochs} epochs); it is cached afterwards.")
    start = time.perf_counter()
    generator, history = train_gan(images, epochs, steps_per_epoch=steps, latent_dim=latent_dim)
    seconds = time.perf_counter() - start
    info = {"mode": runmode.mode(), "epochs": epochs, "steps": epochs * (steps or len(images) // BATCH_SIZE),
            "latent_dim": latent_dim, "train_images": len(images), "train_seconds": round(seconds, 1),
            "history": history}
    generator.save(model_path)
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"Trained in {seconds:.0f} s; cached as {model_path.name} in the course's cache folder.")
    return generator, info
