"""How fast this machine trains, as one number, so that the course's times mean something on yours.

The same chapter, unchanged, can take twice as long on one 2-core machine as on another with the same CPU
name. So every recorded full run times a short fixed **reference workload**, once before the notebook and
once after it, and records the machine's **speed index**. The workload has one part per kind of work the
chapters do: training steps of a small convolutional network, of a larger one on colour images, of an LSTM and
of a small transformer, on fixed random data, without XLA (as the chapters train). Each part's index is the
reference machine's time for it divided by this machine's; the speed index is their geometric mean, so no
one kind of work counts more than another. An index of 2 means twice as fast as the reference machine, 0.5
half as fast. A time measured on a machine, multiplied by its index, is the **normalised time**: what the
reference machine would have needed. Budgets are judged on normalised times, and a learner's machine
translates the course's times with its own index (notebook 00 does it).
"""

import math
import statistics
import time

import numpy as np

REFERENCE_MACHINE = "CPU only, 2 cores (AMD EPYC), float32, 2026-12-07"
# Each part: what it trains, how many steps are timed, and the reference machine's seconds for those steps.
# The course's first index timed the conv and LSTM parts alone (4.68 s together on the reference machine).
# The four parts were referred to it by `python -m tools.calibrate_speed` (2026-12-07, a 2-core AMD EPYC, 7
# rounds): each part's median time there multiplied by that machine's first index, 1.41 (1.11 to 1.64 from
# round to round), so the two indices agree to within that spread.
PARTS = {
    "conv": ("a small conv net, batch 64, 28x28x1", 60, 0.647),
    "large conv": ("a conv net of 64-128 channels, batch 32, 32x32x3", 20, 1.662),
    "lstm": ("an LSTM of 128 units, batch 32, 64 time steps", 60, 4.053),
    "attention": ("chapter 12's GPT with 2 blocks of width 128, batch 16, context 64", 30, 2.371),
}
WORKLOAD = "; ".join(f"{steps} training steps of {what}" for what, steps, _ in PARTS.values())


def _conv():
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
                              keras.layers.Conv2D(64, 3, strides=2, activation="relu"), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)


def _large_conv():
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)),
                              keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
                              keras.layers.Conv2D(128, 3, padding="same", activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    rng = np.random.default_rng(1)
    return model, rng.normal(size=(32, 32, 32, 3)).astype("float32"), rng.integers(0, 10, 32)


def _lstm():
    import keras

    model = keras.Sequential([keras.Input((64,), dtype="int32"), keras.layers.Embedding(65, 32),
                              keras.layers.LSTM(128, return_sequences=True), keras.layers.Dense(65)])
    rng = np.random.default_rng(2)
    return model, rng.integers(0, 65, (32, 64)).astype("int32"), rng.integers(0, 65, (32, 64))


def _attention():
    from course_utils.chapters.ch12 import GPT

    rng = np.random.default_rng(3)
    return GPT(65, 64, width=128, heads=4, depth=2), rng.integers(0, 65, (16, 64)).astype("int32"), \
        rng.integers(0, 65, (16, 64))


BUILDERS = {"conv": _conv, "large conv": _large_conv, "lstm": _lstm, "attention": _attention}


def compiled(name, jit_compile=False):
    """``(model, x, y)`` of the workload's part ``name``, compiled (without XLA unless asked) and warmed up."""
    import keras

    model, x, y = BUILDERS[name]()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=jit_compile,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(x, y)  # builds and traces the step: not part of the time
    return model, x, y


def steps_seconds(model, x, y, steps):
    """The seconds ``steps`` training steps of ``model`` on ``(x, y)`` take."""
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return time.perf_counter() - start


def part_seconds(repeats=3):
    """{part: the median time of its steps over ``repeats`` rounds}; the rounds alternate the parts, so that a
    machine whose speed drifts slows all parts alike."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    parts = {name: compiled(name) for name in PARTS}
    times = {name: [] for name in PARTS}
    for _ in range(repeats):
        for name, part in parts.items():
            times[name].append(steps_seconds(*part, PARTS[name][1]))
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def index_from(seconds):
    """The speed index of a machine whose parts took ``seconds`` ({part: s}): the geometric mean of the
    reference's time over this machine's, part by part, and each part's own index."""
    missing = sorted(set(PARTS) - set(seconds))
    if missing:
        raise ValueError(f"no time for the workload's parts {missing}; time every part of speed.PARTS")
    parts = {name: PARTS[name][2] / seconds[name] for name in PARTS}
    return math.exp(statistics.fmean(math.log(value) for value in parts.values())), parts


def measure(repeats=3):
    """This machine's speed index now: ``{"index", "parts", "workload_s", "reference_machine", "workload"}``
    (``parts``: each part's own index)."""
    seconds = part_seconds(repeats)
    index, parts = index_from(seconds)
    return {"index": round(index, 3), "parts": {name: round(value, 3) for name, value in parts.items()},
            "workload_s": round(sum(seconds.values()), 3), "reference_machine": REFERENCE_MACHINE,
            "workload": WORKLOAD}


def over_a_run(before, after):
    """One speed record for a run from the measurements taken before and after it: the index is their
    geometric mean, and both are kept (each names the reference machine and the workload), so that a machine
    that changed speed during the run shows it."""
    index = math.sqrt(before["index"] * after["index"])
    return {"index": round(index, 3), "before": before, "after": after}


def normalised(seconds, index, budgeted_seconds=0.0):
    """A time measured on a machine of speed ``index``, as the reference machine would have needed it.

    ``budgeted_seconds`` of it ran on time budgets (training that stops when its minutes are spent): those take
    the same wall minutes on every machine, so only the rest is scaled."""
    if index <= 0:
        raise ValueError(f"a speed index is positive; got {index}")
    if not 0 <= budgeted_seconds <= seconds:
        raise ValueError(f"budgeted time must lie between 0 and the run's {seconds:.0f} s; got {budgeted_seconds:.0f}")
    return (seconds - budgeted_seconds) * index + budgeted_seconds


def on_this_machine(reference_minutes, index):
    """A time the course gives for the reference machine, translated to a machine of speed ``index``."""
    if index <= 0:
        raise ValueError(f"a speed index is positive; got {index}")
    return reference_minutes / index
