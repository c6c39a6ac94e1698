"""Generate the chapter modules of ``course_utils.chapters`` from the solution cells tagged ``export``.

Code that a later chapter reuses (chapter 04's GAN in 09, chapter 12's transformer in 14) lives once,
in the solution notebook that teaches it. Tag such a code cell ``export`` (cell metadata ``tags``) and run

    python -m tools.export            # rewrite course_utils/chapters/chNN.py from solutions/NN_*.ipynb
    python -m tools.export --check    # change nothing; exit 1 naming the modules that differ (a test)

Each module holds its notebook's exported cells in order, as the solution runs them (the
``### BEGIN/END SOLUTION`` marker lines dropped, the code between them kept), each stamped with the
notebook and cell it came from, after the notebook's own imports that the code reads. An exported cell
may hold only imports, function and class definitions and assignments (no training, no printing): the
module must import in a second and do nothing. A name the exported code reads that neither an exported
cell nor a notebook import defines is an error naming the cell. The idea is d2l's ``#@save``; the layout
(one module per chapter) follows rasbt's LLMs-from-scratch package. This module never imports TensorFlow.
"""

import argparse
import ast
import builtins
import sys
from pathlib import Path

import nbformat

from course_utils.files import REPO_ROOT
from tools.exercises import NotebookError, solution_code
from tools.notebook_code import global_names

EXPORT_TAG = "export"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
CHAPTERS_DIR = REPO_ROOT / "course_utils" / "chapters"
_ALLOWED = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


class ExportError(NotebookError):
    """An exported cell cannot become module code; the message names the notebook, the cell and why."""


def module_name(notebook_path):
    """``solutions/12_transformer.ipynb`` -> ``ch12``: one module per chapter, named by its number."""
    number = Path(notebook_path).name.split("_", 1)[0]
    if not number.isdigit():
        raise ExportError(f"{notebook_path}: an exporting notebook's name starts with its chapter number")
    return f"ch{number}"


def exported_cells(notebook, where):
    """``(cell index, source)`` of each code cell tagged ``export``, as the solution runs it."""
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and EXPORT_TAG in cell.get("metadata", {}).get("tags", []):
            cells.append((index, solution_code(cell.source, f"{where}, cell index {index}")))
    return cells


def _check_definitions_only(tree, where):
    for statement in tree.body:
        is_docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        if not isinstance(statement, _ALLOWED) and not is_docstring:
            raise ExportError(
                f"{where}, line {statement.lineno}: an exported cell may hold only imports, definitions and "
                f"assignments, not {ast.unparse(statement).splitlines()[0]!r}; move that line to a cell "
                f"that is not tagged {EXPORT_TAG!r}"
            )


def _bound_names(statement):
    """Names an import statement binds (``import a.b`` binds ``a``; ``from m import x as y`` binds ``y``)."""
    return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}


def _notebook_imports(notebook):
    """Every top-level import statement of the notebook's code cells (cells with magics are skipped)."""
    imports = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(solution_code(cell.source))
        except SyntaxError:  # IPython magics (the Colab set-up cell): not Python
            continue
        imports.extend(s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom)))
    return imports


def _needed_imports(imports, names):
    """The import lines that bind ``names``, each narrowed to the names needed, without repeats."""
    lines = []
    for statement in imports:
        aliases = [alias for alias in statement.names if _bound_names(type(statement)(names=[alias])) & names]
        if aliases:
            narrowed = ast.ImportFrom(statement.module, aliases, statement.level) \
                if isinstance(statement, ast.ImportFrom) else ast.Import(aliases)
            line = ast.unparse(narrowed)
            if line not in lines:
                lines.append(line)
    return lines


def _title(notebook):
    """The notebook's title: the first Markdown heading without its ``#``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].split("·", 1)[-1].strip()  # "# 04 · A GAN on MNIST" -> "A GAN on MNIST"
    return ""


def module_source(notebook_path):
    """The text of the chapter module generated from ``notebook_path``, or None if it exports nothing."""
    notebook_path = Path(notebook_path)
    where = notebook_path.relative_to(REPO_ROOT) if notebook_path.is_relative_to(REPO_ROOT) else notebook_path
    notebook = nbformat.read(notebook_path, as_version=4)
    cells = exported_cells(notebook, where)
    if not cells:
        return None
    trees = []
    for index, source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            raise ExportError(f"{where}, cell index {index}: not Python ({error.msg}, line {error.lineno})") from None
        _check_definitions_only(tree, f"{where}, cell index {index}")
        trees.append(tree)
    defined = set()
    for tree in trees:
        for statement in tree.body:
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                defined |= _bound_names(statement)
            elif isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
                defined.add(statement.name)
            else:
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                defined |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    imports = _notebook_imports(notebook)
    imported = set().union(*(_bound_names(s) for s in imports)) if imports else set()
    for (index, _), tree in zip(cells, trees):
        unknown = sorted(global_names(tree) - defined - imported - set(dir(builtins)))
        if unknown:
            raise ExportError(
                f"{where}, cell index {index}: the exported code reads {', '.join(unknown)}, which no exported "
                f"cell and no import of the notebook defines; tag the cell that defines it {EXPORT_TAG!r}"
            )
    needed = set().union(*(global_names(tree) for tree in trees)) - defined
    header = (f'"""Chapter {module_name(notebook_path)[2:]}: {_title(notebook)}.\n\n'
              f"The code later chapters reuse, generated by `python -m tools.export` from the cells tagged\n"
              f"{EXPORT_TAG!r} in {where.as_posix()}. Do not edit: edit the notebook and regenerate.\n"
              f'"""')
    blocks = [header, "\n".join(_needed_imports(imports, needed))]
    for index, source in cells:
        blocks.append(f"# --- {where.as_posix()}, cell index {index} ---\n{source.strip()}")
    return "\n\n\n".join(block for block in blocks if block) + "\n"


def expected_modules(solutions_dir=SOLUTIONS_DIR):
    """``{module file name: source}`` for every solution notebook that exports cells."""
    modules = {}
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        source = module_source(path)
        if source is not None:
            modules[f"{module_name(path)}.py"] = source
    return modules


def differences(solutions_dir=SOLUTIONS_DIR, chapters_dir=CHAPTERS_DIR):
    """What ``--check`` reports: modules missing, different from their notebook, or with no notebook."""
    expected = expected_modules(solutions_dir)
    found = {path.name for path in Path(chapters_dir).glob("ch*.py")}
    problems = [f"{name}: missing" for name in sorted(set(expected) - found)]
    problems += [f"{name}: differs from its notebook" for name in sorted(set(expected) & found)
                 if (Path(chapters_dir) / name).read_text(encoding="utf-8") != expected[name]]
    problems += [f"{name}: no solution notebook exports it (stale)" for name in sorted(found - set(expected))]
    return problems


def write_modules(solutions_dir=SOLUTIONS_DIR, chapters_dir=CHAPTERS_DIR):
    """Rewrite every chapter module from its notebook, delete stale ones; return the names written."""
    expected = expected_modules(solutions_dir)
    for stale in set(p.name for p in Path(chapters_dir).glob("ch*.py")) - set(expected):
        (Path(chapters_dir) / stale).unlink()
    for name, source in expected.items():
        (Path(chapters_dir) / name).write_text(source, encoding="utf-8")
    return sorted(expected)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a module differs")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = differences()
            for problem in problems:
                print(f"course_utils/chapters/{problem}")
            if problems:
                print("Run `python -m tools.export` and commit the modules with their notebooks.")
            return 1 if problems else 0
        for name in write_modules():
            print(f"written: course_utils/chapters/{name}")
        return 0
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
