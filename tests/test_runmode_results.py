"""Run mode switch and the results recorder."""

import json

import pytest

from course_utils import results, runmode


@pytest.mark.parametrize("mode, expected", [("full", 30), ("smoke", 1), ("SMOKE", 1)])
def test_epochs_follow_the_mode(monkeypatch, mode, expected):
    monkeypatch.setenv("COURSE_MODE", mode)
    assert runmode.epochs(full=30) == expected


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match="'full'.*'smoke'"):
        runmode.mode()


def test_default_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_MODE", raising=False)
    assert runmode.mode() == "full" and runmode.examples(full=None) is None


def test_report_prints_and_records(monkeypatch, tmp_path, capsys):
    path = tmp_path / "r.json"
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(path))
    results.report("test PSNR", 23.456789, unit="dB")
    results.report("data", "MNIST")
    assert capsys.readouterr().out.splitlines() == ["test PSNR: 23.46 dB", "data: MNIST"]
    recorded = json.loads(path.read_text())["metrics"]
    assert recorded["test PSNR"] == {"value": 23.456789, "unit": "dB", "note": ""}
    assert recorded["data"]["value"] == "MNIST"


def test_report_refuses_nan_and_odd_types(monkeypatch):
    monkeypatch.delenv("COURSE_RESULTS_FILE", raising=False)
    with pytest.raises(ValueError, match="diverged"):
        results.report("loss", float("nan"))
    with pytest.raises(TypeError):
        results.report("shape", (1, 2))
