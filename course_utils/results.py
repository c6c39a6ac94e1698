"""Print a run's numbers and record them, with what they measure, for the README and the scoreboards.

A notebook calls ``report(...)`` once per result. The number is printed for the learner; when the
course runner (``python -m tools.run_course``) executes the notebook, it is also written to the
runner's results file (``runmode.results_file()``) under its name, with its unit and note.

A number that a table is built from also says *what* it measures, of *which* model, on how many
samples: ``report(..., measure=FRECHET_DISTANCE, model="AC-GAN", samples=10000)``. Readers ask for it
by those (``find(record, FRECHET_DISTANCE, model="AC-GAN")``) and never by its printed name, so a
renamed line cannot silently empty a table. ``read`` is the one reader of results files (the runner,
the benchmark, the results pages and the scoreboards use it). Results files written before numbers
carried a measure get one when read, from the names the course's notebooks and ``metrics`` print
(``_LEGACY_NAMES``); a chapter's calls move to ``measure=`` when it is next re-run.
"""

import json
import math
import re

from course_utils import runmode
from course_utils.files import atomic_write

# What a number measures (the ``measure`` of an entry), with the unit it is recorded in.
DATA = "data"  # a string: the data a run used (real, or the SVHN stand-in)
TEST_MSE = "test_mse"  # mean squared error of reconstructions of test images, pixels in [0, 1]
PSNR = "psnr"  # dB
NEGATIVE_ELBO = "negative_elbo"  # nats per test image
TEST_ACCURACY = "test_accuracy"  # %
FRECHET_DISTANCE = "frechet_distance"  # in the domain classifier's features; ``samples`` compared
FRECHET_FLOOR = "frechet_floor"  # real training images against real test images, as many as above
CONFIDENTLY_CLASSIFIED = "confidently_classified"  # %, of the samples
CLASS_COVERAGE = "class_coverage"  # classes covered
CLASS_ACCURACY = "class_accuracy"  # %, conditional samples read as the class asked for
TRAINING_TIME = "training_time"  # min
SAMPLING_TIME = "sampling_time"  # s, to draw ``samples`` samples
BITS_PER_CHARACTER = "bits_per_character"  # on chapter 10's validation text
BITS_PER_DIMENSION = "bits_per_dimension"  # test negative log-likelihood of 8-bit pixels
PARAMETERS = "parameters"  # trainable and not
GENERATION_SPEED = "generation_speed"  # characters per second
MEASURES = (DATA, TEST_MSE, PSNR, NEGATIVE_ELBO, TEST_ACCURACY, FRECHET_DISTANCE, FRECHET_FLOOR, CONFIDENTLY_CLASSIFIED, CLASS_COVERAGE, CLASS_ACCURACY, TRAINING_TIME,
            SAMPLING_TIME, BITS_PER_CHARACTER, BITS_PER_DIMENSION, PARAMETERS, GENERATION_SPEED)

# Results files written before ``measure=`` existed: the measure (and model) of an entry from its name.
# The model is the part before ": " (chapter 04's bare "training time" has none); chapter 10's model
# follows the measure ("validation bits per character, unigram baseline").
_LEGACY_NAMES = (
    (re.compile(r"^data$"), DATA),
    (re.compile(r"^(?P<model>.+) test MSE$"), TEST_MSE),
    (re.compile(r"^PSNR (?P<model>.+)$"), PSNR),
    (re.compile(r"^(?P<model>.+?):? test -ELBO$"), NEGATIVE_ELBO),
    (re.compile(r"^(?P<model>.+) test accuracy, mean of \d+ seeds$"), TEST_ACCURACY),
    (re.compile(r"^(?:(?P<model>.+): )?Frechet distance floor \(real train vs real test\)$"), FRECHET_FLOOR),
    (re.compile(r"^(?:(?P<model>.+): )?Frechet distance \(\w+ classifier features\)$"), FRECHET_DISTANCE),
    (re.compile(r"^(?:(?P<model>.+): )?confidently classified \(p >= [\d.]+\)$"), CONFIDENTLY_CLASSIFIED),
    (re.compile(r"^(?:(?P<model>.+): )?class coverage$"), CLASS_COVERAGE),
    (re.compile(r"^(?:(?P<model>.+): )?training time(?: \((?P<part>\w+)\))?$"), TRAINING_TIME),
    (re.compile(r"^(?:(?P<model>.+): )?time to draw (?:the )?samples$"), SAMPLING_TIME),
    (re.compile(r"^validation bits per character(?:, (?P<model>.+))?$"), BITS_PER_CHARACTER),
)


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def report(name, value, unit="", note="", *, measure=None, model=None, samples=None, budgeted=False):
    """Print ``name: value unit`` and record it when the course runner asks for it.

    ``value`` is a number or a short string (e.g. the data a run used). ``measure`` (one of
    ``MEASURES``), ``model`` and ``samples`` say what the number is, for the tables built from it.
    ``budgeted=True`` marks a ``TRAINING_TIME`` (minutes) that a time budget fixed: wall minutes on every
    machine, which the runner leaves out when it normalises the run's time to the reference machine.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value) if isinstance(value, float) else int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"result {name!r} is {value}: the run diverged or a metric failed")
    elif not isinstance(value, str):
        raise TypeError(f"result {name!r} must be a number or a string, got {type(value).__name__}")
    if measure is not None and measure not in MEASURES:
        raise ValueError(f"result {name!r}: measure {measure!r} is not one of {MEASURES}")
    if budgeted and (measure != TRAINING_TIME or unit != "min"):
        raise ValueError(f"result {name!r}: only a training time in minutes (measure=TRAINING_TIME, unit='min') "
                         f"can be budgeted; got measure {measure!r}, unit {unit!r}")
    if not isinstance(value, str) and measure != PARAMETERS:
        note = runmode.smoke_marked(note)  # a smoke run's measured number says so; a model's size is no measurement
    line = f"{name}: {_format(value)}" + (f" {unit}" if unit else "") + (f"  ({note})" if note else "")
    print(line)
    path = runmode.results_file()
    if path is not None:
        entry = {"value": value, "unit": unit, "note": note}
        entry.update({key: given for key, given in (("measure", measure), ("model", model), ("samples", samples))
                      if given is not None})
        if budgeted:
            entry["budgeted"] = True
        _record(path, name, entry)


def _sample_count(note):
    """The number of samples a note names ("10000 samples vs ...", "2000 samples, DDIM ..."), or None."""
    found = re.search(r"(\d[\d,]*) samples", note or "")
    return int(found.group(1).replace(",", "")) if found else None


def with_measure(name, entry):
    """``entry`` with ``measure``, ``model`` and ``samples`` filled in from its name where it lacks them."""
    if "measure" in entry:
        return entry
    for pattern, measure in _LEGACY_NAMES:
        found = pattern.match(name)
        if found:
            model = found.groupdict().get("model")
            if "part" in pattern.groupindex and found.group("part"):
                model = f"{model} ({found.group('part')})"
            filled = {**entry, "measure": measure, "model": model}
            if measure in (FRECHET_DISTANCE, FRECHET_FLOOR, SAMPLING_TIME):
                filled["samples"] = _sample_count(entry.get("note"))
            return filled
    return entry


def read(path):
    """The results file at ``path`` as a dict (every entry with its measure), or None if there is none."""
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if "metrics" in record:
        record["metrics"] = {name: with_measure(name, entry) for name, entry in record["metrics"].items()}
    return record


def find(record, measure, model=None):
    """The entry of ``record`` (a results file's dict) with this measure and model, or None.

    ``model=None`` asks for the entry that names no model (a chapter with one model).
    """
    entries = [with_measure(name, entry) for name, entry in (record or {}).get("metrics", {}).items()]
    found = [entry for entry in entries if entry.get("measure") == measure and entry.get("model") == model]
    if len(found) > 1:
        raise ValueError(f"{len(found)} entries measure {measure!r} of model {model!r}: report each once")
    return found[0] if found else None


def budgeted_seconds(record):
    """The seconds of ``record``'s run that time budgets fixed: its training times reported ``budgeted=True``."""
    entries = (record or {}).get("metrics", {}).values()
    return 60.0 * sum(entry["value"] for entry in entries if entry.get("budgeted"))


def _record(path, name, entry):
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("metrics", {})[name] = entry
    with atomic_write(path) as file:
        file.write(json.dumps(data, indent=2, sort_keys=True))
