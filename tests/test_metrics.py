"""The metrics measure what they claim: PSNR values, Frechet distance, coverage, the cached classifier."""

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from course_utils import data, metrics, runmode


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


# --- psnr ----------------------------------------------------------------------------------------


def test_psnr_of_constant_error_is_known():
    clean = np.full((3, 8, 8, 1), 0.5)
    assert metrics.psnr(clean, clean + 0.1) == pytest.approx(20.0)
    assert metrics.psnr(clean, clean - 0.01) == pytest.approx(40.0)
    assert metrics.psnr(clean * 255, clean * 255 + 25.5, max_value=255) == pytest.approx(20.0)


def test_psnr_averages_per_image_values():
    clean = np.zeros((2, 4, 4))
    noisy = np.stack([np.full((4, 4), 0.1), np.full((4, 4), 0.01)])  # 20 dB and 40 dB
    assert metrics.psnr(clean, noisy) == pytest.approx(30.0)


def test_psnr_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(np.zeros((2, 4, 4)), np.zeros((3, 4, 4)))


_CLEAN = np.linspace(0, 1, 2 * 16).reshape(2, 4, 4)


@pytest.mark.parametrize(
    "reference, images, max_value, message",
    [
        # uint8 pixels with the default peak 1 gave negative dB
        ((_CLEAN * 255).astype(np.uint8), (_CLEAN * 250).astype(np.uint8), 1.0, "divide both batches by 255"),
        # a peak of 255 for images in [0, 1] gave about 68 dB
        (_CLEAN, _CLEAN * 0.9, 255, "Pass max_value=1.0"),
        (_CLEAN * 2 - 1, _CLEAN * 2 - 1, 1.0, r"\(x \+ 1\) / 2"),
        (_CLEAN, np.full_like(_CLEAN, np.nan), 1.0, "images contain NaN"),
        (_CLEAN, _CLEAN, 0, "positive peak"),
    ],
)
def test_psnr_rejects_values_that_do_not_fit_the_peak(reference, images, max_value, message):
    with pytest.raises(ValueError, match=message):
        metrics.psnr(reference, images, max_value=max_value)


def test_psnr_accepts_uint8_with_its_peak():
    reference = (1 + _CLEAN * 254).astype(np.uint8)  # 1..255, so that reference - 1 does not wrap round
    assert metrics.psnr(reference, reference - 1, max_value=255) == pytest.approx(20 * np.log10(255))


# --- Frechet distance ----------------------------------------------------------------------------


def _gaussian(n=2000, d=8, shift=0.0, scale=1.0, seed=0):
    return np.random.default_rng(seed).normal(shift, scale, size=(n, d))


def test_frechet_distance_is_zero_for_identical_sets():
    features = _gaussian()
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_closed_form_for_a_mean_shift():
    a = _gaussian(seed=0)
    b = a + 0.5  # same covariance, every mean moved by 0.5: distance = 8 * 0.5^2
    assert metrics.frechet_distance(a, b) == pytest.approx(8 * 0.25, rel=1e-6)


def test_frechet_distance_grows_with_the_shift_and_is_symmetric():
    a = _gaussian(seed=0)
    distances = [metrics.frechet_distance(a, _gaussian(shift=s, seed=1)) for s in (0.0, 0.5, 1.0)]
    assert distances[0] < 0.1 < distances[1] < distances[2]
    b = _gaussian(shift=0.3, scale=2.0, seed=2)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_grows_with_blur_in_pixel_space():
    # Blurring lowers pixel variance and mixes neighbours: the covariance moves away from the original.
    rng = np.random.default_rng(0)
    images = rng.random((600, 8, 8))
    reference = images[:300].reshape(300, -1)
    def blurred(sigma):
        return gaussian_filter(images[300:], sigma=(0, sigma, sigma)).reshape(300, -1)
    distances = [metrics.frechet_distance(reference, blurred(s)) for s in (0.0, 0.7, 1.5)]
    assert distances[0] < distances[1] < distances[2]


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((10, 4)), np.zeros((10, 5)), "different dimensions"),
        (np.zeros((1, 4)), np.zeros((10, 4)), "at least 2 samples"),
        (np.zeros((10, 4, 1)), np.zeros((10, 4)), r"shaped \(N, d\)"),
    ],
)
def test_frechet_distance_rejects_bad_shapes(a, b, message):
    with pytest.raises(ValueError, match=message):
        metrics.frechet_distance(a, b)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_frechet_distance_names_nan_and_inf_features(bad):
    features = _gaussian(n=50)
    features[[3, 7], 0] = bad
    with pytest.raises(ValueError, match="2 of the 50 rows of features_b contain NaN or inf"):
        metrics.frechet_distance(_gaussian(n=50, seed=1), features)


# --- class coverage ------------------------------------------------------------------------------


def test_coverage_of_a_hand_made_set():
    # 1000 labels: 500 zeros, 400 ones, 95 twos, 5 threes (0.5% < the 1% needed to count).
    labels = np.repeat([0, 1, 2, 3], [500, 400, 95, 5])
    coverage = metrics.coverage_from_labels(labels)
    assert coverage["counts"].tolist() == [500, 400, 95, 5, 0, 0, 0, 0, 0, 0]
    assert coverage["classes_covered"] == 3
    assert 0 < coverage["normalised_entropy"] < 0.5
    assert coverage["kl_to_uniform"] == pytest.approx(np.log(10) * (1 - coverage["normalised_entropy"]))


def test_coverage_extremes():
    uniform = metrics.coverage_from_labels(np.arange(1000) % 10)
    assert uniform["classes_covered"] == 10
    assert uniform["normalised_entropy"] == pytest.approx(1.0)
    assert uniform["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    collapsed = metrics.coverage_from_labels(np.full(100, 7))
    assert collapsed["classes_covered"] == 1
    assert collapsed["normalised_entropy"] == pytest.approx(0.0)


def test_coverage_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match="0..9"):
        metrics.coverage_from_labels(np.array([0, 10]))


# --- images given to the domain metrics ----------------------------------------------------------


@pytest.mark.parametrize(
    "images, message",
    [
        (np.full((4, 28, 28, 1), -0.5), "rescale tanh output to \\[0, 1\\]"),
        (np.full((4, 28, 28, 1), 200.0), "divide by 255"),
        (np.zeros((4, 32, 32, 3)), r"\(N, 28, 28, 1\)"),
        (np.full((4, 28, 28, 1), np.nan), "NaN"),
    ],
)
def test_bad_samples_are_rejected_before_any_work(images, message):
    with pytest.raises(ValueError, match=message):
        metrics.report_generative_quality(images, "mnist")


def test_unknown_domain_is_named():
    with pytest.raises(ValueError, match="unknown domain 'cifar'"):
        metrics.domain_features(np.zeros((2, 28, 28, 1)), "cifar")


# --- the cached classifier (trains a smoke classifier into a temporary folder) -------------------


@pytest.fixture(scope="module")
def smoke_cache(tmp_path_factory):
    """Smoke mode with the cache in a temporary folder (shared by this module's tests: the small
    classifier is trained once, seeded) and empty in-memory caches.

    The classifier sees 24,000 images for one epoch (about 15 s; a smoke run's 1,024 leave it
    unsure of every image): about 97% test accuracy, enough to tell digits from noise and blur.
    """
    import keras

    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_MODE", "smoke")
        patch.setattr(data, "cache_dir", lambda: folder)
        patch.setattr(metrics, "_classifiers", {})
        patch.setattr(metrics, "_real_references", {})
        patch.setattr(metrics, "_SMOKE_EXAMPLES", 24_000)
        keras.utils.set_random_seed(0)
        yield folder


@pytest.mark.slow
@pytest.mark.needs_data("mnist")
def test_smoke_classifier_is_cached_under_its_own_name(smoke_cache, capsys, monkeypatch):
    x, _ = data.load_mnist("test")
    features = metrics.domain_features(x[:5], "mnist")
    assert features.shape == (5, 128)
    assert "test accuracy" in capsys.readouterr().out
    assert sorted(p.name for p in smoke_cache.iterdir()) == [
        "mnist_classifier_smoke.json", "mnist_classifier_smoke.keras"]
    info = json.loads((smoke_cache / "mnist_classifier_smoke.json").read_text())
    assert info["mode"] == "smoke" and 0 <= info["test_accuracy"] <= 1

    monkeypatch.setattr(metrics, "_classifiers", {})  # a new process: loads the file, does not train
    probabilities = metrics.domain_predictions(x[:5], "mnist")
    assert "Loaded the cached MNIST classifier (smoke mode)" in capsys.readouterr().out
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.needs_data("mnist")
def test_classifier_features_see_blur_and_report_compares_with_the_floor(smoke_cache, capsys):
    x_test, _ = data.load_mnist("test")
    images = x_test[:400]
    reference = metrics.domain_features(x_test[400:800], "mnist")
    distances = [
        metrics.frechet_distance(reference, metrics.domain_features(
            gaussian_filter(images, sigma=(0, s, s, 0)), "mnist"))
        for s in (0.0, 1.0, 2.0)
    ]
    assert distances[0] < distances[1] < distances[2]

    x_train, _ = data.load_mnist("train")
    pick = np.random.default_rng(1).choice(len(x_train), size=300, replace=False)
    real = metrics.report_generative_quality(x_train[pick], "mnist", n=300)
    out = capsys.readouterr().out
    assert "Frechet distance (mnist classifier features):" in out
    assert "Frechet distance floor (real train vs real test):" in out
    assert "class coverage:" in out
    assert "confidently classified (p >= 0.9):" in out and "(real MNIST test images:" in out
    blurry = metrics.report_generative_quality(gaussian_filter(x_train[pick], sigma=(0, 2, 2, 0)), "mnist", n=300)
    assert real["frechet_distance"] < blurry["frechet_distance"]
    assert real["floor"] == blurry["floor"] and len(metrics._real_references) == 1, "the floor is computed once"


@pytest.mark.slow
@pytest.mark.needs_data("mnist")
def test_confidently_classified_is_near_the_real_share_for_real_digits_and_low_for_noise_and_blur(
        smoke_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(runmode, "results_file", lambda: tmp_path / "results.json")
    x_test, _ = data.load_mnist("test")
    # Real digits other than the report's reference x_test[:1000], from the same half of the test set
    # (MNIST's two halves differ in how clearly the digits are written).
    held_out = x_test[1000:2000]
    real = metrics.report_generative_quality(held_out, "mnist", n=1000)
    assert real["real_confidently_classified"] > 0.8, "the test classifier is too weak to judge"
    assert real["confidently_classified"] == pytest.approx(real["real_confidently_classified"], abs=0.05)

    recorded = json.loads((tmp_path / "results.json").read_text())["metrics"]
    [(name, entry)] = [(k, v) for k, v in recorded.items() if "confidently classified" in k]
    assert entry["value"] == pytest.approx(100 * real["confidently_classified"]) and entry["unit"] == "%"
    assert f"{100 * real['real_confidently_classified']:.1f}%" in entry["note"]

    noise = np.random.default_rng(0).random((1000, 28, 28, 1))
    blurred = gaussian_filter(held_out, sigma=(0, 2, 2, 0))
    for what, images in (("uniform noise", noise), ("blurred digits", blurred)):
        share = metrics.confidently_classified(images, "mnist")
        assert share < 0.2, f"{what}: {share:.1%} confidently classified"


def test_metric_classifier_computes_in_float32_under_a_mixed_policy():
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = metrics._build_classifier("mnist", total_steps=10)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    computing = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.compute_dtype for layer in computing} == {"float32"}
    assert model.output.dtype == "float32"


@pytest.mark.needs_data("mnist")
def test_frechet_distance_to_test_is_zero_for_the_test_images_and_large_for_noise(smoke_cache):
    x_test, _ = data.load_mnist("test")
    assert metrics.frechet_distance_to_test(x_test[:300], "mnist") == pytest.approx(0.0, abs=1e-3)
    noise = np.random.default_rng(0).uniform(size=(300, 28, 28, 1)).astype("float32")
    assert metrics.frechet_distance_to_test(noise, "mnist") > 10 * metrics.frechet_distance_to_test(
        x_test[300:600], "mnist")


@pytest.mark.needs_data("mnist")
def test_the_test_images_are_loaded_and_embedded_once_per_size(smoke_cache, monkeypatch):
    x_test, _ = data.load_mnist("test")
    metrics.frechet_distance_to_test(x_test[:200], "mnist")  # warm: the classifier and the features of 200
    loads = []
    real_load = metrics._load_domain
    monkeypatch.setattr(metrics, "_load_domain", lambda *args, **kw: loads.append(args) or real_load(*args, **kw))
    first = metrics.frechet_distance_to_test(x_test[200:400], "mnist")
    assert metrics.frechet_distance_to_test(x_test[200:400], "mnist") == first and loads == []
    metrics.frechet_distance_to_test(x_test[:100], "mnist")
    assert loads == [("mnist", "test")], "another sample count embeds its own number of test images, once"
