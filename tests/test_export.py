"""The export tool: chapter modules generated from the cells tagged ``export``, and their sync test (fast)."""

import importlib.util

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import export
from tools.export import EXPORT_TAG, ExportError


def exporting_notebook(*sources, untagged=("import numpy as np\nimport keras\nfrom math import pi, tau",)):
    """A solution notebook: a title, untagged cells (imports), then one tagged cell per source."""
    cells = [new_markdown_cell("# 07 · Demo chapter\n\nWhat you will build."), new_code_cell("%pip install x")]
    cells += [new_code_cell(source) for source in untagged]
    cells += [new_code_cell(source, metadata={"tags": [EXPORT_TAG]}) for source in sources]
    return new_notebook(cells=cells)


def write(folder, notebook, name="07_demo.ipynb"):
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


def test_the_chapter_modules_match_their_notebooks():
    assert export.differences() == [], "run `python -m tools.export` and commit the modules"


def test_module_keeps_the_solution_drops_the_markers_and_stamps_each_cell(tmp_path):
    path = write(tmp_path, exporting_notebook(
        "SCALE = 2\n\n\ndef double(x):\n    ### BEGIN SOLUTION\n    return np.asarray(x) * SCALE\n    ### END SOLUTION",
        "def area(r):\n    return pi * r ** 2"))
    source = export.module_source(path)
    assert "### BEGIN SOLUTION" not in source and "return np.asarray(x) * SCALE" in source
    assert source.startswith('"""Chapter 07: Demo chapter.')
    assert "# --- " in source and "07_demo.ipynb, cell index 3 ---" in source and "cell index 4 ---" in source
    # only the imports the exported code reads, narrowed to the names it reads
    assert "import numpy as np" in source and "from math import pi" in source
    assert "tau" not in source and "import keras" not in source
    module_file = tmp_path / "ch07.py"
    module_file.write_text(source)
    spec = importlib.util.spec_from_file_location("ch07", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.double(3) == 6 and module.area(1.0) == pytest.approx(3.14159, abs=1e-5)


@pytest.mark.parametrize("line", ["print('hello')", "model.fit(x)", "for i in range(3):\n    pass"])
def test_a_cell_that_does_more_than_define_is_refused(tmp_path, line):
    path = write(tmp_path, exporting_notebook(f"def f():\n    return 1\n\n\n{line}"))
    with pytest.raises(ExportError, match=r"cell index 3, line 5: an exported cell may hold only"):
        export.module_source(path)


def test_a_name_that_no_exported_cell_defines_is_named(tmp_path):
    path = write(tmp_path, exporting_notebook("def f(x):\n    return x * WIDTH",
                                              untagged=("import numpy as np", "WIDTH = 3")))
    with pytest.raises(ExportError, match=r"cell index 4: the exported code reads WIDTH"):
        export.module_source(path)


def test_a_notebook_without_tagged_cells_exports_nothing(tmp_path):
    notebook = exporting_notebook()
    assert export.module_source(write(tmp_path, notebook)) is None


def test_check_reports_missing_different_and_stale_modules(tmp_path):
    solutions, chapters = tmp_path / "solutions", tmp_path / "chapters"
    chapters.mkdir()
    write(solutions, exporting_notebook("def f():\n    return 1"))
    write(solutions, exporting_notebook("def g():\n    return 2"), name="08_other.ipynb")
    (chapters / "ch08.py").write_text("edited by hand\n")
    (chapters / "ch99.py").write_text("left over\n")
    assert export.differences(solutions, chapters) == [
        "ch07.py: missing", "ch08.py: differs from its notebook", "ch99.py: no solution notebook exports it (stale)"]
    assert export.write_modules(solutions, chapters) == ["ch07.py", "ch08.py"]
    assert export.differences(solutions, chapters) == []
    assert not (chapters / "ch99.py").exists()
