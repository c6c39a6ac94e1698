"""The exercise generator: markers, cleaning, determinism and the --check mode (fast, no TensorFlow)."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import colab, exercises, notebook_metadata
from tools.exercises import EXERCISE_MESSAGE, MarkerError, strip_solutions

RAISE = f'raise NotImplementedError("{EXERCISE_MESSAGE}")'
NAME = "01_demo.ipynb"


def solution_notebook(*code_sources, name=NAME):
    """A small executed 'solution': title with badge, setup cell, then the given code cells."""
    cells = [
        new_markdown_cell(f"# Demo\n\n{colab.badge_markdown('solutions/' + name)}\n\nWhat you will build."),
        new_code_cell(colab.SETUP_CELL, execution_count=1),
    ]
    for count, source in enumerate(code_sources, start=2):
        cells.append(new_code_cell(source, execution_count=count,
                                   outputs=[new_output("stream", name="stdout", text="answer: 42\n")]))
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_solution(folder, notebook, name=NAME):
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / name)


# --- strip_solutions: the marker rewrite -----------------------------------------------------

def test_region_inside_function_keeps_indentation():
    source = (
        "def encode(x):\n"
        "    h = x * 2\n"
        "    ### BEGIN SOLUTION\n"
        "    z = h + 1\n"
        "    return z\n"
        "    ### END SOLUTION\n"
        "\n"
        "print(encode(1))"
    )
    assert strip_solutions(source) == (
        "def encode(x):\n"
        "    h = x * 2\n"
        "    # YOUR CODE HERE\n"
        f"    {RAISE}\n"
        "\n"
        "print(encode(1))"
    )


def test_region_inside_nested_block_keeps_indentation():
    source = (
        "class Model:\n"
        "    def train_step(self, data):\n"
        "        with tape:\n"
        "            ### BEGIN SOLUTION\n"
        "            loss = f(data)\n"
        "            ### END SOLUTION\n"
        "        return loss\n"
    )
    assert strip_solutions(source) == (
        "class Model:\n"
        "    def train_step(self, data):\n"
        "        with tape:\n"
        "            # YOUR CODE HERE\n"
        f"            {RAISE}\n"
        "        return loss\n"
    )


def test_several_regions_per_cell_and_code_outside_untouched():
    source = (
        "a = 1  # keep me\n"
        "### BEGIN SOLUTION\n"
        "b = 2\n"
        "### END SOLUTION\n"
        "c = 3\n"
        "if c:\n"
        "\t### BEGIN SOLUTION\n"
        "\td = 4\n"
        "\t### END SOLUTION\n"
    )
    assert strip_solutions(source) == (
        "a = 1  # keep me\n"
        "# YOUR CODE HERE\n"
        f"{RAISE}\n"
        "c = 3\n"
        "if c:\n"
        "\t# YOUR CODE HERE\n"
        f"\t{RAISE}\n"
    )


def test_source_without_markers_is_unchanged():
    source = "x = 1\n\n# BEGIN SOLUTION is not a marker without ###\ny = 2"
    assert strip_solutions(source) == source


def test_placeholder_is_valid_python_that_raises():
    namespace = {}
    with pytest.raises(NotImplementedError, match="run the check cell below"):
        exec(strip_solutions("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nf()"),
             namespace)


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("### BEGIN SOLUTION\nx = 1\n  ### BEGIN SOLUTION\n### END SOLUTION\n", 3, "nested"),
        ("x = 0\n### BEGIN SOLUTION\nx = 1\n", 2, "never closed"),
        ("x = 1\n### END SOLUTION\n", 2, "without a matching"),
        ("x = 1  ### BEGIN SOLUTION\n### END SOLUTION\n", 1, "alone on its line"),
    ],
    ids=["nested", "unclosed", "orphan-end", "not-alone"],
)
def test_bad_markers_are_rejected_naming_the_line(source, line, words):
    with pytest.raises(MarkerError, match=f"solutions/x.ipynb, cell index 7, line {line}: .*{words}"):
        strip_solutions(source, "solutions/x.ipynb, cell index 7")


def test_bad_markers_in_a_notebook_name_the_notebook_and_cell():
    solution = solution_notebook("x = 1", "### BEGIN SOLUTION\ny = 2\n")
    with pytest.raises(MarkerError, match=rf"solutions/{NAME}, cell index 3, line 1: "):
        exercises.make_exercise(solution, NAME)


# --- make_exercise: the whole notebook -------------------------------------------------------

def test_exercise_is_cleaned_and_badge_points_at_exercise():
    solution = solution_notebook("### BEGIN SOLUTION\nprint('answer: 42')\n### END SOLUTION")
    solution.cells.append(new_markdown_cell(
        "Compare with `solutions/01_demo.ipynb`.\n### BEGIN SOLUTION in markdown is left alone"))
    solution.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    solution.cells[2].metadata["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    solution.cells[2].metadata["tags"] = ["nbval-ignore-output"]
    original = nbformat.writes(solution)

    exercise = exercises.make_exercise(solution, NAME)

    assert nbformat.writes(solution) == original, "the solution must not be modified"
    title = exercise.cells[0].source
    assert colab.badge_markdown(f"exercises/{NAME}") in title
    assert "solutions/" not in title
    assert title == solution.cells[0].source.replace(f"solutions/{NAME}", f"exercises/{NAME}")
    assert exercise.cells[-1].source == solution.cells[-1].source  # later markdown untouched
    for cell in exercise.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert exercise.cells[1].source == colab.SETUP_CELL
    assert exercise.cells[2].source == f"# YOUR CODE HERE\n{RAISE}"
    assert exercise.cells[2].metadata == {"tags": ["nbval-ignore-output"]}
    assert "widgets" not in exercise.metadata
    assert exercise.metadata["kernelspec"] == notebook_metadata.KERNELSPEC  # JupyterLab opens it unmodified
    assert [cell.id for cell in exercise.cells] == [cell.id for cell in solution.cells]


def test_solution_only_cells_are_dropped():
    solution = solution_notebook("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "print('spoiler')")
    solution.cells[3].metadata["tags"] = ["solution-only"]
    solution.cells.append(new_markdown_cell("The answer is 42.", metadata={"tags": ["solution-only"]}))
    exercise = exercises.make_exercise(solution, NAME)
    assert [cell.id for cell in exercise.cells] == [cell.id for cell in solution.cells[:3]]


def test_output_is_deterministic(tmp_path):
    write_solution(tmp_path / "solutions", solution_notebook("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    first = exercises.expected_exercises(tmp_path / "solutions")
    second = exercises.expected_exercises(tmp_path / "solutions")
    assert first == second and first[NAME].endswith("}\n")

    exercises.generate(tmp_path / "solutions", tmp_path / "exercises")
    written = (tmp_path / "exercises" / NAME).read_bytes()
    assert written == first[NAME].encode("utf-8")
    assert exercises.generate(tmp_path / "solutions", tmp_path / "exercises") == [], "nothing to rewrite"
    assert (tmp_path / "exercises" / NAME).read_bytes() == written


# --- generate / --check on folders -----------------------------------------------------------

@pytest.fixture
def synced(tmp_path):
    """A solutions/ and an exercises/ folder in sync, with two notebooks."""
    solutions, exercises_dir = tmp_path / "solutions", tmp_path / "exercises"
    write_solution(solutions, solution_notebook("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    write_solution(solutions, solution_notebook("y = 2", name="02_more.ipynb"), name="02_more.ipynb")
    exercises.generate(solutions, exercises_dir)
    return solutions, exercises_dir


def run_check(solutions, exercises_dir):
    return exercises.main(["--check", "--solutions", str(solutions), "--exercises", str(exercises_dir)])


def test_check_passes_when_in_sync(synced, capsys):
    assert run_check(*synced) == 0
    assert "exercises/ is in sync with solutions/ (2 notebooks)" in capsys.readouterr().out


def test_check_detects_modified_exercise(synced, capsys):
    solutions, exercises_dir = synced
    path = exercises_dir / NAME
    path.write_text(path.read_text().replace("YOUR CODE HERE", "x = 1"))
    assert run_check(solutions, exercises_dir) == 1
    out = capsys.readouterr().out
    assert f"{NAME}: differs" in out and "python -m tools.exercises" in out


def test_check_detects_edited_solution(synced, capsys):
    solutions, exercises_dir = synced
    notebook = nbformat.read(solutions / "02_more.ipynb", as_version=4)
    notebook.cells[2].source = "y = 3"
    nbformat.write(notebook, solutions / "02_more.ipynb")
    assert run_check(solutions, exercises_dir) == 1
    assert "02_more.ipynb: differs" in capsys.readouterr().out


def test_check_detects_missing_exercise(synced, capsys):
    solutions, exercises_dir = synced
    (exercises_dir / "02_more.ipynb").unlink()
    assert run_check(solutions, exercises_dir) == 1
    assert "02_more.ipynb: missing" in capsys.readouterr().out


def test_check_detects_stale_exercise_and_generate_removes_it(synced, capsys):
    solutions, exercises_dir = synced
    (solutions / "02_more.ipynb").unlink()
    assert run_check(solutions, exercises_dir) == 1
    assert "02_more.ipynb: stale" in capsys.readouterr().out
    assert exercises.main(["--solutions", str(solutions), "--exercises", str(exercises_dir)]) == 0
    assert not (exercises_dir / "02_more.ipynb").exists()
    assert run_check(solutions, exercises_dir) == 0


def test_marker_error_leaves_exercises_untouched(synced, capsys):
    solutions, exercises_dir = synced
    before = {path.name: path.read_bytes() for path in exercises_dir.iterdir()}
    write_solution(solutions, solution_notebook("x = 1", "### END SOLUTION"), name="02_more.ipynb")
    assert exercises.main(["--solutions", str(solutions), "--exercises", str(exercises_dir)]) == 1
    assert "solutions/02_more.ipynb, cell index 3, line 1" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in exercises_dir.iterdir()} == before


# --- --fix-colab -------------------------------------------------------------------------------

def test_fix_colab_rewrites_setup_cell_and_badge(tmp_path):
    notebook = new_notebook(cells=[
        new_markdown_cell("# Demo\n\n" + colab.badge_markdown("solutions/old_name.ipynb") + "\n\nText."),
        new_code_cell("# Setup: an older version\nimport sys"),
        new_code_cell("import numpy as np"),
    ])
    without_setup = new_notebook(cells=[new_markdown_cell("# Start\nHello."), new_code_cell("x = 1")])
    write_solution(tmp_path / "solutions", notebook)
    write_solution(tmp_path / "notebooks", without_setup, name="00_start.ipynb")

    folders = {"solutions": tmp_path / "solutions", "notebooks": tmp_path / "notebooks"}
    changed = exercises.fix_colab(folders)
    assert sorted(path.name for path in changed) == ["00_start.ipynb", NAME]
    assert exercises.fix_colab(folders) == [], "a second run must change nothing"

    fixed = nbformat.read(tmp_path / "solutions" / NAME, as_version=4)
    assert fixed.cells[0].source == f"# Demo\n\n{colab.badge_markdown('solutions/' + NAME)}\n\nText."
    assert [cell.source for cell in fixed.cells[1:]] == [colab.SETUP_CELL, "import numpy as np"]
    start = nbformat.read(tmp_path / "notebooks" / "00_start.ipynb", as_version=4)
    assert start.cells[0].source == f"# Start\n\n{colab.badge_markdown('notebooks/00_start.ipynb')}\n\nHello."
    assert [cell.source for cell in start.cells[1:]] == [colab.SETUP_CELL, "x = 1"], "no code overwritten"


# --- the repository itself ---------------------------------------------------------------------

def test_repository_exercises_are_in_sync_with_solutions():
    problems = exercises.out_of_date(exercises.REPO_ROOT / "solutions", exercises.REPO_ROOT / "exercises")
    assert not problems, (
        "exercises/ is out of date; run `python -m tools.exercises` and commit exercises/:\n"
        + "\n".join(f"  {path.name}: {reason}" for path, reason in problems)
    )
