"""A trained MNIST generator for chapters that *use* a GAN rather than teach one.

Chapter 04 builds and trains a GAN step by step. Later chapters (09, steering a generator)
only need a trained generator, and a learner should not have to run chapter 04 first:
``trained_generator()`` trains chapter 04's GAN once and caches the generator in
``data.cache_dir()``, so re-runs load it in a second. Smoke runs train for a few steps under a
separate file name, so a smoke generator never serves a full run, and a change to chapter 04's
exported code trains anew. A run that the course runner records from its start trains anew too
(and refreshes the cache), so that chapter 09's stored outputs and time include the training.
Delete the cached files to train again.

The networks, the losses, the input pipeline and the training step are chapter 04's own code
(``course_utils.chapters.ch04``, generated from that notebook's cells tagged ``export``): the
non-saturating loss of Goodfellow et al. (2014) with one-sided label smoothing (Salimans et al.,
2016), Adam(2e-4, beta_1=0.5), both players updated from one forward pass. This module adds the
loop over epochs and the generator's weight average (Yazici et al., 2019), which it leaves to the
optimizer (``use_ema``) where chapter 04 updates it by hand. The generator maps noise
``z ~ N(0, I)`` of ``LATENT_DIM`` numbers to images (N, 28, 28, 1) with pixels in [0, 1] (chapter
04's tanh output rescaled), the range the course's MNIST classifier reads.
"""

import hashlib
import json
import time
from pathlib import Path

import keras
import numpy as np

from course_utils import data, progress, runmode
from course_utils.chapters import ch04

LATENT_DIM = ch04.LATENT_DIM
BATCH_SIZE = ch04.BATCH_SIZE
FULL_EPOCHS = 64  # chapter 04's full run
SMOKE_STEPS = 20
EMA_DECAY = 0.999  # chapter 04's: the averaged weights span about the last 1,000 steps


def in_unit_range(generator):
    """Chapter 04's generator (pixels in [-1, 1], its tanh) with its pixels rescaled to [0, 1]."""
    return keras.Sequential([generator, keras.layers.Rescaling(0.5, offset=0.5)], name="generator")


def build_generator(latent_dim=LATENT_DIM):
    """Noise (N, latent_dim) -> images (N, 28, 28, 1) in [0, 1]: an untrained chapter 04 generator."""
    return in_unit_range(ch04.build_generator(latent_dim))


def train_gan(images, epochs, steps_per_epoch=None, latent_dim=LATENT_DIM, batch_size=BATCH_SIZE):
    """Train a fresh GAN on ``images`` (N, 28, 28, 1) in [0, 1]; return (averaged generator, history).

    ``steps_per_epoch=None`` uses every image once per epoch; ``history`` holds the mean
    discriminator and generator loss of each epoch. One progress bar is drawn over the epochs.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(f"train_gan expects MNIST-shaped images (N, 28, 28, 1); got {images.shape}.")
    if images.min() < 0.0 or images.max() > 1.0:
        raise ValueError(f"pixels must lie in [0, 1]; got [{images.min():.3g}, {images.max():.3g}].")
    dataset = ch04.make_dataset(images, batch_size).repeat()
    steps_per_epoch = steps_per_epoch or len(images) // batch_size
    generator = ch04.build_generator(latent_dim)
    g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=EMA_DECAY)
    d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
    train_step = ch04.make_train_step(generator, ch04.build_discriminator(), g_optimizer, d_optimizer)
    history = {"d_loss": [], "g_loss": []}
    batches = iter(dataset)
    bar = progress.EpochBar(epochs, description="MNIST GAN")
    for _ in range(epochs):
        losses = [train_step(next(batches)) for _ in range(steps_per_epoch)]
        for name in history:
            history[name].append(float(np.mean([float(step[name]) for step in losses])))
        bar.update({name: values[-1] for name, values in history.items()})
    bar.close()
    g_optimizer.finalize_variable_values(generator.trainable_variables)  # the averaged weights
    return in_unit_range(generator), history


def _cache_paths(latent_dim, epochs):
    """Cache files named by the settings, the mode and chapter 04's code: a change to any of them retrains."""
    recipe = hashlib.sha256(Path(ch04.__file__).read_bytes()).hexdigest()[:8]
    stem = f"mnist_gan_dense_ema_z{latent_dim}_e{epochs}_{runmode.mode()}_{recipe}"
    return data.cache_dir() / f"{stem}.keras", data.cache_dir() / f"{stem}.json"


def trained_generator(latent_dim=LATENT_DIM):
    """A trained MNIST generator and its training record, from the cache or trained now (always trained
    in a run that the course runner records from its start).

    Full runs train ``FULL_EPOCHS`` epochs on the 60,000 training digits; smoke runs
    ``SMOKE_STEPS`` steps on 1,024 digits. Returns ``(generator, info)``, ``info`` being a dict
    with the mode, epochs, steps, training seconds and the per-epoch loss history. Prints
    whether it trained or loaded the generator.
    """
    epochs = runmode.epochs(full=FULL_EPOCHS, smoke=1)
    model_path, info_path = _cache_paths(latent_dim, epochs)
    if model_path.exists() and info_path.exists() and not runmode.records_whole_run():
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
