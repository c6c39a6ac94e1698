"""Print a run's headline numbers and record them for the README's chapter table.

A notebook calls ``report(...)`` once per result. The numbers are printed for the learner;
when the course runner (``python -m tools.run_course``) executes the notebook, each reported
value is also written to the runner's results file (``runmode.results_file()``).
"""

import json
import math

from course_utils import runmode
from course_utils.files import atomic_write


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def report(name, value, unit="", note=""):
    """Print ``name: value unit`` and record it when the course runner asks for it.

    ``value`` is a number or a short string (e.g. the data a run used).
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value) if isinstance(value, float) else int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"result {name!r} is {value}: the run diverged or a metric failed")
    elif not isinstance(value, str):
        raise TypeError(f"result {name!r} must be a number or a string, got {type(value).__name__}")
    line = f"{name}: {_format(value)}" + (f" {unit}" if unit else "") + (f"  ({note})" if note else "")
    print(line)
    path = runmode.results_file()
    if path is not None:
        _record(path, name, {"value": value, "unit": unit, "note": note})


def read(path):
    """The results file at ``path`` as a dict, or None if there is none."""
    return json.loads(path.read_text()) if path.exists() else None


def _record(path, name, entry):
    data = read(path) or {}
    data.setdefault("metrics", {})[name] = entry
    with atomic_write(path) as file:
        file.write(json.dumps(data, indent=2, sort_keys=True))
