"""The faces yardstick: rotations, the cached rotation network, the Frechet distance and its floor, and FID
that skips offline. Synthetic 16x16 "faces" (a vertical gradient with a dark blob above a bright one, so
that which way is up can be learned) stand in for CelebA, so these tests need no data files."""

import json

import numpy as np
import pytest

from course_utils import data, faces_yardstick, runmode

SIZE = 16


def synthetic_faces(n, seed):
    """n images (n, 16, 16, 3) in [0, 1] that look different upside down."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.2, 0.8, SIZE)[None, :, None, None]
    images = np.broadcast_to(rows, (n, SIZE, SIZE, 3)).copy()
    for i, (dx, brightness) in enumerate(zip(rng.integers(3, 12, n), rng.uniform(0.5, 1.0, n))):
        images[i, 3:6, dx:dx + 3] = 0.0  # "eyes" near the top
        images[i, 10:13, dx:dx + 3] = brightness  # "mouth" near the bottom
    return np.clip(images + rng.normal(0, 0.03, images.shape), 0, 1).astype(np.float32)


@pytest.fixture(scope="module")
def yardstick(tmp_path_factory):
    """Smoke mode, the cache in a temporary folder, synthetic faces, empty in-memory caches."""
    import keras

    folder = tmp_path_factory.mktemp("cache")
    faces = {"train": synthetic_faces(512, 0), "test": synthetic_faces(256, 1)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_MODE", "smoke")
        patch.setattr(data, "cache_dir", lambda: folder)
        patch.setattr(faces_yardstick, "_load", lambda split, size, n=None: (faces[split][:n], "synthetic faces"))
        for cache in ("_networks", "_test_features", "_floors"):
            patch.setattr(faces_yardstick, cache, {})
        keras.utils.set_random_seed(0)
        yield folder, faces


def test_rotated_gives_every_quarter_turn_with_its_label():
    images = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    turned, labels = faces_yardstick.rotated(images)
    assert turned.shape == (8, 4, 4, 3)
    assert list(np.asarray(labels)) == [0, 1, 2, 3, 0, 1, 2, 3]
    for k in range(4):
        np.testing.assert_array_equal(np.asarray(turned)[4 + k], np.rot90(images[1], k))


@pytest.mark.parametrize("images, message", [
    (np.zeros((2, 16, 16)), "square colour images"),
    (np.zeros((2, 16, 12, 3)), "square colour images"),
    (np.zeros((2, 24, 24, 3)), "power of two"),
    (np.full((2, 16, 16, 3), -1.0), r"\(x \+ 1\) / 2"),
    (np.full((2, 16, 16, 3), 255.0), "255"),
    (np.full((2, 16, 16, 3), np.nan), "NaN"),
])
def test_bad_faces_are_refused_with_advice(images, message):
    with pytest.raises(ValueError, match=message):
        faces_yardstick._validate_faces(images)


def test_the_network_trains_once_then_loads_from_the_cache(yardstick, capsys, monkeypatch):
    folder, _ = yardstick
    faces_yardstick.feature_network(SIZE)
    printed = capsys.readouterr().out
    assert "Training the face rotation network" in printed
    info_files = list(folder.glob("face-rotation-net_16px_smoke_*.json"))
    assert len(info_files) == 1
    info = json.loads(info_files[0].read_text())
    assert info["mode"] == "smoke" and info["test_accuracy"] > 0.9  # which way is up is easy here
    monkeypatch.setattr(faces_yardstick, "_networks", {})  # a new process: loads the file, does not train
    faces_yardstick.feature_network(SIZE)
    assert "Loaded the cached face rotation network (16x16, smoke mode)" in capsys.readouterr().out


def test_frechet_distance_is_zero_for_test_faces_and_rises_with_noise_above_the_floor(yardstick):
    _, faces = yardstick
    test = faces["test"]
    assert faces_yardstick.frechet_distance_to_test(test) == pytest.approx(0.0, abs=1e-6)
    floor = faces_yardstick.floor(len(test), SIZE)
    noisy = np.clip(test + np.random.default_rng(2).normal(0, 0.3, test.shape), 0, 1)
    assert 0 < floor < faces_yardstick.frechet_distance_to_test(noisy)


def test_report_prints_distance_and_floor_with_the_sample_count(yardstick, capsys, monkeypatch, tmp_path):
    _, faces = yardstick
    monkeypatch.setattr(runmode, "results_file", lambda: tmp_path / "results.json")
    numbers = faces_yardstick.report(faces["train"][:100], label="copier")
    printed = capsys.readouterr().out
    assert "copier: faces Frechet distance (rotation-net features)" in printed
    assert "copier: faces Frechet distance floor (real train vs real test)" in printed
    assert numbers["n"] == 100 and numbers["frechet_distance"] >= 0 and numbers["floor"] > 0
    recorded = json.loads((tmp_path / "results.json").read_text())["metrics"]
    entry = recorded["copier: faces Frechet distance (rotation-net features)"]
    assert entry["model"] == "copier" and entry["samples"] == 100


def test_more_samples_than_test_faces_are_compared_with_all_test_faces(yardstick):
    _, faces = yardstick
    assert faces_yardstick.report(faces["train"][:300])["n"] == len(faces["test"])


def test_inception_fid_runs_with_random_weights(yardstick):
    _, faces = yardstick
    fid = faces_yardstick.inception_fid(faces["train"][:6], faces["test"][:6], weights=None, size=75)
    assert np.isfinite(fid) and fid >= 0


def test_inception_fid_skips_with_one_line_when_the_download_fails(capsys, monkeypatch, tmp_path):
    import urllib.error

    import keras.src.utils.file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.src.utils.file_utils, "urlretrieve", offline)
    monkeypatch.setattr(keras.src.utils.file_utils.config, "keras_home", lambda: str(tmp_path))  # no cached weights
    faces = synthetic_faces(4, 3)
    assert faces_yardstick.inception_fid(faces, faces, size=75) is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FID skipped")
