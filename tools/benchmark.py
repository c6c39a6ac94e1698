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
"""

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

from course_utils import accelerator, data
from tools.notebook_code import notebook_definitions
from tools.run_course import RESULTS_DIR, REPO_ROOT, hardware_line, versions, write_json

ADAM = {"learning_rate": 2e-4, "beta_1": 0.5}


def reference_train_step(generator, discriminator, latent_dim, batch_size):
    """A training step in the style of the TensorFlow DCGAN tutorial (its own optimizers)."""
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer, discriminator_optimizer = keras.optimizers.Adam(**ADAM), keras.optimizers.Adam(**ADAM)

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
    ns = notebook_definitions(REPO_ROOT / "solutions" / "04_gan_mnist.ipynb")
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed run (default: 200 for 04, 40 for 05)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="how often each side runs in each place of the rotating order (default 3)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "benchmark.json")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    record = {"hardware": hardware_line(), "date": datetime.date.today().isoformat(), "versions": versions(),
              "cases": {}}
    policy = accelerator.precision_policy(True, tf.config.list_physical_devices("GPU"))
    for name, (case, default_steps) in CASES.items():
        result = measure(case, args.steps or default_steps, args.rounds, args.batch_size, policy)
        record["cases"][name] = result
        print(f"{name}: course ({policy}) {result['course_steps_per_s']} steps/s, reference "
              f"{result['reference_steps_per_s']} steps/s, ratio {result['ratio']}, control ratio "
              f"{result['control_ratio']}", flush=True)
    write_json(args.output, record)
    return 0 if all(r["ratio"] >= 1.0 for r in record["cases"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
