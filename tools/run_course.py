"""Run the course's notebooks for real and record what they measured.

    python -m tools.run_course                        # every notebook, full mode
    python -m tools.run_course solutions/04_gan_mnist.ipynb
    python -m tools.run_course --mode smoke           # time the smoke run of every notebook
    python -m tools.run_course --resume solutions/06_semi_supervised_gan_svhn.ipynb

Full mode executes each notebook, stores the executed notebook in place (these are the outputs
learners see in ``solutions/``) and writes ``solutions/results/<notebook>.json``: hardware,
TensorFlow/Keras versions, mode, data used, wall time, the time budget and every number the
notebook reported through ``course_utils.results.report``. Then ``tools.results_pages`` rewrites,
from the results files and the stored notebooks, the thumbnails, the README's chapter table,
``solutions/results/README.md`` and the Time line of each first cell (``--table-only`` does only
that, for the notebooks named or all; exercises are regenerated after it).

Training in a recorded run starts from scratch, so that outputs and times are those of a whole
run. ``--resume`` finishes a full run that was interrupted instead: its training continues from
the checkpoints the interrupted run saved, the results file says ``"resumed": true``, and its
wall time (marked "resumed" wherever it is shown) covers only the part run last.

Before and after each full run the runner times ``course_utils.speed``'s reference workload: the results file
keeps both measurements, the machine's speed index over the run (their geometric mean) and the run's time
normalised to the reference machine, and the time budget is judged on the normalised time, so a slow machine
does not fail a budget that a fast one would pass. Training that ran on a time budget (reported with
``budgeted=True``) takes its minutes on every machine and is not scaled.

Smoke mode never stores notebooks; it times each one and writes ``solutions/results/smoke.json``.
Runs are serialised with a lock file, so timings are not distorted by a second run.
"""

import argparse
import datetime
import fcntl
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course_utils import results, runmode, speed
from course_utils.files import REPO_ROOT, atomic_write
from tools import notebook_metadata, results_pages
from tools.results_pages import RESULTS_DIR

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

LOCK_FILE = Path(tempfile.gettempdir()) / "course_utils_run_course.lock"

# Time budgets in seconds (issue "measured results and speed"): per notebook in smoke mode, per
# chapter in full mode on the hardware named. SVHN chapters are budgeted on one GPU.
SMOKE_BUDGET_S = 120
SMOKE_SUITE_BUDGET_S = 600
FULL_BUDGET_S = {"cpu": 600, "gpu": 900}
CPU_BUDGET_S = {"04_": 900, "05_": 1200, "07_": 900, "08_": 900, "09_": 900, "11_": 1800, "12_": 1200,
                "13_": 1800, "14_": 1800, "15_": 1800}
"""Chapters given longer on the CPU, to train until their samples convince (GAN chapters), or to train the
larger models of diffusion, the transformer, faces, discrete latents and flows."""
GPU_BUDGETED = ("06_",)
SMOKE_CELL_TIMEOUT_S = 600  # a smoke cell that runs this long is stuck


# TensorFlow's C++ start-up log (absl): written to stderr before TF_CPP_MIN_LOG_LEVEL takes effect,
# different on every machine, and never written under pytest. It is not stored; other stderr is kept.
TENSORFLOW_LOG_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] .*"
    r"|To enable the following instructions: .*)$"
)


def drop_tensorflow_log(notebook):
    """Remove TensorFlow's C++ log lines from stored stderr; drop stderr outputs left empty."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output["text"].splitlines(keepends=True)
                output["text"] = "".join(line for line in lines if not TENSORFLOW_LOG_LINE.match(line.rstrip("\n")))
                if not output["text"]:
                    continue
            kept.append(output)
        cell.outputs = kept
    return notebook


def versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__}


def repo_path(path):
    """The path as written in the repository (absolute if it lies outside)."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def execute(path, mode, results_file, resume=False):
    """Execute one notebook in ``mode``; return the executed notebook and the wall time.

    A full-mode cell may train for more than an hour on a CPU, so only smoke cells have a time limit.
    """
    notebook = nbformat.read(path, as_version=4)
    env_before = dict(os.environ)
    os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", **runmode.runner_environment(mode, results_file, resume)})
    try:
        client = NotebookClient(notebook, timeout=SMOKE_CELL_TIMEOUT_S if mode == "smoke" else None,
                                kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        return notebook, time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(env_before)


def budget_for(path, mode, hardware):
    if mode == "smoke":
        return SMOKE_BUDGET_S
    on_gpu = "GPU" in hardware
    if path.name.startswith(GPU_BUDGETED) and not on_gpu:
        return None  # budgeted on a GPU only; a CPU run reports its time as an estimate
    if on_gpu:
        return FULL_BUDGET_S["gpu"]
    return next((seconds for prefix, seconds in CPU_BUDGET_S.items() if path.name.startswith(prefix)),
                FULL_BUDGET_S["cpu"])


def run_notebook(path, mode, hardware, resume=False):
    """Run one notebook, store it (full mode) and return its results record.

    A full run times the reference workload (``course_utils.speed``) before and after the notebook: the
    record keeps the machine's speed index over the run and the run's time normalised to the reference
    machine, and the budget is judged on that.
    """
    before = speed.measure() if mode == "full" else None
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.json"
        notebook, seconds = execute(path, mode, results_file, resume)
        reported = results.read(results_file) or {}
    machine_speed = None if before is None else speed.over_a_run(before, speed.measure())
    if mode == "full":
        nbformat.write(notebook_metadata.normalize(drop_tensorflow_log(notebook)), path)
    budget = budget_for(path, mode, hardware)
    budgeted = results.budgeted_seconds(reported)
    judged = seconds if machine_speed is None else speed.normalised(seconds, machine_speed["index"], budgeted)
    record = {
        "notebook": repo_path(path),
        "mode": mode,
        "hardware": hardware,
        "versions": versions(),
        "date": datetime.date.today().isoformat(),
        "wall_time_s": round(seconds, 1),
        "budget_s": budget,
        # A resumed run's time covers only its last part: no verdict.
        "within_budget": None if budget is None or resume else judged <= budget,
        "metrics": reported.get("metrics", {}),
    }
    if machine_speed is not None:
        record["speed"] = machine_speed
        record["normalised_wall_time_s"] = round(judged, 1)
        if budgeted:
            record["budgeted_time_s"] = round(budgeted, 1)
    if resume:
        record["resumed"] = True
    return record


def write_json(path, data):
    """Write ``data`` as indented JSON with sorted keys, atomically."""
    with atomic_write(path) as file:
        file.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all)")
    parser.add_argument("--mode", choices=("full", "smoke"), default="full")
    parser.add_argument("--table-only", action="store_true",
                        help="run nothing: regenerate thumbnails, tables and Time lines from the stored files")
    parser.add_argument("--resume", action="store_true",
                        help="finish interrupted full runs from their checkpoints instead of starting over")
    args = parser.parse_args(argv)
    if args.resume and args.mode != "full":
        parser.error("--resume finishes interrupted full runs; smoke runs always start over")
    notebooks = [p.resolve() for p in args.notebooks] or results_pages.course_notebooks()
    missing = [str(p) for p in notebooks if not p.exists()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.table_only:
        for path in results_pages.update_all(notebooks):
            print(f"Time line rewritten: {repo_path(path)}")
        return 0
    from course_utils.accelerator import hardware_line  # imports TensorFlow: only for a real run

    hardware = hardware_line()
    records, failed = [], []
    with open(LOCK_FILE, "w") as lock:
        print(f"Waiting for the run lock {LOCK_FILE} ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in notebooks:
            print(f"[{args.mode}] {repo_path(path)} ...", flush=True)
            try:
                record = run_notebook(path, args.mode, hardware, args.resume)
            except CellExecutionError as error:
                failed.append(path.name)
                print(f"  FAILED: {str(error)[-1500:]}", flush=True)
                continue
            print(f"  {record['wall_time_s']:.0f} s (within budget: {record['within_budget']})", flush=True)
            records.append(record)
            if args.mode == "full":
                write_json(RESULTS_DIR / f"{path.stem}.json", record)
    if args.mode == "smoke" and records and not args.notebooks:
        total = sum(r["wall_time_s"] for r in records)
        write_json(RESULTS_DIR / "smoke.json", {
            "hardware": hardware, "date": datetime.date.today().isoformat(), "versions": versions(),
            "total_s": round(total, 1), "budget_s": SMOKE_SUITE_BUDGET_S,
            "within_budget": total <= SMOKE_SUITE_BUDGET_S and all(r["within_budget"] for r in records),
            "notebooks": [{k: r[k] for k in ("notebook", "wall_time_s", "within_budget")} for r in records],
        })
        print(f"smoke total: {total:.0f} s (budget {SMOKE_SUITE_BUDGET_S} s)")
    if args.mode == "full" and records:
        results_pages.update_all(REPO_ROOT / r["notebook"] for r in records)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
