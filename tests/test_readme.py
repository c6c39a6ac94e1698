"""The README tells the truth: its test commands are CI's, and its results table is the results files'."""

import json
import re
from pathlib import Path

import pytest

from tools import run_course

REPO = Path(__file__).resolve().parent.parent


def _between(text, start, end):
    return text.split(start, 1)[1].split(end, 1)[0]


def readme_test_commands():
    block = _between((REPO / "README.md").read_text(), "<!-- test-commands:start -->", "<!-- test-commands:end -->")
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("```")]


def ci_test_commands():
    script = (REPO / ".ci" / "run").read_text()
    block = _between(script, "# --- the README's test commands, verbatim ---", "# --- end of the README's test commands ---")
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_test_commands():
    assert readme_test_commands(), "README has no test commands between its markers"
    assert ci_test_commands() == readme_test_commands()


def test_ci_installs_from_requirements_first():
    script = (REPO / ".ci" / "run").read_text()
    assert script.index("pip install -q -r requirements.txt") < script.index(ci_test_commands()[0])


def test_results_table_matches_the_results_files():
    readme = (REPO / "README.md").read_text()
    table = _between(readme, run_course.TABLE_START, run_course.TABLE_END).strip()
    expected = (run_course.results_table() + run_course.smoke_summary() + run_course.benchmark_summary()).strip()
    assert table == expected, "README table is stale: run `python -m tools.run_course --table-only`"


def test_results_table_is_built_from_full_runs_only(tmp_path):
    record = {"notebook": "solutions/99_x.ipynb", "mode": "full", "hardware": "CPU only, 2 cores",
              "date": "2026-01-01", "wall_time_s": 90.0, "budget_s": 600, "within_budget": True,
              "metrics": {"data": {"value": "MNIST (real)", "unit": ""},
                          "test PSNR": {"value": 21.234, "unit": "dB"}}}
    (tmp_path / "99_x.json").write_text(json.dumps(record))
    (tmp_path / "98_y.json").write_text(json.dumps({**record, "mode": "smoke", "notebook": "solutions/98_y.ipynb"}))
    table = run_course.results_table(tmp_path)
    assert "| [99_x.ipynb](solutions/99_x.ipynb) | MNIST (real) | test PSNR: 21.23 dB | 1.5 min | 10 min: met |" in table
    assert "98_y" not in table


def test_results_table_shows_the_budget_verdict(tmp_path):
    base = {"notebook": "solutions/97_z.ipynb", "mode": "full", "hardware": "CPU only, 2 cores",
            "date": "2026-01-01", "wall_time_s": 700.0, "metrics": {}}
    (tmp_path / "97_z.json").write_text(json.dumps({**base, "budget_s": 600, "within_budget": False}))
    (tmp_path / "96_w.json").write_text(json.dumps({**base, "notebook": "solutions/96_w.ipynb",
                                                   "budget_s": None, "within_budget": None}))
    table = run_course.results_table(tmp_path)
    assert "| 11.7 min | 10 min: OVER |" in table
    assert "| 11.7 min | 15 min on a GPU: not measured |" in table


def test_results_table_marks_a_resumed_run_and_gives_it_no_verdict(tmp_path):
    record = {"notebook": "solutions/95_r.ipynb", "mode": "full", "hardware": "CPU only, 2 cores",
              "date": "2026-01-01", "wall_time_s": 1200.0, "budget_s": 600, "within_budget": None,
              "resumed": True, "metrics": {}}
    (tmp_path / "95_r.json").write_text(json.dumps(record))
    table = run_course.results_table(tmp_path)
    assert "| resumed: 20.0 min for the last part | no verdict (resumed run) |" in table


def test_resume_is_refused_for_smoke_runs(capsys):
    with pytest.raises(SystemExit):
        run_course.main(["--mode", "smoke", "--resume"])
    assert "smoke runs always start over" in capsys.readouterr().err


def test_every_results_file_names_its_data_and_hardware():
    for path in sorted(run_course.RESULTS_DIR.glob("*.json")):
        record = json.loads(path.read_text())
        if path.name in ("smoke.json", "benchmark.json"):
            continue
        assert record["mode"] == "full", path
        assert "data" in record["metrics"] or "00_" in path.name, f"{path.name} does not report the data it used"
        assert re.search(r"CPU|GPU", record["hardware"]), path


def test_only_tensorflow_start_up_log_is_dropped_from_stored_stderr():
    import nbformat

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
