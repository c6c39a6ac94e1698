"""The procedurally rendered SVHN stand-in: deterministic, well-formed, cached, clearly labelled."""

import numpy as np
import pytest

from course_utils import data, files, svhn_standin


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Temporary data folders and small chunks, so the tests build only a few images."""
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(tmp_path / "course-data"))
    monkeypatch.setattr(files, "REPO_DATA_DIR", tmp_path / "repo-data")
    monkeypatch.setattr(files, "USER_CACHE_DIR", tmp_path / "user-cache")
    monkeypatch.setattr(svhn_standin, "CHUNK_SIZE", 40)
    return tmp_path / "course-data" / "cache" / "svhn-standin"


def test_render_shapes_dtypes_and_labels():
    x, y = svhn_standin.render(300, seed=7)
    assert x.shape == (300, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (300,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert 60 < x.mean() < 190 and x.std() > 30  # photo-like brightness and contrast
    assert np.abs(np.diff(x.astype(int), axis=1)).mean() > 3  # not flat images


def test_render_is_deterministic_for_a_seed():
    x1, y1 = svhn_standin.render(60, seed=3)
    x2, y2 = svhn_standin.render(60, seed=3)
    x3, _ = svhn_standin.render(60, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_labels_are_roughly_balanced():
    _, y = svhn_standin.render(2000, seed=0)
    counts = np.bincount(y, minlength=10)
    assert counts.min() > 150 and counts.max() < 250, counts


def test_label_is_the_centre_digit():
    """Same random draws, other labels: the digit masks change in the middle, hardly at the edges."""
    masks = {label: svhn_standin._digit_masks(np.random.default_rng(0), np.full(200, label))
             for label in (1, 8)}
    change = np.abs(masks[1] - masks[8]).mean(axis=(0, 1))  # per column
    assert change[12:20].mean() > 5 * np.r_[change[:4], change[-4:]].mean()


def test_load_builds_only_what_is_asked_and_caches(cache, monkeypatch):
    built = []
    render = svhn_standin.render
    monkeypatch.setattr(svhn_standin, "render", lambda n, seed: built.append(seed) or render(n, seed))
    x, y = svhn_standin.load("train", n=50)
    assert x.shape == (50, 32, 32, 3) and y.shape == (50,)
    assert len(built) == 2 and len(list(cache.glob("*.npz"))) == 2  # two chunks of 40
    again, _ = svhn_standin.load("train", n=50)
    assert len(built) == 2  # read from the cache, nothing rebuilt
    np.testing.assert_array_equal(x, again)
    more, _ = svhn_standin.load("train", n=100)
    assert len(built) == 3  # only the third chunk is new
    np.testing.assert_array_equal(more[:50], x)
    names = sorted(p.name for p in cache.iterdir())  # no temporary files left behind
    assert names == [f"v{svhn_standin.GENERATOR_VERSION}-train-seed0-chunk40-{i:03d}.npz" for i in range(3)]


def test_splits_differ_and_have_svhn_sizes(cache):
    assert svhn_standin.SPLIT_SIZES["train"] == 73_257 and svhn_standin.SPLIT_SIZES["test"] == 26_032
    train, _ = svhn_standin.load("train", n=20)
    test, _ = svhn_standin.load("test", n=20)
    assert not np.array_equal(train, test)
    with pytest.raises(ValueError, match="26,032"):
        svhn_standin.load("test", n=26_033)


def test_auto_without_real_files_falls_back_and_says_so(cache, capsys):
    x, y, source = data.load_svhn("train", source="auto", n=30)
    out = capsys.readouterr().out
    assert source == data.SVHN_STANDIN == "SVHN stand-in"
    assert "stand-in" in out and "NOT real SVHN" in out and "30 images" in out
    assert "fetch('svhn', 'train')" in out and "notebook 00" in out
    assert x.shape == (30, 32, 32, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.dtype == np.int64 and 0 <= y.min() and y.max() <= 9
    expected, labels = svhn_standin.load("train", n=30)
    np.testing.assert_allclose(x, expected / 255, atol=1e-6)
    np.testing.assert_array_equal(y, labels)


def test_standin_is_used_on_request_even_with_real_files(cache, capsys):
    real = cache.parent.parent / "svhn" / "test_32x32.mat"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"not read")  # present, but source="standin" must not touch it
    _, _, source = data.load_svhn("test", source="standin", n=5, value_range=(-1, 1))
    assert source == "SVHN stand-in"
    assert "SVHN stand-in" in capsys.readouterr().out
