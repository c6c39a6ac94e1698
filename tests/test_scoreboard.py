"""The scoreboard reads its numbers from the results files, shows "—" for missing ones, and the README's
scoreboard section is what the repository's results files give (fix: `python -m tools.run_course --table-only`)."""

import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from course_utils import results, scoreboard  # noqa: E402
from tools import results_pages  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
REGENERATE = "run `python -m tools.run_course --table-only`"


def _quality(label, distance, floor, confident, coverage, samples=10000):
    """The entries metrics.report_generative_quality records for ``label``."""
    return {
        f"{label}: Frechet distance (mnist classifier features)": {
            "value": distance, "unit": "", "note": f"{samples} samples vs {samples} MNIST test images"},
        f"{label}: Frechet distance floor (real train vs real test)": {
            "value": floor, "unit": "", "note": f"{samples} vs {samples} MNIST images"},
        f"{label}: confidently classified (p >= 0.9)": {
            "value": confident, "unit": "%", "note": "real MNIST test images: 97.6%"},
        f"{label}: class coverage": {"value": coverage, "unit": "of 10 classes", "note": "normalised entropy 0.99"},
    }


def _write(folder, name, metrics, hardware="CPU only, 2 cores (x86_64)", date="2026-01-01", **changes):
    record = {"notebook": f"solutions/{name[:-5]}.ipynb", "mode": "full", "hardware": hardware, "date": date,
              "wall_time_s": 100.0, "metrics": metrics, **changes}
    (folder / name).write_text(json.dumps(record))


def _by_name(table):
    return {row["generator"]: row for row in table}


def _small_results(folder):
    """Chapter 04 with every number, chapter 08 with quality only, chapter 11 with a 2,000-sample pixel run."""
    gan = _quality("averaged generator", 14.94, 0.7075, 77.57, 10)
    gan["training time"] = {"value": 14.98, "unit": "min", "note": "60 epochs"}
    gan["averaged generator: time to draw the samples"] = {"value": 0.4157, "unit": "s", "note": "10000 samples"}
    gan["raw generator: Frechet distance (mnist classifier features)"] = {"value": 18.0, "unit": "", "note": ""}
    _write(folder, "04_gan_mnist.json", gan, hardware="CPU only, 2 cores (AMD EPYC)", date="2026-11-30")
    wgan = _quality("WGAN-GP (dense)", 59.37, 0.6229, 40.0, 9)
    del wgan["WGAN-GP (dense): confidently classified (p >= 0.9)"]  # an older run, before the metric existed
    _write(folder, "08_gan_failure_modes_wgan_gp.json", wgan)
    diffusion = _quality("pixel-space DDPM (DDIM 25)", 30.0, 2.6, 60.0, 10, samples=2000)
    diffusion["pixel-space DDPM: training time"] = {"value": 8.0, "unit": "min", "note": ""}
    diffusion["autoencoder: training time"] = {"value": 4.5, "unit": "min", "note": "10 epochs"}
    diffusion["latent diffusion: training time (denoiser)"] = {"value": 7.0, "unit": "min", "note": ""}
    diffusion["latent diffusion: time to draw samples"] = {"value": 2.0, "unit": "s",
                                                          "note": "5000 samples, DDPM 1000 steps, decoding included"}
    _write(folder, "11_diffusion_models.json", diffusion)
    _write(folder, "07_conditional_gan.json", _quality("AC-GAN", 13.2, 0.62, 90.0, 10), mode="smoke")


def test_rows_read_the_right_numbers_and_leave_missing_ones_none(tmp_path):
    _small_results(tmp_path)
    table = scoreboard.rows(tmp_path)
    assert [row["generator"] for row in table] == [g.name for g in scoreboard.GENERATORS]
    rows = _by_name(table)
    gan = rows["dense GAN (averaged generator)"]
    assert (gan["frechet_distance"], gan["floor"], gan["confidently_classified"], gan["class_coverage"]) == (
        14.94, 0.7075, 77.57, 10), "the averaged generator's numbers, not the raw generator's"
    assert (gan["training_time_min"], gan["sampling_time_s"], gan["samples"]) == (14.98, 0.4157, 10000)
    assert (gan["hardware"], gan["date"]) == ("CPU only, 2 cores (AMD EPYC)", "2026-11-30")
    wgan = rows["WGAN-GP (dense)"]
    assert wgan["frechet_distance"] == 59.37 and wgan["class_coverage"] == 9
    assert wgan["confidently_classified"] is None and wgan["training_time_min"] is None
    assert rows["latent diffusion, DDPM 1000 steps"]["sampling_time_s"] == 4.0, "2 s for 5,000 -> 4 s for 10,000"
    assert rows["latent diffusion, DDPM 1000 steps"]["training_time_min"] == 11.5, "autoencoder + denoiser"
    assert rows["pixel-space diffusion, DDIM 25 steps"]["samples"] == 2000
    assert rows["AC-GAN"]["frechet_distance"] is None, "a smoke run's numbers are not a full run's"
    assert all(value is None for key, value in rows["conv VAE"].items()
               if key not in ("generator", "results_file", "likelihood"))


def test_rows_read_the_times_and_the_dense_vae_of_chapters_03_and_07(tmp_path):
    vaes = _quality("dense VAE", 80.0, 0.62, 30.0, 9)
    vaes["dense VAE: training time"] = {"value": 1.0, "unit": "min", "note": "8 epochs"}
    vaes["dense VAE: time to draw the samples"] = {"value": 0.1, "unit": "s", "note": "10000 samples"}
    vaes["conv VAE: training time"] = {"value": 3.5, "unit": "min", "note": "6 epochs"}
    vaes["conv VAE, autoregressive decoder: time to draw the samples"] = {"value": 1.5, "unit": "s",
                                                                        "note": "5000 samples"}
    _write(tmp_path, "03_variational_autoencoders.json", vaes)
    acgan = _quality("AC-GAN", 3.4, 0.71, 99.0, 10)
    acgan["AC-GAN: training time"] = {"value": 13.0, "unit": "min", "note": "36 epochs of 937 steps"}
    acgan["AC-GAN: time to draw the samples"] = {"value": 0.5, "unit": "s", "note": "10000 samples"}
    _write(tmp_path, "07_conditional_gan.json", acgan)
    rows = _by_name(scoreboard.rows(tmp_path))
    dense = rows["dense VAE"]
    numbers = ("frechet_distance", "class_coverage", "training_time_min", "sampling_time_s")
    assert [dense[key] for key in numbers] == [80.0, 9, 1.0, 0.1], "the dense VAE's label and times are read"
    assert rows["conv VAE"]["training_time_min"] == 3.5 and rows["conv VAE"]["sampling_time_s"] is None
    assert rows["VAE, autoregressive decoder"]["sampling_time_s"] == 3.0, "1.5 s for 5,000 -> 3 s for 10,000"
    assert (rows["AC-GAN"]["training_time_min"], rows["AC-GAN"]["sampling_time_s"]) == (13.0, 0.5)


def test_a_training_time_in_two_parts_is_missing_while_one_part_is(tmp_path):
    diffusion = _quality("latent diffusion (DDPM 1000)", 3.0, 0.7, 88.0, 10)
    diffusion["latent diffusion: training time (denoiser)"] = {"value": 7.0, "unit": "min", "note": ""}
    _write(tmp_path, "11_diffusion_models.json", diffusion)
    row = _by_name(scoreboard.rows(tmp_path))["latent diffusion, DDPM 1000 steps"]
    assert row["training_time_min"] is None, "the denoiser's minutes alone would understate what the model cost"


@pytest.mark.parametrize("generator", scoreboard.GENERATORS, ids=lambda g: g.name)
def test_every_generator_finds_its_numbers_in_the_stored_full_runs(generator):
    """A typo in GENERATORS (or a model a re-run no longer names) would leave a "—" forever: catch it here."""
    record = results.read(REPO / "solutions" / "results" / generator.results_file)
    wanted = [(measure, generator.model) for measure in (results.FRECHET_DISTANCE, results.FRECHET_FLOOR,
                                                         results.CONFIDENTLY_CLASSIFIED, results.CLASS_COVERAGE)]
    wanted += [(results.TRAINING_TIME, model) for model in generator.training_time]
    wanted += [(results.SAMPLING_TIME, generator.sampling_time)]
    missing = [pair for pair in wanted if results.find(record, *pair) is None]
    assert not missing, f"{generator.name}: {generator.results_file} has no entry for {missing}"


def test_markdown_table_shows_the_numbers_and_a_dash_for_missing_ones(tmp_path):
    _small_results(tmp_path)
    lines = scoreboard.markdown_table(scoreboard.rows(tmp_path)).splitlines()
    assert lines[0] == f"| {' | '.join(scoreboard.COLUMNS)} |"
    assert len(lines) == 2 + len(scoreboard.GENERATORS)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert rows["dense GAN (averaged generator)"] == (
        "| dense GAN (averaged generator) | 14.9 (floor 0.71) | 77.6% | 10 of 10 | n/a | 15.0 min | 0.42 s | "
        "CPU only, 2 cores (AMD EPYC), 2026-11-30 |")
    assert rows["WGAN-GP (dense)"] == (
        "| WGAN-GP (dense) | 59.4 (floor 0.62) | — | 9 of 10 | n/a | — | — | CPU only, 2 cores (x86_64), 2026-01-01 |")
    assert rows["pixel-space diffusion, DDIM 25 steps"].startswith(
        "| pixel-space diffusion, DDIM 25 steps | 30.0 (floor 2.60; 2,000 samples) | 60.0% |")
    assert "| ≈4.00 s (scaled from 5,000) |" in rows["latent diffusion, DDPM 1000 steps"]
    assert rows["conv VAE"] == "| conv VAE | — | — | — | n/a | — | — | — |"


def test_a_model_with_a_likelihood_shows_its_test_bits_per_dimension(tmp_path):
    flows = _quality("RealNVP", 200.0, 0.6, 12.0, 9)
    flows["RealNVP: test bits/dim"] = {"value": 2.244, "unit": "bits/dim", "note": "",
                                       "measure": results.BITS_PER_DIMENSION, "model": "RealNVP"}
    _write(tmp_path, "15_normalizing_flows.json", flows)
    lines = scoreboard.markdown_table(scoreboard.rows(tmp_path)).splitlines()
    realnvp = next(line for line in lines if line.startswith("| RealNVP"))
    assert "| 9 of 10 | 2.24 | — |" in realnvp
    flow_matching = next(line for line in lines if line.startswith("| latent flow matching"))
    assert flow_matching.count(" n/a ") == 1, "a sampler of codes has no likelihood of pixels to report"


def test_show_on_a_missing_folder_says_so_in_one_line(tmp_path, capsys):
    assert scoreboard.show(tmp_path / "no such folder") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("No scoreboard: the results folder")


def test_show_prints_the_table_and_lists_the_generators_not_measured(tmp_path, capsys, monkeypatch):
    _small_results(tmp_path)
    monkeypatch.setattr("matplotlib.pyplot.show", lambda: None)
    table = scoreboard.show(tmp_path)
    out = capsys.readouterr().out
    assert scoreboard.markdown_table(table) in out
    not_measured = [line for line in out.splitlines() if line.startswith("not measured yet: ")]
    assert len(not_measured) == 1 and "conv VAE" in not_measured[0] and "AC-GAN" in not_measured[0]
    assert "WGAN-GP" not in not_measured[0]
    figure = scoreboard.bar_chart(table)
    assert [label.get_text() for label in figure.axes[0].get_yticklabels()] == [
        "dense GAN (averaged generator)", "WGAN-GP (dense)", "pixel-space diffusion, DDIM 25 steps"]


def test_results_pages_uses_the_scoreboard_module(tmp_path):
    _small_results(tmp_path)
    assert results_pages.scoreboard_table(tmp_path) == scoreboard.markdown_table(scoreboard.rows(tmp_path))


def test_readme_scoreboard_matches_the_results_files():
    readme = (REPO / "README.md").read_text()
    assert results_pages.SCOREBOARD_START in readme and results_pages.SCOREBOARD_END in readme, (
        f"README.md has no scoreboard markers; add {results_pages.SCOREBOARD_START} and "
        f"{results_pages.SCOREBOARD_END}, then {REGENERATE}")
    section = readme.split(results_pages.SCOREBOARD_START, 1)[1].split(results_pages.SCOREBOARD_END, 1)[0]
    assert section.strip() == results_pages.scoreboard_table(), f"README scoreboard is stale: {REGENERATE}"


def test_a_notebook_shows_its_own_rows_from_the_run_in_progress(tmp_path, monkeypatch):
    """Chapter 11 shows the scoreboard before the runner has written its results file: its rows come from
    this run's numbers so far (COURSE_RESULTS_FILE), the other rows from the stored files."""
    stored = tmp_path / "results"
    stored.mkdir()
    _write(stored, "11_diffusion_models.json", _quality("latent diffusion (DDPM 1000)", 9.0, 0.7, 80.0, 10))
    _write(stored, "04_gan_mnist.json", _quality("averaged generator", 14.0, 0.7, 78.0, 10))
    running = tmp_path / "running.json"
    running.write_text(json.dumps({"metrics": _quality("latent diffusion (DDPM 1000)", 3.0, 0.7, 88.0, 10)}))

    monkeypatch.delenv("COURSE_RESULTS_FILE", raising=False)
    assert scoreboard._this_run("11_diffusion_models.json") == {}  # a learner's run: the stored rows
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(running))
    monkeypatch.setenv("COURSE_MODE", "full")
    table = _by_name(scoreboard.rows(stored, running=scoreboard._this_run("11_diffusion_models.json")))
    assert table["latent diffusion, DDPM 1000 steps"]["frechet_distance"] == 3.0
    assert table["latent diffusion, DDPM 1000 steps"]["hardware"].startswith(("CPU only", "1x GPU"))
    assert table["dense GAN (averaged generator)"]["frechet_distance"] == 14.0

    monkeypatch.setenv("COURSE_MODE", "smoke")  # a smoke run's numbers never reach the scoreboard
    table = _by_name(scoreboard.rows(stored, running=scoreboard._this_run("11_diffusion_models.json")))
    assert table["latent diffusion, DDPM 1000 steps"]["frechet_distance"] is None


# ---------------------------------------------------------------------------------------------
# The text scoreboard
# ---------------------------------------------------------------------------------------------

def _text_entry(model, measure, value, unit=""):
    return {f"{model}: {measure}": {"value": value, "unit": unit, "note": "", "measure": measure, "model": model}}


def test_text_rows_read_each_models_numbers_by_measure(tmp_path):
    lstm = {**_text_entry(None, results.BITS_PER_CHARACTER, 2.3194), **_text_entry(None, results.PARAMETERS, 349569),
            **_text_entry(None, results.TRAINING_TIME, 6.52, "min"),
            **_text_entry(None, results.GENERATION_SPEED, 412.3, "characters/s"),
            "validation bits per character, unigram baseline": {"value": 4.83, "unit": "bits/char", "note": ""}}
    _write(tmp_path, "10_text_generation_lstm.json", lstm, hardware="CPU only, 2 cores (AMD EPYC)", date="2026-12-07")
    table = scoreboard.text_rows(tmp_path)
    assert [row["model"] for row in table] == [model.name for model in scoreboard.TEXT_MODELS]
    lines = scoreboard.text_markdown_table(table).splitlines()
    assert lines[0] == f"| {' | '.join(scoreboard.TEXT_COLUMNS)} |"
    by_model = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert by_model["LSTM (chapter 10)"] == (
        "| LSTM (chapter 10) | 2.319 | 349,569 | 6.5 min | 412 chars/s | CPU only, 2 cores (AMD EPYC), 2026-12-07 |")
    assert by_model["unigram baseline (character frequencies)"].startswith(
        "| unigram baseline (character frequencies) | 4.830 | — | none (counted) | — |"), "a legacy name is found too"
    assert by_model["transformer (chapter 12)"] == "| transformer (chapter 12) | — | — | — | — | — |"


def test_each_scoreboard_names_the_speed_index_of_a_run_that_measured_it(tmp_path):
    # Two runs on "AMD EPYC" machines can differ twice in speed: the index tells their minutes apart.
    lstm = {**_text_entry(None, results.BITS_PER_CHARACTER, 2.39), **_text_entry(None, results.TRAINING_TIME, 6.5)}
    gpt = {**_text_entry("transformer", results.BITS_PER_CHARACTER, 2.19)}
    _write(tmp_path, "10_text_generation_lstm.json", lstm, hardware="CPU only, 2 cores (AMD EPYC)", date="2026-12-07",
           speed={"index": 1.304})
    _write(tmp_path, "12_transformer_text_generation.json", gpt, hardware="CPU only, 2 cores (AMD EPYC)",
           date="2026-12-08")
    rows = {row["model"]: row for row in scoreboard.text_rows(tmp_path)}
    assert rows["LSTM (chapter 10)"]["speed_index"] == 1.304 and rows["transformer (chapter 12)"]["speed_index"] is None
    table = scoreboard.text_markdown_table(scoreboard.text_rows(tmp_path))
    assert "| CPU only, 2 cores (AMD EPYC), 2026-12-07 (speed index 1.30) |" in table
    assert "| CPU only, 2 cores (AMD EPYC), 2026-12-08 |" in table, "no index where the run did not measure one"
    _write(tmp_path, "13_faces_dcgan_vae.json", _face_entries("DCGAN", 0.58, 0.16, 8.0), date="2026-12-08",
           speed={"index": 2.5})
    assert "2026-12-08 (speed index 2.50) |" in scoreboard.face_markdown_table(scoreboard.face_rows(tmp_path))
    _write(tmp_path, "04_gan_mnist.json", _quality("averaged generator", 14.9, 0.7, 77.6, 10), date="2026-12-08",
           speed={"index": 0.9})
    assert "2026-12-08 (speed index 0.90) |" in scoreboard.markdown_table(scoreboard.rows(tmp_path))


@pytest.mark.parametrize("which, start, end, table", [
    ("text", results_pages.TEXT_SCOREBOARD_START, results_pages.TEXT_SCOREBOARD_END,
     results_pages.text_scoreboard_table),
    ("faces", results_pages.FACES_SCOREBOARD_START, results_pages.FACES_SCOREBOARD_END,
     results_pages.faces_scoreboard_table)])
def test_readme_scoreboard_matches_the_results_files(which, start, end, table):
    readme = (REPO / "README.md").read_text()
    assert start in readme and end in readme, f"README.md has no {which} scoreboard markers; add {start} and {end}"
    section = readme.split(start, 1)[1].split(end, 1)[0]
    assert section.strip() == table(), f"README {which} scoreboard is stale: {REGENERATE}"


# ---------------------------------------------------------------------------------------------
# The faces scoreboard
# ---------------------------------------------------------------------------------------------

def _face_entries(model, distance, floor, minutes, samples=1000):
    """The entries faces_yardstick.report and chapter 13's training-time line record for ``model``."""
    return {
        f"{model}: faces Frechet distance (rotation-net features)": {
            "value": distance, "unit": "", "note": "", "measure": results.FRECHET_DISTANCE, "model": model,
            "samples": samples},
        f"{model}: faces Frechet distance floor (real train vs real test)": {
            "value": floor, "unit": "", "note": "", "measure": results.FRECHET_FLOOR, "model": model,
            "samples": samples},
        f"{model}: training time": {"value": minutes, "unit": "min", "note": "", "measure": results.TRAINING_TIME,
                                    "model": model},
    }


def test_face_rows_read_each_generators_numbers_by_measure(tmp_path):
    faces = {**_face_entries("DCGAN", 1.234, 0.056, 8.01), **_face_entries("conv VAE", 9.87, 0.056, 7.9),
             "data": {"value": "CelebA (10,000 faces), 32x32", "unit": "", "note": "", "measure": results.DATA}}
    _write(tmp_path, "13_faces_dcgan_vae.json", faces, hardware="CPU only, 2 cores (AMD EPYC)", date="2026-12-07")
    table = scoreboard.face_rows(tmp_path)
    assert [row["generator"] for row in table] == [model.name for model in scoreboard.FACE_MODELS]
    lines = scoreboard.face_markdown_table(table).splitlines()
    assert lines[0] == f"| {' | '.join(scoreboard.FACE_COLUMNS)} |"
    assert lines[2] == ("| DCGAN (chapter 13) | 1.23 (floor 0.06; 1,000) | 8.0 min | CelebA (10,000 faces), 32x32 "
                        "| CPU only, 2 cores (AMD EPYC), 2026-12-07 |")
    assert lines[3].startswith("| conv VAE (chapter 13) | 9.87 (floor 0.06; 1,000) | 7.9 min |")


def test_face_rows_show_dashes_without_a_full_run(tmp_path):
    _write(tmp_path, "13_faces_dcgan_vae.json", _face_entries("DCGAN", 1.0, 0.1, 8.0), mode="smoke")
    lines = scoreboard.face_markdown_table(scoreboard.face_rows(tmp_path)).splitlines()
    assert lines[2] == "| DCGAN (chapter 13) | — | — | — | — |", "a smoke run's numbers never reach the scoreboard"
