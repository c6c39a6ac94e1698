"""Training speed of the course's GAN code against a plain reference implementation.

    python -m tools.benchmark            # writes solutions/results/benchmark.json

For the fully connected GAN of chapter 04 and the DCGAN of chapter 05, it times training
steps per second of the course's own code (taken from the solution notebooks with
``notebook_code.notebook_definitions``) against a reference written in the style of the
TensorFlow DCGAN tutorial: a Python loop calling a ``tf.function`` step that computes both
losses in one forward pass under two tapes. Both sides train the same models (built by the
notebook's own functions), with the same optimizer settings, batch size and data. The course
computes in the precision its notebooks get from ``accelerator.setup(mixed_precision=True)`` on
this machine (bfloat16 on a CPU with AMX units), the reference in plain float32; where the two
differ, the course's code also runs in float32 (``course_float32``), which shows how much of the
difference is the precision. The runs of the sides alternate in a rotating order (``rounds``
times each side in each place), so a busy machine slows all alike. A run's
rate counts the steps after its first: the first step of a run carries what a training run pays
once (a fresh iterator's first batch and, for ``fit``, its set-up), and is reported on its own
(``first_step_s``, the median). The ratio of the best rates is reported (> 1: the course is
faster), with the ratio of the medians beside it. A further side, a second copy of the reference
timed in the same alternation, gives the control ratio: how far from 1.0 two identical
implementations land on this machine, i.e. the noise of the measurement.

    python -m tools.benchmark --quality [--minutes M]   # quality per training minute, against a peer
    python -m tools.benchmark --text [--minutes M]      # chapter 10's LSTM against chapter 12's transformer
                                                        # (tools.benchmark_text says how)

The quality case (``quality_case``) asks what the speed buys: on this machine and in one run, it
trains two recipes on all 60,000 MNIST training images for the same training time (by default
chapter 04's full-run training time, read from ``solutions/results/04_gan_mnist.json``) and
measures both at the same training minutes:

1. the recipe of the TensorFlow DCGAN tutorial (https://www.tensorflow.org/tutorials/generative/dcgan):
   its convolutional generator and discriminator (``tutorial_generator``, ``tutorial_discriminator``),
   noise of 100, batches of 256 from a full shuffle buffer (the last batch of an epoch short, as there),
   Adam 1e-4 for both nets, its ``tf.function`` step (``reference_train_step``) in float32, samples from
   the generator itself (the tutorial keeps no average);
2. chapter 04's recipe, taken from the solution notebook with ``notebook_definitions`` and built and
   trained as the notebook does: its dense nets, ``make_dataset`` (batches of 128), ``make_train_step``
   with Adam 2e-4 and beta_1 0.5, the dtype policy ``accelerator.setup(mixed_precision=True)`` gives on
   this machine, ``update_average()`` after every step, and samples from the averaged generator.

Both are seeded as the chapter is (``runmode.set_seed(0)``: seeds and deterministic ops). They train in
alternating chunks in one process: the tutorial trains until its clock reaches the next measurement
time and is measured, then chapter 04's recipe does the same, and so on, so that a machine that grows
busier or quieter slows both alike. Each recipe's clock counts training alone (its first step's
tracing included, as a training run pays it) and stops while it is measured; a chunk ends after the
step that crosses the measurement time, so the recorded minutes overshoot it by at most a step.
Measured: the Frechet distance in the features of the course's MNIST classifier
(``metrics.domain_features``) between 2,000 samples (fixed noise) and the first 2,000 MNIST test images,
and the share of samples confidently classified (``metrics.confident_share``), with the same share of
those test images and the floor (2,000 real training images against them) beside it. Reported per
recipe: the curve, the final values, the steps and epochs trained and the first measured minute with
Frechet distance <= 50 ("> budget" if none); then the ratio of those minutes (tutorial / course) and the
ratio of the final distances (tutorial / course). It is merged into ``benchmark.json`` under "quality"
beside the speed cases, and drawn into ``solutions/results/benchmark_quality.png``.
"""

import argparse
import datetime
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_utils import accelerator, data, metrics, results, runmode
from course_utils.files import atomic_write
from tools.notebook_code import notebook_definitions
from tools.run_course import RESULTS_DIR, REPO_ROOT, versions, write_json

ADAM = {"learning_rate": 2e-4, "beta_1": 0.5}
GAN_MNIST_NOTEBOOK = REPO_ROOT / "solutions" / "04_gan_mnist.ipynb"


def reference_train_step(generator, discriminator, latent_dim, batch_size, adam=ADAM):
    """A training step in the style of the TensorFlow DCGAN tutorial (its own optimizers, Adam with ``adam``)."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer, discriminator_optimizer = keras.optimizers.Adam(**adam), keras.optimizers.Adam(**adam)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch_size, latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gen_grads, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(disc_grads, discriminator.trainable_variables))

    return train_step


def batches(images, batch_size):
    """Endless shuffled batches of images already in [-1, 1], cached and prefetched."""
    return (tf.data.Dataset.from_tensor_slices(images).cache().shuffle(len(images))
            .batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))


def _loop(step):
    """A timed run of a Python loop over ``step``: one start-up step, then ``steps`` timed ones.

    The run returns the seconds of its first step (with a fresh iterator's first batch: paid once
    per training run) and the seconds of the ``steps`` that follow (the steady rate).
    """
    def run(dataset, steps):
        called = time.perf_counter()
        batches_of_run = iter(dataset.take(steps + 1))
        step(next(batches_of_run))
        start = time.perf_counter()
        for images in batches_of_run:
            step(images)
        return start - called, time.perf_counter() - start
    return run


class _StepClock(keras.callbacks.Callback):
    """When a fit's first step ended, and the seconds from then to the end of its last step."""

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if batch == 0:
            self.first_step_end = now
        self.seconds = now - self.first_step_end


def _fit_run(model):
    """A timed run of ``model.fit``, split like ``_loop``'s: the first step includes fit's set-up."""
    def run(dataset, steps):
        clock = _StepClock()
        called = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        return clock.first_step_end - called, clock.seconds
    return run


def _sides(make_run, policy):
    """The timed sides of a case; ``make_run(policy, reference)`` builds fresh models and returns a run.

    The course trains under the dtype policy its notebooks get from ``accelerator.setup(mixed_precision=True)``
    on this machine; where that is not float32, the course's code in float32 runs too, so that the
    report separates what the precision gains from what the code does. The reference (and its control
    copy) is the plain float32 of the tutorial.
    """
    sides = {"course": make_run(policy, reference=False)}
    if policy != "float32":
        sides["course_float32"] = make_run("float32", reference=False)
    sides["reference"] = make_run("float32", reference=True)
    sides["control"] = make_run("float32", reference=True)
    return sides


def gan_mnist_case(batch_size, policy):
    """Chapter 04: the course's ``make_train_step`` against the reference, on MNIST."""
    ns = notebook_definitions(GAN_MNIST_NOTEBOOK)
    x, _ = data.load_mnist("train")

    def make_run(policy, reference):
        with accelerator.global_policy(policy):
            generator, discriminator = ns["build_generator"](), ns["build_discriminator"]()
        if reference:
            return _loop(reference_train_step(generator, discriminator, ns["LATENT_DIM"], batch_size))
        return _loop(ns["make_train_step"](generator, discriminator, keras.optimizers.Adam(**ADAM),
                                           keras.optimizers.Adam(**ADAM)))

    return batches(2.0 * x[: 50 * batch_size] - 1.0, batch_size), _sides(make_run, policy)


def dcgan_svhn_case(batch_size, policy):
    """Chapter 05: the course's ``DCGAN.fit`` against the reference, on the SVHN data at hand."""
    ns = notebook_definitions(REPO_ROOT / "solutions" / "05_dcgan_svhn.ipynb")
    x, _, _ = data.load_svhn("train", n=50 * batch_size, value_range=(-1, 1))
    latent_dim = ns["LATENT_DIM"]

    def make_run(policy, reference):
        with accelerator.global_policy(policy):
            generator, discriminator = ns["build_generator"](latent_dim), ns["build_discriminator"]()
            if reference:
                return _loop(reference_train_step(generator, discriminator, latent_dim, batch_size))
            gan = ns["DCGAN"](generator, discriminator, latent_dim)
            gan.compile(d_optimizer=keras.optimizers.Adam(**ADAM), g_optimizer=keras.optimizers.Adam(**ADAM))
        return _fit_run(gan)

    return batches(x, batch_size), _sides(make_run, policy)


# Each case with the steps per timed run that make a run last a few seconds on a 2-core CPU: runs
# of under a second were too short to time on a machine whose speed varies from second to second.
CASES = {"04 GAN (MNIST, dense)": (gan_mnist_case, 200), "05 DCGAN (SVHN data, conv)": (dcgan_svhn_case, 40)}


def measure(case, steps, rounds, batch_size, policy="float32"):
    """Steps/s of the course's code, the reference and its control copy, in alternating runs."""
    dataset, sides = case(batch_size, policy)
    repeats = rounds * len(sides)
    for run in sides.values():
        run(dataset, 2)  # trace and warm up every side before timing
    rates, start_ups = {name: [] for name in sides}, {name: [] for name in sides}
    names = list(sides)
    for repeat in range(repeats):
        # Rotate the order so that each side runs in each place equally often: a side that always
        # ran right after another would carry whatever that position costs or saves.
        first = repeat % len(names)
        for name in names[first:] + names[:first]:
            start_up, seconds = sides[name](dataset, steps)
            start_ups[name].append(start_up)
            rates[name].append(steps / seconds)
    # The fastest run of each side is the one least slowed by whatever else the machine did (the
    # convention of Python's timeit); the ratio of the medians is kept as a second opinion.
    best = {name: max(values) for name, values in rates.items()}
    median = {name: statistics.median(values) for name, values in rates.items()}
    result = {"course_policy": policy, "reference_policy": "float32",
              "course_steps_per_s": round(best["course"], 2), "reference_steps_per_s": round(best["reference"], 2)}
    # Each side against the reference: "ratio" for the course, "control_ratio", "course_float32_ratio".
    for side, prefix in (("course", ""), ("control", "control_"), ("course_float32", "course_float32_")):
        if side in sides:
            result[f"{prefix}ratio"] = round(best[side] / best["reference"], 3)
            result[f"{prefix}median_ratio"] = round(median[side] / median["reference"], 3)
    result.update({"first_step_s": {name: round(statistics.median(values), 3) for name, values in start_ups.items()},
                   "steps": steps, "repeats": repeats, "batch_size": batch_size,
                   "all_rates": {k: [round(v, 2) for v in vs] for k, vs in rates.items()}})
    return result


# ---------------------------------------------------------------------------------------------
# Quality per training minute, against a peer: the TensorFlow DCGAN tutorial's recipe vs chapter 04's
# ---------------------------------------------------------------------------------------------

TUTORIAL_URL = "https://www.tensorflow.org/tutorials/generative/dcgan"
TUTORIAL_LATENT_DIM = 100
TUTORIAL_BATCH_SIZE = 256
TUTORIAL_ADAM = {"learning_rate": 1e-4}  # the tutorial's Adam(1e-4): Keras's default beta_1 of 0.9
FD_TARGET = 50.0
NOT_REACHED = "> budget"
QUALITY_SAMPLES = 2000
QUALITY_NOISE_SEED = 2  # the seed chapter 04 draws its evaluation noise with
QUALITY_FIGURE = RESULTS_DIR / "benchmark_quality.png"


def tutorial_generator(latent_dim=TUTORIAL_LATENT_DIM):
    """The DCGAN tutorial's generator: noise to a 7x7x256 map, then transposed convolutions to 28x28x1 in [-1, 1].

    LeakyReLU keeps Keras's default slope (0.3), as the tutorial's does.
    """
    model = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(7 * 7 * 256, use_bias=False),
                              layers.BatchNormalization(), layers.LeakyReLU(), layers.Reshape((7, 7, 256))],
                             name="tutorial_generator")
    for filters, strides in ((128, 1), (64, 2)):
        model.add(layers.Conv2DTranspose(filters, 5, strides=strides, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"))
    return model


def tutorial_discriminator():
    """The DCGAN tutorial's discriminator: two strided 5x5 convolutions with dropout, then one logit."""
    model = keras.Sequential([keras.Input((28, 28, 1))], name="tutorial_discriminator")
    for filters in (64, 128):
        model.add(layers.Conv2D(filters, 5, strides=2, padding="same"))
        model.add(layers.LeakyReLU())
        model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


def tutorial_dataset(images, batch_size=TUTORIAL_BATCH_SIZE):
    """The tutorial's pipeline for images in [0, 1]: scaled to [-1, 1], a shuffle buffer of the whole set,
    batches of ``batch_size`` (the last one of an epoch short: 60,000 images give 234 full batches and one of 96)."""
    return tf.data.Dataset.from_tensor_slices(2.0 * images - 1.0).shuffle(len(images)).batch(batch_size)


def _epochs(dataset):
    """The batches of ``dataset``, epoch after epoch (a fresh iteration, so a fresh shuffle, per epoch)."""
    while True:
        yield from dataset


class Recipe:
    """A recipe in training: its step, what follows each step, its epochs of batches and a clock of training alone.

    ``sampler`` is the model whose samples are judged (the tutorial's generator, chapter 04's average).
    """

    def __init__(self, step, dataset, sampler, after_step=None):
        self.step, self.sampler, self.after_step = step, sampler, after_step
        self.steps_per_epoch = int(dataset.cardinality())
        self.batches = _epochs(dataset)
        self.steps, self.seconds = 0, 0.0

    def train_until(self, seconds):
        """Train until this recipe's clock reaches ``seconds``; the step that crosses it is finished, not cut."""
        start, steps_before = time.perf_counter(), self.steps
        while self.seconds + (time.perf_counter() - start) < seconds:
            self.step(next(self.batches))
            if self.after_step is not None:
                self.after_step()
            self.steps += 1
        if self.steps > steps_before:  # without a step, no training happened: the clock stays put
            self.sampler.weights[-1].numpy()  # the last update is done before the clock stops
            self.seconds += time.perf_counter() - start

    def samples(self, noise, batch_size=500):
        """The sampler's images for ``noise``, in [0, 1] (inference mode: batch norm uses its moving averages)."""
        images = [self.sampler(noise[i:i + batch_size], training=False) for i in range(0, len(noise), batch_size)]
        return (np.concatenate([np.asarray(batch, dtype=np.float32) for batch in images]) + 1.0) / 2.0


def tutorial_recipe(images):
    """The TensorFlow DCGAN tutorial's recipe, in float32 as there."""
    with accelerator.global_policy("float32"):
        generator, discriminator = tutorial_generator(), tutorial_discriminator()
    step = reference_train_step(generator, discriminator, TUTORIAL_LATENT_DIM, TUTORIAL_BATCH_SIZE, adam=TUTORIAL_ADAM)
    about = {"name": "TensorFlow DCGAN tutorial", "source": TUTORIAL_URL,
             "models": "conv generator (Dense 7x7x256, BN, Conv2DTranspose 128/64/1) and discriminator "
                       "(Conv2D 64/128, dropout 0.3)",
             "batch_size": TUTORIAL_BATCH_SIZE, "optimizer": "Adam 1e-4 (beta_1 0.9) for both", "policy": "float32",
             "samples_from": "raw generator", "parameters": generator.count_params() + discriminator.count_params()}
    return Recipe(step, tutorial_dataset(images), sampler=generator), about


def course_recipe(images, policy):
    """Chapter 04's recipe, built and trained with the solution notebook's own definitions, as the notebook does."""
    with accelerator.global_policy(policy):
        # notebook_definitions builds the notebook's `generator` and `averaged_generator` (update_average reads them).
        ns = notebook_definitions(GAN_MNIST_NOTEBOOK)
        discriminator = ns["build_discriminator"]()
    generator, averaged = ns["generator"], ns["averaged_generator"]
    averaged.set_weights(generator.get_weights())
    step = ns["make_train_step"](generator, discriminator, keras.optimizers.Adam(**ADAM), keras.optimizers.Adam(**ADAM))
    about = {"name": "chapter 04", "source": GAN_MNIST_NOTEBOOK.relative_to(REPO_ROOT).as_posix(),
             "models": f"dense generator and discriminator, widths {ns['HIDDEN']}",
             "batch_size": ns["BATCH_SIZE"], "optimizer": "Adam 2e-4, beta_1 0.5 for both", "policy": policy,
             "samples_from": f"averaged generator (EMA, decay {ns['EMA_DECAY']})",
             "parameters": generator.count_params() + discriminator.count_params()}
    return Recipe(step, ns["make_dataset"](images), sampler=averaged, after_step=ns["update_average"]), about


def measurement_minutes(budget, every=10, early=3):
    """The training minutes at which both recipes are measured: 0, then ``early`` halvings of ``budget / every``
    (where a fast recipe may already cross the target), then every ``budget / every`` up to the budget."""
    interval = budget / every
    return [0.0] + [interval / 2 ** k for k in range(early, 0, -1)] + [interval * k for k in range(1, every + 1)]


def minutes_to_reach(curve, target=FD_TARGET, key="frechet_distance"):
    """The first measured training minutes with ``key`` (a Frechet distance, bits per character) <= ``target``,
    and the measurement before (the target was crossed between the two): ``(minutes, minutes_before)``;
    ``(NOT_REACHED, None)`` if none."""
    for index, point in enumerate(curve):
        if point[key] is not None and point[key] <= target:
            return point["minutes"], (curve[index - 1]["minutes"] if index else None)
    return NOT_REACHED, None


def time_ratio(tutorial_minutes, course_minutes, names=("the tutorial", "chapter 04"),
               target=f"Frechet distance {FD_TARGET:g}"):
    """The first side's minutes to the target over the second's (by default the tutorial's over the course's);
    a sentence saying which did not reach ``target`` (words, e.g. "2.5 bits/char"), if one."""
    missing = [name for name, minutes in zip(names, (tutorial_minutes, course_minutes)) if minutes == NOT_REACHED]
    if missing:
        return f"not defined: {' and '.join(missing)} did not reach {target} within the budget"
    if course_minutes <= 0:
        return f"not defined: {names[1]} reached it before training"
    return round(tutorial_minutes / course_minutes, 2)


def distance_ratio(tutorial_distance, course_distance):
    """The tutorial's final Frechet distance over the course's, or a sentence where one is missing (diverged)."""
    if tutorial_distance is None or course_distance is None or course_distance <= 0:
        return "not defined: a recipe's samples were not finite (diverged)"
    return round(tutorial_distance / course_distance, 3)


def real_reference(n):
    """The first ``n`` MNIST test images' classifier features, their share confidently classified, and the floor:
    the Frechet distance of ``n`` random real training images (seed 0) to them."""
    x_test, _ = data.load_mnist("test")
    x_train, _ = data.load_mnist("train")
    test_features = metrics.domain_features(x_test[:n], "mnist")
    pick = np.random.default_rng(0).choice(len(x_train), size=n, replace=False)
    return {"test_features": test_features,
            "real_confidently_classified": metrics.confidently_classified(x_test[:n], "mnist"),
            "floor": metrics.frechet_distance(metrics.domain_features(x_train[pick], "mnist"), test_features)}


def judge(images, test_features):
    """Frechet distance of ``images`` (in [0, 1]) to the test features, and their share confidently classified;
    None for both when the images are not finite (a generator that diverged)."""
    if not np.all(np.isfinite(images)):
        return {"frechet_distance": None, "confidently_classified": None}
    return {"frechet_distance": metrics.frechet_distance(metrics.domain_features(images, "mnist"), test_features),
            "confidently_classified": metrics.confidently_classified(images, "mnist")}


def _rounded(point):
    return {key: (round(value, 4) if isinstance(value, float) else value) for key, value in point.items()}


def _progress_line(index, count, mark, about, recipe, point):
    distance = "not finite" if point["frechet_distance"] is None else f"{point['frechet_distance']:.1f}"
    confident = "-" if point["confidently_classified"] is None else f"{100 * point['confidently_classified']:.1f}%"
    return (f"[{index:2d}/{count}] at {mark:.2f} min: {about['name']}: {point['minutes']:.2f} training min, "
            f"{recipe.steps} steps ({recipe.steps / recipe.steps_per_epoch:.2f} epochs), Frechet distance "
            f"{distance}, confidently classified {confident}")


def _say(line):
    print(line, flush=True)


def quality_case(budget, samples=QUALITY_SAMPLES, every=10, early=3, log=_say):
    """Train the tutorial's recipe and chapter 04's for ``budget`` training minutes each, in alternating chunks,
    measuring both at ``measurement_minutes(budget, every, early)``; return the record (see the module's docstring)."""
    wall_start = time.perf_counter()
    runmode.set_seed(0)  # as chapter 04 does: seeded, with deterministic ops, for both recipes
    x_train, _ = data.load_mnist("train")
    reference = real_reference(samples)
    policy = accelerator.precision_policy(True, tf.config.list_physical_devices("GPU"))
    built = {"tutorial": tutorial_recipe(x_train), "course": course_recipe(x_train, policy)}
    noise = {key: np.random.default_rng(QUALITY_NOISE_SEED).normal(
        size=(samples, recipe.sampler.input_shape[-1])).astype("float32") for key, (recipe, _) in built.items()}
    marks = measurement_minutes(budget, every, early)
    curves = {key: [] for key in built}
    log(f"Quality per training minute: {budget:.2f} training minutes per recipe, measured {len(marks)} times "
        f"on {samples} samples; real test images: {100 * reference['real_confidently_classified']:.1f}% confidently "
        f"classified, floor {reference['floor']:.2f}")
    for index, mark in enumerate(marks, start=1):
        for key, (recipe, about) in built.items():
            recipe.train_until(60 * mark)
            point = {"minutes": recipe.seconds / 60, **judge(recipe.samples(noise[key]), reference["test_features"])}
            curves[key].append(_rounded(point))
            log(_progress_line(index, len(marks), mark, about, recipe, point))
    recipes = {}
    for key, (recipe, about) in built.items():
        reached, before = minutes_to_reach(curves[key])
        recipes[key] = {**about, "curve": curves[key], "final": curves[key][-1], "steps": recipe.steps,
                        "steps_per_epoch": recipe.steps_per_epoch,
                        "epochs": round(recipe.steps / recipe.steps_per_epoch, 2),
                        "training_minutes": round(recipe.seconds / 60, 3),
                        f"minutes_to_fd_{FD_TARGET:g}": reached, f"fd_{FD_TARGET:g}_after_minutes": before}
    tutorial, course = recipes["tutorial"], recipes["course"]
    latent = {key: recipe.sampler.input_shape[-1] for key, (recipe, _) in built.items()}
    return {
        "hardware": accelerator.hardware_line(), "cpu": accelerator.cpu_model(),
        "date": datetime.date.today().isoformat(),
        "versions": versions(), "budget_min": round(budget, 3), "measured_at_min": [round(m, 4) for m in marks],
        "order": "alternating chunks in one process: each recipe trains up to the next measurement time, then is "
                 "measured; clocks count training only",
        "fd_target": FD_TARGET,
        "evaluation": {
            "samples": samples,
            "noise": f"numpy default_rng({QUALITY_NOISE_SEED}).normal, ({samples}, latent) with latent "
                     f"{'/'.join(str(v) for v in sorted(set(latent.values())))}: the same noise at every measurement"
                     + (" and for both recipes" if len(set(latent.values())) == 1 else ""),
            "test_images": f"the first {samples} MNIST test images",
            "features": "penultimate layer of the course's MNIST classifier (course_utils.metrics.domain_features)",
            "confident_probability": metrics.CONFIDENT_PROBABILITY,
            "real_confidently_classified": round(reference["real_confidently_classified"], 4),
            "floor": round(reference["floor"], 4),
            "floor_note": f"{samples} random MNIST training images (seed 0) vs the same test images",
        },
        "recipes": recipes,
        f"minutes_to_fd_{FD_TARGET:g}_ratio": time_ratio(tutorial[f"minutes_to_fd_{FD_TARGET:g}"],
                                                         course[f"minutes_to_fd_{FD_TARGET:g}"]),
        "final_frechet_distance_ratio": distance_ratio(tutorial["final"]["frechet_distance"],
                                                       course["final"]["frechet_distance"]),
        "wall_minutes": round((time.perf_counter() - wall_start) / 60, 2),
    }


def quality_figure(record, path):
    """Draw both recipes' Frechet distance against training minutes (log scale, with the target and the floor)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(6.4, 3.6))
    ax = figure.subplots()
    for recipe in record["recipes"].values():
        points = [(p["minutes"], p["frechet_distance"]) for p in recipe["curve"] if p["frechet_distance"] is not None]
        if points:
            ax.plot(*zip(*points), marker="o", markersize=3, label=f"{recipe['name']} ({recipe['samples_from']})")
    ax.axhline(record["fd_target"], color="gray", linestyle="--", linewidth=1,
               label=f"Frechet distance {record['fd_target']:g}")
    ax.axhline(record["evaluation"]["floor"], color="gray", linestyle=":", linewidth=1, label="floor (real vs real)")
    ax.set_yscale("log")
    for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        axis(FuncFormatter(lambda value, _: f"{value:g}"))  # 400 and 50, not 4x10^2 and 5x10^1
    ax.set_xlabel("training minutes")
    ax.set_ylabel(f"Frechet distance ({record['evaluation']['samples']} samples)")
    ax.set_title(f"MNIST, the same training time each; {record['cpu']}", fontsize=10)
    ax.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    with atomic_write(path, mode="wb") as file:
        file.write(buffer.getvalue())


def chapter_training_minutes(results_dir=RESULTS_DIR):
    """Chapter 04's full-run training time in minutes, from its results file."""
    path = Path(results_dir) / "04_gan_mnist.json"
    try:
        entry = results.find(results.read(path), results.TRAINING_TIME)
    except (OSError, ValueError) as error:
        raise SystemExit(f"{path} cannot be read ({error!r}): pass --minutes") from error
    if entry is None:
        raise SystemExit(f"no chapter 04 training time in {path}: pass --minutes")
    if entry.get("unit") != "min":
        raise SystemExit(f"{path}: the training time's unit is {entry.get('unit')!r}, not 'min': pass --minutes")
    return float(entry["value"])


def merge_into(path, updates):
    """Write ``updates`` into the JSON record at ``path``, keeping its other keys (the speed or quality case)."""
    path = Path(path)
    record = results.read(path) or {}
    record.update(updates)
    write_json(path, record)


def run_quality(args):
    budget = args.minutes if args.minutes is not None else chapter_training_minutes()
    record = quality_case(budget, samples=args.samples)
    record["budget_from"] = ("--minutes" if args.minutes is not None
                             else "solutions/results/04_gan_mnist.json: training time")
    record["figure"] = Path(args.figure).name
    quality_figure(record, args.figure)
    merge_into(args.output, {"quality": record})
    key = f"minutes_to_fd_{FD_TARGET:g}"
    for recipe in record["recipes"].values():
        final = recipe["final"]
        print(f"{recipe['name']}: {recipe['steps']} steps ({recipe['epochs']} epochs) in "
              f"{recipe['training_minutes']:.2f} min; final Frechet distance {final['frechet_distance']}, "
              f"minutes to {FD_TARGET:g}: {recipe[key]}")
    print(f"ratios (tutorial / chapter 04): minutes to Frechet distance {FD_TARGET:g}: {record[key + '_ratio']}; "
          f"final Frechet distance: {record['final_frechet_distance_ratio']}")
    print(f"written: {args.output} (key 'quality'), {args.figure}")
    return 0


def run_text(args):
    from tools import benchmark_text

    budget = args.minutes if args.minutes is not None else benchmark_text.chapters_training_minutes()
    record = benchmark_text.text_case(budget)
    record["budget_from"] = ("--minutes" if args.minutes is not None
                             else "the shorter of chapters 10's and 12's full-run training times")
    record["figure"] = benchmark_text.FIGURE.name
    benchmark_text.text_figure(record, benchmark_text.FIGURE)
    merge_into(args.output, {"text": record})
    target = f"{benchmark_text.TARGET_BITS:g}"
    for model in record["models"].values():
        print(f"{model['name']}: {model['steps']} steps in {model['training_minutes']:.2f} min; final "
              f"{model['final']['bits_per_character']:.3f} bits/char; minutes to {target}: "
              f"{model[f'minutes_to_{target}_bits']}")
    print(f"LSTM / transformer, minutes to {target} bits/char: {record[f'minutes_to_{target}_bits_ratio']}")
    print(f"written: {args.output} (key 'text'), {benchmark_text.FIGURE}")
    return 0


def _positive(text):
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _sample_count(text):
    value = int(text)
    if not 2 <= value <= 10000:
        raise argparse.ArgumentTypeError(f"{text}: choose between 2 and 10000 samples (there are 10,000 test images)")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed run (default: 200 for 04, 40 for 05)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="how often each side runs in each place of the rotating order (default 3)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "benchmark.json")
    parser.add_argument("--quality", action="store_true",
                        help="run only the quality case (tutorial's recipe vs chapter 04's, same training time) "
                             "and merge it into --output")
    parser.add_argument("--text", action="store_true",
                        help="run only the text case (chapter 10's LSTM vs chapter 12's transformer, same training "
                             "time) and merge it into --output")
    parser.add_argument("--minutes", type=_positive, default=None,
                        help="--quality: training minutes per recipe (default: chapter 04's full-run training time); "
                             "--text: per model (default: the shorter of chapters 10's and 12's training times)")
    parser.add_argument("--samples", type=_sample_count, default=QUALITY_SAMPLES,
                        help=f"--quality: samples (and test images) per measurement (default {QUALITY_SAMPLES})")
    parser.add_argument("--figure", type=Path, default=QUALITY_FIGURE, help="--quality: where the figure goes")
    args = parser.parse_args(argv)
    if args.quality and args.text:
        parser.error("--quality and --text are separate runs: choose one")
    if args.quality:
        return run_quality(args)
    if args.text:
        return run_text(args)
    keras.utils.set_random_seed(0)
    record = {"hardware": accelerator.hardware_line(), "date": datetime.date.today().isoformat(), "versions": versions(),
              "cases": {}}
    policy = accelerator.precision_policy(True, tf.config.list_physical_devices("GPU"))
    for name, (case, default_steps) in CASES.items():
        result = measure(case, args.steps or default_steps, args.rounds, args.batch_size, policy)
        record["cases"][name] = result
        print(f"{name}: course ({policy}) {result['course_steps_per_s']} steps/s, reference "
              f"{result['reference_steps_per_s']} steps/s, ratio {result['ratio']}, control ratio "
              f"{result['control_ratio']}", flush=True)
    merge_into(args.output, record)  # keeps the quality case
    return 0 if all(r["ratio"] >= 1.0 for r in record["cases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
