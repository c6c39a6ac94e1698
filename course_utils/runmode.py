"""The run's settings: a smoke or a full run, and what the course runner asks of a recorded run.

A full run is the real course run: it trains long enough to teach something and its
outputs are the ones stored in ``solutions/``. A smoke run trains for a few steps on a
few examples, so that the test suite can prove every notebook still runs.

The settings come from environment variables that the test suite and the course runner
(``python -m tools.run_course``) set; this module is the only one that reads them:

    COURSE_MODE          ``full`` (the default) or ``smoke`` (the test suite): ``mode()``
    COURSE_RESULTS_FILE  set by the runner: the JSON file where ``results.report`` records each
                         number (``results_file()``; unset: the run is not recorded)
    COURSE_RESUME        set by ``run_course --resume``: the recorded run finishes an interrupted
                         one, so its training carries on from checkpoints (``resumes()``)

The runner sets them through ``runner_environment(...)``, so both sides use the same names.
Notebooks never write ``if smoke``: they ask this module for sizes, e.g. ``epochs(full=30)``.
"""

import os
from pathlib import Path

MODE_VARIABLE = "COURSE_MODE"
RESULTS_FILE_VARIABLE = "COURSE_RESULTS_FILE"
RESUME_VARIABLE = "COURSE_RESUME"
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


def results_file():
    """The file where the course runner records this run's results (a Path), or None."""
    value = os.environ.get(RESULTS_FILE_VARIABLE)
    return Path(value) if value else None


def resumes():
    """True when the runner finishes an interrupted recorded run (``run_course --resume``)."""
    return bool(os.environ.get(RESUME_VARIABLE))


def records_whole_run():
    """True in a run the course runner records from its start (not ``--resume``): nothing trained by an
    earlier run may stand in for this run's training, so that stored outputs and times are a whole run's."""
    return results_file() is not None and not resumes()


def runner_environment(mode, results_file, resume=False):
    """The environment variables the course runner sets for a notebook it executes and records."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {MODES}")
    return {MODE_VARIABLE: mode, RESULTS_FILE_VARIABLE: str(results_file), RESUME_VARIABLE: "1" if resume else ""}


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


SMOKE_MARK = "smoke run: a few steps on a few examples, not a measurement"
"""The words that say a printed number comes from a smoke run."""


def smoke_marked(note=""):
    """``note`` (the words printed beside a number) with, in a smoke run, ``SMOKE_MARK`` added, so that a
    weak smoke number never reads as a measurement; ``note`` unchanged in a full run or when it says so already."""
    if not is_smoke() or SMOKE_MARK in note:
        return note
    return f"{note}; {SMOKE_MARK}" if note else SMOKE_MARK


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
