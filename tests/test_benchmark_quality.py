"""The benchmark's quality case (``python -m tools.benchmark --quality``): the TensorFlow DCGAN tutorial's
recipe against chapter 04's for the same training time, measured at the same training minutes."""

import json
import math
import time

import nbformat
import numpy as np
import pytest

from tools import benchmark, results_pages


def _curve(*points):
    return [{"minutes": minutes, "frechet_distance": distance, "confidently_classified": 0.5}
            for minutes, distance in points]


# ---------------------------------------------------------------------------------------------
# Minutes to a Frechet distance of 50, and the ratios
# ---------------------------------------------------------------------------------------------

def test_minutes_to_reach_is_the_first_measurement_at_or_below_the_target():
    curve = _curve((0.0, 400.0), (1.5, 120.0), (3.0, 55.0), (4.5, 50.0), (6.0, 30.0), (7.5, 60.0))
    assert benchmark.minutes_to_reach(curve) == (4.5, 3.0), "50 itself counts; a later rise does not undo it"
    assert benchmark.minutes_to_reach(curve, target=100.0) == (3.0, 1.5)


def test_minutes_to_reach_says_when_the_target_is_not_reached():
    curve = _curve((0.0, 400.0), (1.5, 120.0), (3.0, 50.01))
    assert benchmark.minutes_to_reach(curve) == ("> budget", None)
    assert benchmark.NOT_REACHED == "> budget"


def test_minutes_to_reach_at_the_first_measurement_has_no_lower_bound():
    assert benchmark.minutes_to_reach(_curve((0.2, 40.0), (0.4, 30.0))) == (0.2, None)


def test_minutes_to_reach_skips_measurements_of_a_diverged_generator():
    curve = _curve((0.0, 400.0), (1.0, None), (2.0, 45.0))
    assert benchmark.minutes_to_reach(curve) == (2.0, 1.0)
    assert benchmark.minutes_to_reach(_curve((0.0, None), (1.0, None))) == ("> budget", None)


def test_time_ratio_is_tutorial_over_course_where_both_reached_the_target():
    assert benchmark.time_ratio(6.0, 1.5) == 4.0
    assert benchmark.time_ratio(1.0, 3.0) == pytest.approx(0.33)


@pytest.mark.parametrize("tutorial, course, named", [
    ("> budget", 1.5, "the tutorial did not"),
    (6.0, "> budget", "chapter 04 did not"),
    ("> budget", "> budget", "the tutorial and chapter 04 did not"),
])
def test_time_ratio_says_which_recipe_did_not_reach_the_target(tutorial, course, named):
    text = benchmark.time_ratio(tutorial, course)
    assert isinstance(text, str) and named in text and "within the budget" in text


def test_distance_ratio():
    assert benchmark.distance_ratio(60.0, 15.0) == 4.0
    assert "not defined" in benchmark.distance_ratio(None, 15.0)


def test_measurement_minutes_halve_the_first_interval_then_step_to_the_budget():
    marks = benchmark.measurement_minutes(15.0)
    assert marks[:5] == [0.0, 0.1875, 0.375, 0.75, 1.5]
    assert marks[-1] == pytest.approx(15.0) and len(marks) == 1 + 3 + 10
    assert marks == sorted(marks)
    assert benchmark.measurement_minutes(2.0, every=2, early=0) == [0.0, 1.0, 2.0]


def test_budget_is_chapter_04s_training_time(tmp_path):
    record = {"metrics": {"training time": {"value": 14.98, "unit": "min", "note": "60 epochs"}}}
    (tmp_path / "04_gan_mnist.json").write_text(json.dumps(record))
    assert benchmark.chapter_training_minutes(tmp_path) == 14.98
    with pytest.raises(SystemExit, match="--minutes"):
        benchmark.chapter_training_minutes(tmp_path / "nowhere")


def test_command_line_refuses_a_budget_that_is_not_positive(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--quality", "--minutes", "0"])
    assert "not a positive number" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The recipes
# ---------------------------------------------------------------------------------------------

def test_tutorial_models_are_the_tutorials():
    generator, discriminator = benchmark.tutorial_generator(), benchmark.tutorial_discriminator()
    assert generator.input_shape == (None, 100) and generator.output_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)
    # The parameter counts of the tutorial's model summaries.
    assert generator.count_params() == 2_330_944 and discriminator.count_params() == 212_865


def test_tutorial_dataset_batches_all_images_with_a_short_last_batch():
    images = np.random.default_rng(0).random((600, 28, 28, 1)).astype("float32")
    batches = list(benchmark.tutorial_dataset(images, batch_size=256))
    assert [len(b) for b in batches] == [256, 256, 88]
    values = np.concatenate(batches)
    assert values.min() >= -1.0 and values.max() <= 1.0
    assert np.allclose(np.sort(values.ravel()), np.sort(2.0 * images.ravel() - 1.0))


def test_the_course_recipe_uses_the_notebooks_optimizer_settings():
    source = "\n".join(cell.source for cell in nbformat.read(benchmark.GAN_MNIST_NOTEBOOK, as_version=4).cells)
    assert source.count("keras.optimizers.Adam(2e-4, beta_1=0.5)") == 2
    assert benchmark.ADAM == {"learning_rate": 2e-4, "beta_1": 0.5}


def test_recipe_clock_counts_training_only_and_runs_the_update_after_each_step():
    import keras
    import tensorflow as tf

    calls = []
    sampler = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh")])
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((10, 3), "float32")).batch(4)
    recipe = benchmark.Recipe(lambda batch: (calls.append(("step", len(batch))), time.sleep(0.01)), dataset,
                              sampler, after_step=lambda: calls.append(("average", None)))
    assert recipe.steps_per_epoch == 3
    recipe.train_until(0.0)
    assert recipe.steps == 0 and calls == [] and recipe.seconds == 0.0, "no step, no training time"
    recipe.train_until(0.05)
    assert recipe.steps >= 4 and recipe.seconds >= 0.05
    assert calls[:6] == [("step", 4), ("average", None), ("step", 4), ("average", None), ("step", 2),
                         ("average", None)], "epoch after epoch, the update after every step"
    seconds = recipe.seconds
    time.sleep(0.05)  # measuring: the clock stands still
    recipe.train_until(seconds)
    assert recipe.seconds == seconds, "already at the mark: no step, the clock stands still"
    images = recipe.samples(np.zeros((7, 3), "float32"), batch_size=3)
    assert images.shape == (7, 4) and np.allclose(images, 0.5), "tanh output moved to [0, 1]"


# ---------------------------------------------------------------------------------------------
# The case itself, in a tiny run
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.needs_data("mnist")
def test_tiny_quality_run_merges_its_record_and_draws_the_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "smoke")  # the small metrics classifier: quick to train where none is cached
    output, figure = tmp_path / "benchmark.json", tmp_path / "benchmark_quality.png"
    case = {"course_policy": "float32", "course_steps_per_s": 80.0, "reference_steps_per_s": 76.0, "ratio": 1.05,
            "median_ratio": 1.04, "control_ratio": 1.01, "control_median_ratio": 0.99, "repeats": 9}
    speed = {"cases": {"04 GAN (MNIST, dense)": case}, "hardware": "CPU only, 2 cores (x86_64)", "date": "2026-01-01"}
    output.write_text(json.dumps(speed))
    assert benchmark.main(["--quality", "--minutes", "0.02", "--samples", "100",
                           "--output", str(output), "--figure", str(figure)]) == 0

    record = json.loads(output.read_text())
    assert record["cases"] == speed["cases"], "the speed cases are kept"
    quality = record["quality"]
    assert quality["budget_min"] == 0.02 and quality["budget_from"] == "--minutes"
    assert quality["cpu"] and ("GPU" in quality["hardware"] or quality["cpu"] in quality["hardware"])
    assert quality["evaluation"]["samples"] == 100 and quality["figure"] == figure.name
    assert 0.0 <= quality["evaluation"]["real_confidently_classified"] <= 1.0
    assert math.isfinite(quality["evaluation"]["floor"])
    marks = quality["measured_at_min"]
    assert len(marks) == 14 and marks[-1] == pytest.approx(0.02)
    assert set(quality["recipes"]) == {"tutorial", "course"}
    for key, recipe in quality["recipes"].items():
        assert len(recipe["curve"]) == len(marks)
        minutes = [point["minutes"] for point in recipe["curve"]]
        assert minutes == sorted(minutes) and minutes[0] == 0.0 and minutes[-1] >= 0.02 - 1e-3
        for point in recipe["curve"]:
            assert math.isfinite(point["frechet_distance"]) and point["frechet_distance"] >= 0
            assert 0.0 <= point["confidently_classified"] <= 1.0
        assert recipe["final"] == recipe["curve"][-1]
        assert recipe["steps"] >= 1 and recipe["epochs"] == round(recipe["steps"] / recipe["steps_per_epoch"], 2)
        assert recipe["minutes_to_fd_50"] == "> budget" or recipe["minutes_to_fd_50"] <= recipe["training_minutes"]
    assert quality["recipes"]["tutorial"]["batch_size"] == 256 and quality["recipes"]["course"]["batch_size"] == 128
    assert quality["recipes"]["tutorial"]["steps_per_epoch"] == 235  # 60,000 images: all of them
    assert quality["recipes"]["course"]["steps_per_epoch"] == 468
    assert quality["recipes"]["course"]["samples_from"].startswith("averaged generator")
    assert quality["recipes"]["tutorial"]["samples_from"] == "raw generator"
    ratio = quality["final_frechet_distance_ratio"]
    assert math.isfinite(ratio) and ratio > 0
    assert isinstance(quality["minutes_to_fd_50_ratio"], (str, float, int))
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = capsys.readouterr().out
    assert out.count("] at ") == 2 * len(marks), "one progress line per recipe and measurement"

    page = results_pages.quality_summary(tmp_path)
    assert f"]({figure.name})" in page and "TensorFlow DCGAN tutorial" in page and "chapter 04" in page
    readme = results_pages.results_readme(tmp_path)
    assert "Quality per training minute" in readme and "04 GAN (MNIST, dense): course (float32) 80.0" in readme


def test_results_page_without_a_quality_record(tmp_path):
    assert "No quality comparison recorded yet" in results_pages.quality_summary(tmp_path)
    (tmp_path / "benchmark.json").write_text(json.dumps({"quality": None}))
    assert "No speed benchmark recorded yet" in results_pages.benchmark_summary(tmp_path)
