"""How fast this machine trains, as one number, so that the course's times mean something on yours.

The same chapter, unchanged, can take twice as long on one 2-core machine as on another with the same CPU
name. So every recorded full run first times a short fixed **reference workload** (training steps of a small
convolutional network and of a small LSTM on fixed random data: the two kinds of work the chapters do) and
records the machine's **speed index**: the reference machine's time for that workload divided by this
machine's. An index of 2 means twice as fast as the reference machine, 0.5 half as fast. A time measured on
a machine, multiplied by its index, is the **normalised time**: what the reference machine would have
needed. Budgets are judged on normalised times, and a learner's machine translates the course's times
with its own index (notebook 00 does it).
"""

import statistics
import time

import numpy as np

# The reference machine: its time for the workload (the median of five measurements, each itself the median
# of three runs: 4.48 to 5.95 s, the spread of a machine that other work shares), and what it was.
REFERENCE_SECONDS = 4.68
REFERENCE_MACHINE = "CPU only, 2 cores (AMD EPYC), float32, 2026-12-07"
WORKLOAD = "60 training steps of a small conv net (batch 64, 28x28x1) and 60 of an LSTM (batch 32, 64 steps)"
_STEPS = 60


def _models():
    import keras

    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
                             keras.layers.Conv2D(64, 3, strides=2, activation="relu"), keras.layers.Flatten(),
                             keras.layers.Dense(10)])
    lstm = keras.Sequential([keras.Input((64,), dtype="int32"), keras.layers.Embedding(65, 32),
                             keras.layers.LSTM(128, return_sequences=True), keras.layers.Dense(65)])
    rng = np.random.default_rng(0)
    batches = [(conv, rng.normal(size=(64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)),
               (lstm, rng.integers(0, 65, (32, 64)).astype("int32"), rng.integers(0, 65, (32, 64)))]
    for model, _, _ in batches:
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return batches


def workload_seconds(repeats=3):
    """The median time of ``repeats`` runs of the reference workload on this machine (after a warm-up)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    batches = _models()
    for model, x, y in batches:
        model.train_on_batch(x, y)  # builds and compiles the step: not part of the time
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for model, x, y in batches:
            for _ in range(_STEPS):
                model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeats=3):
    """This machine's speed index: ``{"index", "workload_s", "reference_s", "reference_machine", "workload"}``."""
    seconds = workload_seconds(repeats)
    return {"index": round(REFERENCE_SECONDS / seconds, 3), "workload_s": round(seconds, 3),
            "reference_s": REFERENCE_SECONDS, "reference_machine": REFERENCE_MACHINE, "workload": WORKLOAD}


def normalised(seconds, index):
    """A time measured on a machine of speed ``index``, as the reference machine would have needed it."""
    if index <= 0:
        raise ValueError(f"a speed index is positive; got {index}")
    return seconds * index


def on_this_machine(reference_minutes, index):
    """A time the course gives for the reference machine, translated to a machine of speed ``index``."""
    if index <= 0:
        raise ValueError(f"a speed index is positive; got {index}")
    return reference_minutes / index
