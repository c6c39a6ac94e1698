"""Hygiene of the committed notebooks in notebooks/, solutions/ and exercises/ (fast, no TensorFlow).

Each test runs once per notebook that exists (none yet is fine) and names the notebook and the
cell (its index in the notebook's cell list, counted from 0) when it fails. One more test reads
every file git tracks for paths of a particular machine.
"""

import functools
import json
import subprocess

from pathlib import Path

import nbformat
import pytest

from tools import colab, notebook_metadata
from tools.exercises import EXERCISE_MESSAGE, PLACEHOLDER, REPO_ROOT, MarkerError, strip_solutions

MACHINE_PATHS = ("/work/", "/root/", "/tmp/", "/home/")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _notebooks(*folders):
    return [path.relative_to(REPO_ROOT).as_posix()
            for folder in folders for path in sorted((REPO_ROOT / folder).glob("*.ipynb"))]


ALL = _notebooks("notebooks", "solutions", "exercises")
SOLUTIONS = _notebooks("solutions")
EXERCISES = _notebooks("exercises")


@functools.lru_cache(maxsize=None)
def _read(repo_path):
    return nbformat.read(REPO_ROOT / repo_path, as_version=4)


def _code_cells(notebook):
    return [(index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


def _where(repo_path, index, cell):
    first_line = cell.source.strip().split("\n")[0][:60]
    return f"{repo_path}, cell index {index} ({first_line!r})"


@pytest.mark.parametrize("path", ALL)
def test_first_cell_is_title_with_own_colab_badge(path):
    cells = _read(path).cells
    assert cells and cells[0].cell_type == "markdown", f"{path}: the first cell must be the Markdown title"
    assert colab.badge_markdown(path) in cells[0].source, (
        f"{path}, cell index 0: no Colab badge for this notebook; expected {colab.badge_markdown(path)} "
        f"(run `python -m tools.exercises --fix-colab`)"
    )
    other = [url for url in _colab_urls(cells[0].source) if url != colab.badge_url(path)]
    assert not other, f"{path}, cell index 0: Colab link(s) to another notebook: {other}"


def _colab_urls(markdown):
    prefix = colab.badge_url("")
    return [prefix + part.split(")")[0] for part in markdown.split(prefix)[1:]]


@pytest.mark.parametrize("path", ALL)
def test_first_code_cell_is_the_setup_cell(path):
    code = _code_cells(_read(path))
    assert code, f"{path}: has no code cell"
    index, cell = code[0]
    assert cell.source == colab.SETUP_CELL, (
        f"{_where(path, index, cell)}: the first code cell must be exactly colab.SETUP_CELL "
        f"(run `python -m tools.exercises --fix-colab`)"
    )


@pytest.mark.parametrize("path", ALL)
def test_kernelspec_is_the_one_jupyterlab_writes(path):
    assert _read(path).metadata.get("kernelspec") == notebook_metadata.KERNELSPEC, (
        f"{path}: kernelspec {_read(path).metadata.get('kernelspec')} differs from ipykernel's default kernel "
        f"{notebook_metadata.KERNELSPEC}, which JupyterLab writes on opening: the notebook would open modified "
        f"(tools/notebook_metadata.py says why; the runner and `python -m tools.exercises` write the right one)")


def test_language_info_is_what_ipykernel_reports_and_one_python_for_all():
    """JupyterLab also rewrites language_info from the kernel; only the Python version may differ."""
    from ipykernel.ipkernel import IPythonKernel

    reported = {key: value for key, value in IPythonKernel.language_info.items() if key != "version"}
    versions = {}
    for path in ALL:
        stored = dict(_read(path).metadata.get("language_info", {}))
        versions.setdefault(stored.pop("version", None), []).append(path)
        assert stored == reported, (
            f"{path}: language_info {stored} differs from what ipykernel reports, {reported}: JupyterLab would open "
            f"it modified; run it with `python -m tools.run_course` (solutions) or copy a solution's")
    assert len(versions) == 1, f"notebooks store language_info of different Python versions: {versions}"


def _output_texts(output):
    """The text an output stores (images, stored as base64, are left out)."""
    if output.output_type == "stream":
        yield output.text
    elif output.output_type == "error":
        yield from [output.ename, output.evalue, *output.traceback]
    else:
        for mime, value in output.get("data", {}).items():
            if not mime.startswith("image/") or mime == "image/svg+xml":
                yield value if isinstance(value, str) else json.dumps(value)


@pytest.mark.parametrize("path", ALL)
def test_outputs_store_no_path_of_this_machine(path):
    for index, cell in _code_cells(_read(path)):
        for output in cell.outputs:
            for text in _output_texts(output):
                found = [prefix for prefix in MACHINE_PATHS if prefix in text]
                assert not found, (
                    f"{_where(path, index, cell)}: an output stores a path of this machine ({found[0]}...); "
                    f"print paths relative to the repository or data folder"
                )


def _tracked_texts():
    """(path, text) of every text file git tracks. Of a notebook, only its cells' sources: its
    outputs are checked above, and the base64 of a stored image can hold "/tmp/" by chance."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip(f"not a git checkout, so no list of tracked files: {listing.stderr.strip()}")
    for path in listing.stdout.split("\0"):
        file = REPO_ROOT / path
        if not path or not file.is_file() or file.resolve() == Path(__file__).resolve():  # this file names them
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file
        if path.endswith(".ipynb"):
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        yield path, text


def test_no_tracked_file_names_a_path_of_this_machine():
    found = [f"{path}, line {number}: {line.strip()[:100]}"
             for path, text in _tracked_texts()
             for number, line in enumerate(text.splitlines(), start=1)
             if any(prefix in line for prefix in MACHINE_PATHS)]
    assert not found, (
        "paths of a particular machine in tracked files (say in words where a file lives, or derive the "
        "path from the repository):\n" + "\n".join(found))


@pytest.mark.parametrize("path", SOLUTIONS)
def test_solution_is_fully_executed_without_errors_or_stderr(path):
    for index, cell in _code_cells(_read(path)):
        where = _where(path, index, cell)
        assert cell.execution_count is not None, (
            f"{where}: not executed (execution_count is null); solutions are stored after a full run "
            f"with `python -m tools.run_course {path}`"
        )
        for output in cell.outputs:
            assert output.output_type != "error", f"{where}: stores an error: {output.ename}: {output.evalue}"
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                f"{where}: stores stderr output {output.text[:200]!r}; silence it (TF_CPP_MIN_LOG_LEVEL=3, "
                f"fix the warning) and rerun"
            )


@pytest.mark.parametrize("path", SOLUTIONS)
def test_solution_markers_are_well_formed(path):
    for index, cell in enumerate(_read(path).cells):
        where = _where(path, index, cell)
        if cell.cell_type == "code":
            try:
                strip_solutions(cell.source, where)
            except MarkerError as error:
                pytest.fail(str(error))
        else:
            assert not any(marker in cell.source for marker in MARKERS), (
                f"{where}: solution markers in a {cell.cell_type} cell are not replaced in the exercise; "
                f"use them in code cells only (tag the cell `solution-only` to hide it)"
            )


@pytest.mark.parametrize("path", EXERCISES)
def test_exercise_has_no_outputs(path):
    for index, cell in _code_cells(_read(path)):
        assert not cell.outputs and cell.execution_count is None, (
            f"{_where(path, index, cell)}: exercises store no outputs; regenerate with "
            f"`python -m tools.exercises`"
        )


@pytest.mark.parametrize("path", EXERCISES)
def test_exercise_has_something_to_do(path):
    raise_line = PLACEHOLDER[1]
    assert EXERCISE_MESSAGE in raise_line
    assert any(raise_line in cell.source for _, cell in _code_cells(_read(path))), (
        f"{path}: no exercise in it; wrap the learner's part of solutions/{path.split('/', 1)[1]} in "
        f"### BEGIN SOLUTION / ### END SOLUTION"
    )


@pytest.mark.parametrize("path", EXERCISES)
def test_every_exercise_cell_is_followed_by_a_check_cell(path):
    code = _code_cells(_read(path))
    for (index, cell), following in zip(code, code[1:] + [(None, None)]):
        if PLACEHOLDER[0] not in cell.source:
            continue
        assert following[1] is not None and "checks." in following[1].source, (
            f"{_where(path, index, cell)}: an exercise cell must be followed by a code cell that runs a "
            f"check (`checks.<chapter>.check_...(...)`)"
        )
