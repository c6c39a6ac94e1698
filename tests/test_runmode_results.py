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
    monkeypatch.setenv("COURSE_MODE", "full")
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


def test_the_runner_and_the_notebooks_share_one_set_of_settings(monkeypatch, tmp_path):
    for name in (runmode.RESULTS_FILE_VARIABLE, runmode.RESUME_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    assert runmode.results_file() is None and not runmode.resumes()
    for resume in (True, False):
        for name, value in runmode.runner_environment("smoke", tmp_path / "r.json", resume).items():
            monkeypatch.setenv(name, value)
        assert runmode.mode() == "smoke" and runmode.results_file() == tmp_path / "r.json"
        assert runmode.resumes() is resume
    with pytest.raises(ValueError, match="mode"):
        runmode.runner_environment("fast", tmp_path / "r.json")


def test_report_writes_the_results_file_whole(monkeypatch, tmp_path):
    path = tmp_path / "r.json"
    monkeypatch.setenv(runmode.RESULTS_FILE_VARIABLE, str(path))
    results.report("a", 1)
    results.report("b", 2.5)
    assert sorted(json.loads(path.read_text())["metrics"]) == ["a", "b"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left beside it


def test_full_run_budgets_per_chapter_and_hardware():
    from pathlib import Path

    from tools.run_course import budget_for

    cpu, gpu = "CPU only, 2 cores (x86_64)", "1 GPU (NVIDIA H200)"
    assert budget_for(Path("solutions/01_autoencoders.ipynb"), "full", cpu) == 600
    assert budget_for(Path("solutions/04_gan_mnist.ipynb"), "full", cpu) == 900
    assert budget_for(Path("solutions/05_dcgan_svhn.ipynb"), "full", cpu) == 1200
    assert budget_for(Path("solutions/11_diffusion_models.ipynb"), "full", cpu) == 1800
    assert budget_for(Path("solutions/06_semi_supervised_gan_svhn.ipynb"), "full", cpu) is None
    assert budget_for(Path("solutions/06_semi_supervised_gan_svhn.ipynb"), "full", gpu) == 900
    assert budget_for(Path("solutions/04_gan_mnist.ipynb"), "smoke", cpu) == 120


def test_a_number_records_what_it_measures_and_is_found_by_it(monkeypatch, tmp_path):
    path = tmp_path / "r.json"
    monkeypatch.setenv(runmode.RESULTS_FILE_VARIABLE, str(path))
    results.report("GPT: validation bits per character", 2.1, unit="bits/char",
                   measure=results.BITS_PER_CHARACTER, model="GPT")
    results.report("GPT: Frechet distance", 3.5, measure=results.FRECHET_DISTANCE, model="GPT", samples=2000)
    record = results.read(path)
    entry = results.find(record, results.FRECHET_DISTANCE, "GPT")
    assert (entry["value"], entry["samples"]) == (3.5, 2000)
    assert results.find(record, results.BITS_PER_CHARACTER, "GPT")["value"] == 2.1
    assert results.find(record, results.BITS_PER_CHARACTER) is None, "model None is the unnamed entry, not any"
    with pytest.raises(ValueError, match="not one of"):
        results.report("x", 1.0, measure="bits per char")


@pytest.mark.parametrize("name, note, measure, model, samples", [
    ("AC-GAN: Frechet distance (mnist classifier features)", "10000 samples vs 10000 mnist test images",
     results.FRECHET_DISTANCE, "AC-GAN", 10000),
    ("Frechet distance (mnist classifier features)", "500 samples vs 500", results.FRECHET_DISTANCE, None, 500),
    ("conv VAE: Frechet distance floor (real train vs real test)", "", results.FRECHET_FLOOR, "conv VAE", None),
    ("WGAN-GP (dense): confidently classified (p >= 0.9)", "", results.CONFIDENTLY_CLASSIFIED, "WGAN-GP (dense)", None),
    ("training time", "64 epochs", results.TRAINING_TIME, None, None),
    ("latent diffusion: training time (denoiser)", "", results.TRAINING_TIME, "latent diffusion (denoiser)", None),
    ("latent diffusion: time to draw samples", "10000 samples, DDPM", results.SAMPLING_TIME, "latent diffusion", 10000),
    ("validation bits per character, unigram baseline", "", results.BITS_PER_CHARACTER, "unigram baseline", None),
    ("conv VAE (32-D latent) test -ELBO", "", results.NEGATIVE_ELBO, "conv VAE (32-D latent)", None),
])
def test_files_written_before_measures_existed_get_them_from_their_names(name, note, measure, model, samples):
    entry = results.with_measure(name, {"value": 1.0, "unit": "", "note": note})
    assert (entry["measure"], entry["model"], entry.get("samples")) == (measure, model, samples)
    assert results.with_measure("training steps", {"value": 5}) == {"value": 5}, "no measure: left as it is"


def test_two_entries_of_one_measure_and_model_are_an_error():
    record = {"metrics": {"a": {"value": 1, "measure": results.PSNR, "model": "m"},
                          "b": {"value": 2, "measure": results.PSNR, "model": "m"}}}
    with pytest.raises(ValueError, match="report each once"):
        results.find(record, results.PSNR, "m")


@pytest.fixture
def offline_runner(monkeypatch):
    """tools.run_course with nothing written and no versions read: a test sets ``execute`` and ``speed.measure``."""
    from tools import run_course

    monkeypatch.setattr(run_course.nbformat, "write", lambda *args: None)
    monkeypatch.setattr(run_course, "drop_tensorflow_log", lambda notebook: notebook)
    monkeypatch.setattr(run_course.notebook_metadata, "normalize", lambda notebook: notebook)
    monkeypatch.setattr(run_course, "versions", lambda: {})
    return run_course


def test_a_full_run_records_its_machines_speed_before_and_after_and_is_judged_on_normalised_time(monkeypatch,
                                                                                                   tmp_path,
                                                                                                   offline_runner):
    from pathlib import Path

    run_course = offline_runner
    notebook = tmp_path / "01_x.ipynb"
    monkeypatch.setattr(run_course, "execute", lambda path, mode, results_file, resume=False: (None, 900.0))

    def machine(*indices):
        """speed.measure giving these indices one after another."""
        measurements = iter({"index": index, "reference_machine": "r", "workload": "w"} for index in indices)
        monkeypatch.setattr(run_course.speed, "measure", lambda: next(measurements))

    machine(0.25, 1.0)  # slow before the notebook, fast after it: index 0.5 over the run
    record = run_course.run_notebook(Path(notebook), "full", "CPU only, 2 cores (x86_64)")
    assert record["speed"]["index"] == 0.5 and record["normalised_wall_time_s"] == 450.0
    assert (record["speed"]["before"]["index"], record["speed"]["after"]["index"]) == (0.25, 1.0)
    assert record["budget_s"] == 600 and record["within_budget"], "15 slow minutes are 7.5 reference minutes"
    machine(1.0, 1.0)
    assert not run_course.run_notebook(Path(notebook), "full", "CPU only, 2 cores (x86_64)")["within_budget"]
    machine()  # a smoke run measures nothing: next() on an empty iterator would raise
    assert "speed" not in run_course.run_notebook(Path(notebook), "smoke", "CPU only, 2 cores (x86_64)")


def test_training_on_a_time_budget_is_not_scaled_when_a_run_is_normalised(monkeypatch, tmp_path, offline_runner):
    from pathlib import Path

    run_course = offline_runner

    def execute(path, mode, results_file, resume=False):
        monkeypatch.setenv("COURSE_RESULTS_FILE", str(results_file))
        results.report("DCGAN: training time", 8.0, unit="min", measure=results.TRAINING_TIME, model="DCGAN",
                       budgeted=True)
        results.report("classifier: training time", 2.0, unit="min", measure=results.TRAINING_TIME)
        return None, 900.0

    monkeypatch.setattr(run_course, "execute", execute)
    monkeypatch.setattr(run_course.speed, "measure", lambda: {"index": 2.0, "reference_machine": "r", "workload": "w"})
    record = run_course.run_notebook(Path(tmp_path / "13_x.ipynb"), "full", "CPU only, 2 cores (x86_64)")
    assert record["budgeted_time_s"] == 480.0 and record["normalised_wall_time_s"] == (900 - 480) * 2 + 480


def test_only_a_training_time_in_minutes_can_be_budgeted(monkeypatch):
    monkeypatch.delenv("COURSE_RESULTS_FILE", raising=False)
    for measure, unit in ((results.SAMPLING_TIME, "s"), (results.TRAINING_TIME, "s"), (None, "min")):
        with pytest.raises(ValueError, match="only a training time in minutes"):
            results.report("time", 1.0, unit=unit, measure=measure, budgeted=True)


def test_report_marks_numbers_of_a_smoke_run_where_they_are_printed(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_RESULTS_FILE", raising=False)
    monkeypatch.setenv("COURSE_MODE", "smoke")
    results.report("test PSNR", 23.456789, unit="dB")
    results.report("floor", 0.7, note=runmode.smoke_marked("1000 vs 1000 images"))
    results.report("data", "MNIST")
    results.report("parameters", 1234, note="2 layers", measure=results.PARAMETERS)
    assert capsys.readouterr().out.splitlines() == [
        f"test PSNR: 23.46 dB  ({runmode.SMOKE_MARK})",
        f"floor: 0.7  (1000 vs 1000 images; {runmode.SMOKE_MARK})",  # marked once, not twice
        "data: MNIST",  # words, not a measurement
        "parameters: 1234  (2 layers)"]  # the same in both modes: nbval compares the line with a full run's
    monkeypatch.setenv("COURSE_MODE", "full")
    results.report("test PSNR", 23.456789, unit="dB")
    assert capsys.readouterr().out.splitlines() == ["test PSNR: 23.46 dB"]
