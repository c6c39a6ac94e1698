"""Generate the learners' exercise notebooks from the instructors' solution notebooks.

Workflow for instructors:

1. Edit ``solutions/NN_name.ipynb`` (the source of truth). Wrap the lines a learner should write
   in whole-line markers, indented like the code around them::

       def encoder(x):
           ### BEGIN SOLUTION
           h = layers.Dense(128, activation="relu")(x)
           return layers.Dense(2)(h)
           ### END SOLUTION

   and follow that cell with a check cell (``checks.<chapter>.check_xxx(...)``).
2. Run ``python -m tools.exercises``. It rewrites ``exercises/NN_name.ipynb``: each region
   becomes ``# YOUR CODE HERE`` plus ``raise NotImplementedError(EXERCISE_MESSAGE)`` at the
   marker's indentation, outputs and execution counts are cleared, widget state is dropped, the
   kernelspec is the one JupyterLab writes (``tools.notebook_metadata``: the exercise opens
   unmodified), and the Colab badge of the first Markdown cell points at the exercise. Cells tagged
   ``solution-only`` (cell metadata ``tags``) are left out of the exercise: use it for output
   or discussion that would give the answer away. Exercises whose solution no longer exists are
   removed. Never edit ``exercises/`` by hand.
3. ``python -m tools.exercises --check`` changes nothing: it exits 1 and lists the
   exercises that are missing, different or stale (a test and the pre-stop hook run it).

``--fix-colab`` rewrites the setup cell (``colab.SETUP_CELL``) and the Colab badge of every
notebook in ``notebooks/`` and ``solutions/`` (after a fork changed ``colab.REPOSITORY``), then
regenerates the exercises. This module must stay fast: it never imports TensorFlow.
"""

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

from course_utils.files import REPO_ROOT
from course_utils.checks import EXERCISE_PLACEHOLDER as EXERCISE_MESSAGE
from tools import colab, notebook_metadata

BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
SOLUTION_ONLY_TAG = "solution-only"
PLACEHOLDER = ("# YOUR CODE HERE", f'raise NotImplementedError("{EXERCISE_MESSAGE}")')

_BADGE = re.compile(
    r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
    r"\(https://colab\.research\.google\.com/github/[^)\s]*\)"
)


class NotebookError(ValueError):
    """A notebook cannot be turned into an exercise or fixed; the message says where and why."""


class MarkerError(NotebookError):
    """A solution cell has nested, unclosed, unmatched or misplaced solution markers.

    The message names the notebook, the cell (its index in the file's cell list, from 0) and
    the line in that cell (from 1).
    """


def _marked_lines(source, where):
    """Yield ``(line, role)`` for each line of a code cell's source; role is "code", "solution",
    "begin" or "end" (the marker lines themselves).

    ``where`` names the cell in error messages (e.g. "solutions/01_x.ipynb, cell index 4").
    Raises ``MarkerError`` naming ``where`` and the line (counted from 1) on bad markers.
    """
    opened_at = None
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped not in (BEGIN_MARKER, END_MARKER):
            if BEGIN_MARKER in line or END_MARKER in line:
                raise MarkerError(
                    f"{where}, line {number}: a solution marker must stand alone on its line "
                    f"(only indentation around it), got {line.strip()!r}"
                )
            yield line, "code" if opened_at is None else "solution"
        elif stripped == BEGIN_MARKER:
            if opened_at is not None:
                raise MarkerError(
                    f"{where}, line {number}: nested {BEGIN_MARKER!r}: the region opened at "
                    f"line {opened_at} is not closed yet; add {END_MARKER!r} before this line"
                )
            opened_at = number
            yield line, "begin"
        else:
            if opened_at is None:
                raise MarkerError(
                    f"{where}, line {number}: {END_MARKER!r} without a matching {BEGIN_MARKER!r} "
                    f"before it"
                )
            opened_at = None
            yield line, "end"
    if opened_at is not None:
        raise MarkerError(
            f"{where}, line {opened_at}: {BEGIN_MARKER!r} is never closed; add {END_MARKER!r} "
            f"after the solution lines"
        )


def strip_solutions(source, where="cell"):
    """Replace every ``### BEGIN/END SOLUTION`` region of a code cell's source by the placeholder.

    ``where`` names the cell in error messages (e.g. "solutions/01_x.ipynb, cell index 4").
    Raises ``MarkerError`` naming ``where`` and the line (counted from 1) on bad markers.
    """
    result = []
    for line, role in _marked_lines(source, where):
        if role == "code":
            result.append(line)
        elif role == "begin":
            indent = line[: len(line) - len(line.lstrip())]
            result.extend(indent + placeholder for placeholder in PLACEHOLDER)
    return "\n".join(result)


def solution_code(source, where="cell"):
    """A code cell's source as the solution runs it: the marker lines dropped, their regions kept."""
    return "\n".join(line for line, role in _marked_lines(source, where) if role in ("code", "solution"))


def _copy_without(node, key):
    """A deep copy of a notebook node without one of its entries."""
    return nbformat.from_dict(copy.deepcopy({name: value for name, value in node.items() if name != key}))


def make_exercise(solution, name):
    """Return the exercise notebook for the solution notebook ``solutions/<name>`` (not modified)."""
    exercise = notebook_metadata.normalize(_copy_without(solution, "cells"))
    exercise.metadata.pop("widgets", None)
    exercise.cells = []
    first_markdown = True
    for index, cell in enumerate(solution.cells):
        if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        cell = _copy_without(cell, "outputs")  # outputs (large images) are never copied
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"solutions/{name}, cell index {index}")
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # run timestamps written by nbclient
        elif cell.cell_type == "markdown" and first_markdown:
            first_markdown = False
            cell.source = cell.source.replace(
                colab.badge_url(f"solutions/{name}"), colab.badge_url(f"exercises/{name}")
            )
        exercise.cells.append(cell)
    return exercise


def read_notebook(path):
    """Read a notebook file as nbformat v4."""
    return nbformat.read(path, as_version=4)


def render(notebook):
    """The exact text written for a notebook (sorted keys, trailing newline): deterministic."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def _write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def _display(path):
    """A path relative to the repository when it lies inside it, for messages."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def expected_exercises(solutions_dir):
    """Map exercise file name -> rendered text, for every ``*.ipynb`` in ``solutions_dir``."""
    return {
        path.name: render(make_exercise(read_notebook(path), path.name))
        for path in sorted(Path(solutions_dir).glob("*.ipynb"))
    }


def out_of_date(solutions_dir, exercises_dir):
    """List ``(exercise path, reason)`` for every exercise that is missing, different or stale."""
    expected = expected_exercises(solutions_dir)
    exercises_dir = Path(exercises_dir)
    problems = []
    for name, text in expected.items():
        path = exercises_dir / name
        if not path.exists():
            problems.append((path, "missing"))
        elif path.read_text(encoding="utf-8") != text:
            problems.append((path, f"differs from what solutions/{name} generates"))
    for path in sorted(exercises_dir.glob("*.ipynb")):
        if path.name not in expected:
            problems.append((path, f"stale: there is no solutions/{path.name}"))
    return problems


def generate(solutions_dir, exercises_dir):
    """Bring ``exercises_dir`` in line with ``solutions_dir``; return ``(path, action)`` per change.

    Everything is generated in memory first, so a marker error leaves the folder untouched.
    Only files whose content changes are written; stale exercises are removed.
    """
    expected = expected_exercises(solutions_dir)
    exercises_dir = Path(exercises_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    changes = []
    for name, text in expected.items():
        path = exercises_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changes.append((path, "updated" if path.exists() else "created"))
            _write_text(path, text)
    for path in sorted(exercises_dir.glob("*.ipynb")):
        if path.name not in expected:
            path.unlink()
            changes.append((path, "removed (its solution no longer exists)"))
    return changes


def _is_setup_cell(cell):
    return cell.source.startswith("# Setup") or "google.colab" in cell.source


def _with_badge(markdown, badge):
    """Replace the Colab badge in ``markdown``, or add it under the title line (or on top)."""
    if _BADGE.search(markdown):
        return _BADGE.sub(lambda _: badge, markdown)
    lines = markdown.split("\n")
    if lines[0].startswith("#"):
        lines[1:1] = ["", badge, ""]
    else:
        lines[0:0] = [badge, ""]
    return "\n".join(lines).rstrip("\n")


def fix_colab_notebook(notebook, repo_path):
    """Give a notebook the standard setup cell and the Colab badge for ``repo_path``, in place.

    The first code cell becomes ``colab.SETUP_CELL`` if it is a setup cell (starts with
    "# Setup" or mentions google.colab); otherwise a setup cell is inserted before it, so no
    code is overwritten. In the first Markdown cell an existing badge is replaced, or the badge
    is added after the title line.
    """
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if not markdown:
        raise NotebookError(f"{repo_path}: no Markdown cell to hold the Colab badge; add a title cell first")
    markdown[0].source = _with_badge(markdown[0].source, colab.badge_markdown(repo_path))
    if code and _is_setup_cell(code[0]):
        code[0].source = colab.SETUP_CELL
    else:
        position = notebook.cells.index(code[0]) if code else len(notebook.cells)
        notebook.cells.insert(position, nbformat.v4.new_code_cell(colab.SETUP_CELL))


def fix_colab(folders):
    """Apply ``fix_colab_notebook`` to every notebook of ``folders`` (repo folder name -> path).

    Returns the paths of the notebooks that changed (only those are written).
    """
    changed = []
    for folder_name, folder in folders.items():
        for path in sorted(Path(folder).glob("*.ipynb")):
            notebook = read_notebook(path)
            before = copy.deepcopy(notebook)
            fix_colab_notebook(notebook, f"{folder_name}/{path.name}")
            if notebook != before:
                _write_text(path, render(notebook))
                changed.append(path)
    return changed


def _report_check(args):
    problems = out_of_date(args.solutions, args.exercises)
    if not problems:
        count = len(list(args.solutions.glob("*.ipynb")))
        print(f"exercises/ is in sync with solutions/ ({count} notebooks)")
        return 0
    print("exercises/ is out of date:")
    for path, reason in problems:
        print(f"  {_display(path)}: {reason}")
    command = "python -m tools.exercises"
    if args.solutions.resolve() != (REPO_ROOT / "solutions").resolve() or \
            args.exercises.resolve() != (REPO_ROOT / "exercises").resolve():
        command += f" --solutions {args.solutions} --exercises {args.exercises}"
    print(f"Fix: run `{command}` and commit exercises/.")
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tools.exercises",
        description="Regenerate exercises/ from solutions/ (see the module docstring).",
    )
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if exercises/ is out of date")
    parser.add_argument("--fix-colab", action="store_true",
                        help="rewrite the setup cell and Colab badge of notebooks/ and solutions/, "
                             "then regenerate")
    parser.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions", metavar="DIR")
    parser.add_argument("--exercises", type=Path, default=REPO_ROOT / "exercises", metavar="DIR")
    parser.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks", metavar="DIR",
                        help="notebooks without an exercise pair (only used by --fix-colab)")
    args = parser.parse_args(argv)
    if args.check and args.fix_colab:
        parser.error("--check and --fix-colab do not go together: --check never changes files")
    if not args.solutions.is_dir() and args.solutions != parser.get_default("solutions"):
        parser.error(f"solutions folder {args.solutions} does not exist")

    try:
        if args.check:
            return _report_check(args)
        if args.fix_colab:
            folders = {"notebooks": args.notebooks, "solutions": args.solutions}
            for path in fix_colab({name: folder for name, folder in folders.items() if folder.is_dir()}):
                print(f"fixed setup cell / Colab badge: {_display(path)}")
        changes = generate(args.solutions, args.exercises)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path, action in changes:
        print(f"{action}: {_display(path)}")
    count = len(list(args.solutions.glob("*.ipynb")))
    print(f"exercises/ is in sync with solutions/ ({count} notebooks, {len(changes)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
