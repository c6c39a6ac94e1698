"""What is generated from the results files tells the truth: the README's test command is CI's, and
its chapter table, solutions/results/README.md, the thumbnails and each first cell's Time line are
what the results files and stored notebooks give (fix: `python -m tools.run_course --table-only`)."""

import base64
import io
import json
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from course_utils import results, scoreboard
from tools import results_pages, run_course

REPO = Path(__file__).resolve().parent.parent
REGENERATE = "run `python -m tools.run_course --table-only`"
RECORDS = results_pages.full_runs()


def _between(text, start, end):
    return text.split(start, 1)[1].split(end, 1)[0]


def readme_test_commands():
    block = _between((REPO / "README.md").read_text(), "<!-- test-commands:start -->", "<!-- test-commands:end -->")
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("```")]


def ci_test_commands():
    script = (REPO / ".ci" / "run").read_text()
    block = _between(script, "# --- the README's test commands, verbatim ---", "# --- end of the README's test commands ---")
    return [line.strip() for line in block.splitlines() if line.strip()]


def _record(notebook, **changes):
    """A full-run results record as the runner writes it."""
    record = {"notebook": notebook, "mode": "full", "hardware": "CPU only, 2 cores (x86_64)",
              "date": "2026-01-01", "wall_time_s": 90.0, "budget_s": 600, "within_budget": True, "metrics": {}}
    return {**record, **changes}


# ---------------------------------------------------------------------------------------------
# The README
# ---------------------------------------------------------------------------------------------

def test_ci_runs_exactly_the_readme_test_command():
    assert readme_test_commands() == ["python -m pytest"], "the README leads with one test command"
    assert ci_test_commands() == readme_test_commands()


def test_ci_installs_from_requirements_first():
    script = (REPO / ".ci" / "run").read_text()
    assert script.index("pip install -q -r requirements.txt") < script.index(ci_test_commands()[0])


def test_readme_shows_set_up_and_test_command_in_its_first_screen():
    first_screen = "\n".join((REPO / "README.md").read_text().splitlines()[:40])
    for command in ("pip install -r requirements.txt", "jupyter lab", "python -m pytest"):
        assert command in first_screen, f"README: {command!r} is not in the first 40 lines"


def test_chapter_table_matches_the_results_files():
    readme = (REPO / "README.md").read_text()
    table = _between(readme, results_pages.TABLE_START, results_pages.TABLE_END).strip()
    assert table == results_pages.chapter_table(), f"README chapter table is stale: {REGENERATE}"


def test_chapter_table_names_the_hardware_and_date_of_each_full_run():
    rows = {row.split(" | ")[0].strip("| "): row for row in results_pages.chapter_table().splitlines()[2:]}
    for stem, record in results_pages.full_runs().items():
        row = rows[stem[:2]]
        assert f"on {record['hardware']}, {record['date']}" in row, f"chapter {stem[:2]}: no hardware and date"


def test_results_readme_matches_the_results_files():
    assert results_pages.RESULTS_README.exists(), f"solutions/results/README.md is missing: {REGENERATE}"
    assert results_pages.RESULTS_README.read_text() == results_pages.results_readme(), (
        f"solutions/results/README.md is stale: {REGENERATE}")


@pytest.mark.parametrize("stem", sorted(results_pages.HEADLINE))
def test_headline_metric_is_in_its_results_file(stem):
    record = RECORDS.get(stem)
    if record is None:
        pytest.skip(f"{stem} has no full run recorded")
    measure, model, _ = results_pages.HEADLINE[stem]
    assert results.find(record, measure, model) is not None, (
        f"{stem}: its headline ({measure!r} of model {model!r}) is not in its results file (it reports "
        f"{sorted(record['metrics'])}); choose one of those in tools/results_pages.py HEADLINE")


def test_every_chapter_with_results_has_a_headline():
    missing = [stem for stem in RECORDS if stem not in results_pages.HEADLINE and not stem.startswith("00")]
    assert not missing, f"no headline number chosen for {missing}: add them to HEADLINE in tools/results_pages.py"


def test_headline_names_the_stand_in():
    record = _record("solutions/05_dcgan_svhn.ipynb", metrics={
        "data": {"value": "SVHN stand-in", "unit": ""},
        "DCGAN: Frechet distance (svhn classifier features)": {"value": 9.87654, "unit": ""}})
    assert results_pages.headline("05_dcgan_svhn", record) == "Fréchet distance: 9.877 (SVHN stand-in)"
    assert results_pages.headline("05_dcgan_svhn", _record("solutions/05_dcgan_svhn.ipynb")) == "-"


# ---------------------------------------------------------------------------------------------
# solutions/results/README.md
# ---------------------------------------------------------------------------------------------

def test_results_table_is_built_from_full_runs_only(tmp_path):
    metrics = {"data": {"value": "MNIST (real)", "unit": ""}, "test PSNR": {"value": 21.234, "unit": "dB"}}
    (tmp_path / "99_x.json").write_text(json.dumps(_record("solutions/99_x.ipynb", metrics=metrics)))
    (tmp_path / "98_y.json").write_text(json.dumps(_record("solutions/98_y.ipynb", mode="smoke")))
    table = results_pages.results_table(tmp_path)
    assert ("| [99_x.ipynb](../../solutions/99_x.ipynb) | MNIST (real) | test PSNR: 21.23 dB | 1.5 min | "
            "10 min: met |") in table
    assert "98_y" not in table


def test_results_table_shows_the_budget_verdict(tmp_path):
    over = _record("solutions/97_z.ipynb", wall_time_s=700.0, within_budget=False)
    gpu = _record("solutions/96_w.ipynb", wall_time_s=700.0, budget_s=None, within_budget=None)
    (tmp_path / "97_z.json").write_text(json.dumps(over))
    (tmp_path / "96_w.json").write_text(json.dumps(gpu))
    table = results_pages.results_table(tmp_path)
    assert "| 11.7 min | 10 min: OVER |" in table
    assert "| 11.7 min | budgeted on a GPU: not measured |" in table


def test_results_table_marks_a_resumed_run_and_gives_it_no_verdict(tmp_path):
    record = _record("solutions/95_r.ipynb", wall_time_s=1200.0, within_budget=None, resumed=True)
    (tmp_path / "95_r.json").write_text(json.dumps(record))
    table = results_pages.results_table(tmp_path)
    assert "| resumed: 20.0 min for the last part | no verdict (resumed run) |" in table


def test_a_run_that_measured_its_machine_shows_its_speed_index_and_normalised_time(tmp_path):
    speed = {"index": 0.5, "workload_s": 9.4, "reference_s": 4.7, "reference_machine": "ref", "workload": "w"}
    slow = _record("solutions/94_s.ipynb", wall_time_s=1200.0, speed=speed, normalised_wall_time_s=600.0)
    (tmp_path / "94_s.json").write_text(json.dumps(slow))
    (tmp_path / "93_t.json").write_text(json.dumps(_record("solutions/93_t.ipynb", speed={**speed, "index": 1.25},
                                                           normalised_wall_time_s=112.5)))
    assert "| 20.0 min (speed index 0.50; 10.0 min normalised) | 10 min: met (normalised time) |" in (
        results_pages.results_table(tmp_path))
    budgeted = _record("solutions/95_b.ipynb", wall_time_s=1200.0, speed={**speed, "index": 2.0},
                       normalised_wall_time_s=1800.0, budgeted_time_s=600.0)
    (tmp_path / "95_b.json").write_text(json.dumps(budgeted))
    assert "| 20.0 min (speed index 2.00; 30.0 min normalised, 10.0 min of it budgeted) |" in (
        results_pages.results_table(tmp_path))
    (tmp_path / "95_b.json").unlink()
    summary = results_pages.speed_summary(tmp_path)
    assert "| 94_s.ipynb | 2026-01-01 | CPU only, 2 cores (x86_64) | - | 0.50 | - |" in summary, "one measurement"
    assert "ranged from 0.50 to 1.25 over these 2 runs" in summary and "Within one run" not in summary
    # A run measured before and after the notebook shows both, the parts of the first, and how far it moved.
    before = {"index": 0.8, "parts": {"conv": 0.9, "attention": 0.71}}
    measured_twice = {"index": 1.0, "before": before, "after": {"index": 1.25}}
    (tmp_path / "92_u.json").write_text(json.dumps(_record("solutions/92_u.ipynb", speed=measured_twice,
                                                           normalised_wall_time_s=100.0)))
    summary = results_pages.speed_summary(tmp_path)
    assert "| 92_u.ipynb | 2026-01-01 | CPU only, 2 cores (x86_64) | 0.80 → 1.25 | 1.00 | conv 0.90, attention 0.71 |" \
        in summary
    assert "Within one run it moved by up to 56% between the measurements" in summary
    assert "speed index 0.50: about 10.0 minutes on the course's reference machine" in results_pages.time_line(slow)


def test_results_readme_names_hardware_and_dates(tmp_path):
    (tmp_path / "01_a.json").write_text(json.dumps(_record("solutions/01_a.ipynb", date="2026-01-02")))
    (tmp_path / "02_b.json").write_text(json.dumps(_record("solutions/02_b.ipynb", date="2026-01-05")))
    text = results_pages.results_readme(tmp_path)
    assert "Full runs: CPU only, 2 cores (x86_64), from 2026-01-02 to 2026-01-05." in text
    assert "No smoke run recorded yet" in text and "No benchmark recorded yet" in text


# ---------------------------------------------------------------------------------------------
# Time lines of first cells
# ---------------------------------------------------------------------------------------------

NOTEBOOKS_WITH_RUNS = [path.relative_to(REPO).as_posix() for path in results_pages.course_notebooks()
                       if path.stem in RECORDS]


@pytest.mark.parametrize("path", NOTEBOOKS_WITH_RUNS)
def test_first_cell_time_line_matches_the_results_file(path):
    first = nbformat.read(REPO / path, as_version=4).cells[0].source
    stored = results_pages.stored_time_line(first)
    assert stored is not None, f"{path}: its first cell has no generated Time line: {REGENERATE}"
    assert stored == results_pages.time_line(RECORDS[Path(path).stem]), (
        f"{path}: the first cell's Time line disagrees with its results file: {REGENERATE}")
    assert first.count("**Time.**") == 1, f"{path}: the first cell has more than one Time line"


def test_time_line_gives_a_gpu_estimate_until_a_gpu_run_measures_it():
    cpu = results_pages.time_line(_record("solutions/01_autoencoders.ipynb", wall_time_s=372.0))
    assert cpu == ("**Time.** Full run: 6.2 minutes (measured on CPU only, 2 cores (x86_64), 2026-01-01); "
                   f"{results_pages.GPU_ESTIMATES['01_autoencoders']} on one GPU (estimate).")
    gpu = results_pages.time_line(_record("solutions/01_autoencoders.ipynb", wall_time_s=40.0,
                                          hardware="1x GPU (NVIDIA H200)"))
    assert gpu == "**Time.** Full run: 40 seconds (measured on 1x GPU (NVIDIA H200), 2026-01-01)."


def test_time_line_of_a_resumed_run_says_it_is_a_part():
    line = results_pages.time_line(_record("solutions/99_x.ipynb", wall_time_s=600.0, resumed=True))
    assert line.startswith("**Time.** Full run: more than 10.0 minutes") and "resumed" in line


def test_time_block_replaces_markers_or_an_old_time_paragraph():
    record = _record("solutions/99_x.ipynb")
    block = results_pages.time_block(record)
    old = "# title\n\n**Time.** Full run: 3 minutes,\nmeasured by hand.\n\n**How to work.** Fill in."
    assert results_pages.with_time_block(old, record) == f"# title\n\n{block}\n\n**How to work.** Fill in."
    stale = f"# title\n\n{results_pages.TIME_START}\n**Time.** stale\n{results_pages.TIME_END}\n\nrest"
    assert results_pages.with_time_block(stale, record) == f"# title\n\n{block}\n\nrest"
    assert results_pages.with_time_block("# title\n\n**How to work.** Fill in.", record) == (
        f"# title\n\n{block}\n\n**How to work.** Fill in.")


# ---------------------------------------------------------------------------------------------
# Thumbnails
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS_WITH_RUNS)
def test_thumbnail_is_the_stored_key_figure(path):
    notebook = nbformat.read(REPO / path, as_version=4)
    picture = results_pages.key_figure(notebook, path)
    if picture is None:
        assert path.startswith("notebooks/"), (
            f"{path}: no cell is tagged {results_pages.KEY_FIGURE_TAG!r}; tag the cell that draws the chapter's key "
            f"figure (its final sample grid for a generative chapter)")
        return
    thumbnail = results_pages.RESULTS_DIR / f"{Path(path).stem}.png"
    assert thumbnail.exists(), f"{path}: no thumbnail {thumbnail.name}: {REGENERATE}"
    assert thumbnail.read_bytes() == results_pages.thumbnail(picture), (
        f"{path}: {thumbnail.name} is not the stored key figure: {REGENERATE}")


def _png_output(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(buffer.getvalue()).decode()})


def _tagged_cell(outputs):
    cell = nbformat.v4.new_code_cell("plot()", metadata={"tags": [results_pages.KEY_FIGURE_TAG]})
    cell.outputs = outputs
    return cell


def test_key_figure_is_the_largest_picture_and_its_thumbnail_is_small():
    notebook = nbformat.v4.new_notebook(cells=[_tagged_cell([_png_output(600, 300), _png_output(1200, 900)])])
    picture = results_pages.key_figure(notebook, "x.ipynb")
    assert picture.size == (1200, 900)
    small = Image.open(io.BytesIO(results_pages.thumbnail(picture)))
    assert small.width <= 240 and small.height <= 240 and small.size == (240, 180)


def test_key_figure_names_a_tag_without_picture_or_two_tags():
    without_picture = nbformat.v4.new_notebook(cells=[_tagged_cell([])])
    with pytest.raises(ValueError, match="stores no PNG picture"):
        results_pages.key_figure(without_picture, "x.ipynb")
    two = nbformat.v4.new_notebook(cells=[_tagged_cell([_png_output(10, 10)]), _tagged_cell([_png_output(10, 10)])])
    with pytest.raises(ValueError, match="2 cells are tagged"):
        results_pages.key_figure(two, "x.ipynb")


# ---------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------

def test_resume_is_refused_for_smoke_runs(capsys):
    with pytest.raises(SystemExit):
        run_course.main(["--mode", "smoke", "--resume"])
    assert "smoke runs always start over" in capsys.readouterr().err


def test_every_results_file_names_its_data_and_hardware():
    for path in sorted(results_pages.RESULTS_DIR.glob("*.json")):
        record = json.loads(path.read_text())
        if path.name in ("smoke.json", "benchmark.json"):
            continue
        assert record["mode"] == "full", path
        assert "data" in record["metrics"] or "00_" in path.name, f"{path.name} does not report the data it used"
        assert re.search(r"CPU|GPU", record["hardware"]), path


def test_only_tensorflow_start_up_log_is_dropped_from_stored_stderr():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow")])
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1795253404.236251   25986 port.cc:153] oneDNN custom operations are on.\n"
            "UserWarning: a real warning the learner should see\n")),
        nbformat.v4.new_output("stream", name="stderr", text=(
            "E0000 00:00:1795252502.004286    6707 cuda_platform.cc:52] failed call to cuInit\n")),
        nbformat.v4.new_output("stream", name="stdout", text="I0000 printed by the notebook\n"),
    ]
    outputs = run_course.drop_tensorflow_log(notebook).cells[0].outputs
    assert [o["text"] for o in outputs] == ["UserWarning: a real warning the learner should see\n",
                                           "I0000 printed by the notebook\n"]


# ---------------------------------------------------------------------------------------------
# Chapters report what the scoreboards read
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text_model", scoreboard.TEXT_MODELS, ids=lambda m: m.name)
def test_every_text_model_is_reported_by_its_notebook(text_model):
    """The chapter that measures a text model reports its numbers with measure= and model=, and shows the table.

    (A static check of the solution's code, so it holds before the chapter's first full run.)"""
    path = REPO / "solutions" / text_model.results_file.replace(".json", ".ipynb")
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    named = f'model="{text_model.model}"' in code if text_model.model else "measure=results.BITS_PER_CHARACTER" in code
    assert named, (
        f"{path.name} never reports a number with model={text_model.model!r}: report its validation bits per "
        f"character, parameters, training time (not for counted models) and generation speed with "
        f"results.report(..., measure=results.BITS_PER_CHARACTER / PARAMETERS / TRAINING_TIME / GENERATION_SPEED, "
        f"model={text_model.model!r})")
    if text_model.results_file.startswith("12_"):
        assert 'scoreboard.show_text(this_notebook="12_transformer_text_generation.json")' in code, (
            f"{path.name} must show the text scoreboard: "
            f'scoreboard.show_text(this_notebook="12_transformer_text_generation.json")')


@pytest.mark.parametrize("face_model", scoreboard.FACE_MODELS, ids=lambda m: m.name)
def test_every_face_generator_is_reported_by_its_notebook(face_model):
    """Chapter 13 scores each face generator with faces_yardstick.report(..., label=model), reports its training
    time with model=, and shows the faces scoreboard (a static check of the solution's code)."""
    path = REPO / "solutions" / face_model.results_file.replace(".json", ".ipynb")
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert f'label="{face_model.model}"' in code and f'model="{face_model.model}"' in code, (
        f"{path.name} must score {face_model.model!r} with faces_yardstick.report(samples, label={face_model.model!r}) "
        f"and report its training time with results.report(..., measure=results.TRAINING_TIME, "
        f"model={face_model.model!r})")
    shown = f'scoreboard.show_faces(this_notebook="{face_model.results_file}")'
    assert shown in code, f"{path.name} must show the faces scoreboard: {shown}"
