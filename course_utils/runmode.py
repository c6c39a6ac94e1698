"""One switch between a *smoke* run and a *full* run.

A full run is the real course run: it trains long enough to teach something and its
outputs are the ones stored in ``solutions/``. A smoke run trains for a few steps on a
few examples, so that the test suite can prove every notebook still runs.

The mode comes from the environment variable ``COURSE_MODE`` (``full`` or ``smoke``,
default ``full``); the test suite sets ``smoke``. Notebooks never write ``if smoke``:
they ask this module for sizes, e.g. ``epochs(full=30)``.
"""

import os

MODE_VARIABLE = "COURSE_MODE"
MODES = ("full", "smoke")


def mode():
    """Return the current run mode, ``"full"`` or ``"smoke"``."""
    value = os.environ.get(MODE_VARIABLE, "full").strip().lower()
    if value not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={value!r} is not a run mode; set it to 'full' (the real "
            "course run) or 'smoke' (a few steps, used by the tests)."
        )
    return value


def is_smoke():
    """True in a smoke run (the test suite)."""
    return mode() == "smoke"


def pick(full, smoke):
    """Return ``full`` in a full run and ``smoke`` in a smoke run."""
    return smoke if is_smoke() else full


def epochs(full, smoke=1):
    """Number of training epochs: ``full`` in the course run, ``smoke`` in tests."""
    return pick(full, smoke)


def steps(full, smoke=2):
    """Number of training steps (or batches per epoch)."""
    return pick(full, smoke)


def examples(full, smoke=512):
    """How many examples to use; ``None`` as ``full`` means "all of them"."""
    return pick(full, smoke)


def describe():
    """One line saying which mode this run is in."""
    if is_smoke():
        return "Run mode: smoke (a few steps on a few examples; numbers are NOT meaningful)"
    return "Run mode: full (the real course run)"


def set_seed(seed=0, deterministic=True):
    """Seed Python, NumPy and TensorFlow; optionally make TF ops deterministic.

    With ``deterministic=True`` a CPU run repeats its losses exactly (slightly slower).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
