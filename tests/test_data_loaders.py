"""Loaders of course_utils.data: MNIST on the real files, SVHN on small files in the official
.mat layout, and clear errors for damaged, unofficial or converted files.

Tests on real files read them from COURSE_DATA_DIR (see data/README.md) and are skipped only
when that variable is unset. Every other test uses temporary data folders.
"""

import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from course_utils import data, files, svhn_standin

REAL_DATA_DIR = os.environ.get(files.DATA_DIR_VARIABLE)
needs_real_data = pytest.mark.skipif(
    not REAL_DATA_DIR,
    reason="set COURSE_DATA_DIR to a folder with the real MNIST files (see data/README.md) "
           "to test the loaders on them",
)


def _isolate(monkeypatch, tmp_path, course_dir):
    """Search only ``course_dir``; anything written lands under ``tmp_path``."""
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(course_dir))
    monkeypatch.setattr(files, "REPO_DATA_DIR", tmp_path / "repo-data")  # absent: skipped
    monkeypatch.setattr(files, "USER_CACHE_DIR", tmp_path / "user-cache")


@pytest.fixture
def real_data(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path, REAL_DATA_DIR)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty temporary COURSE_DATA_DIR."""
    folder = tmp_path / "course-data"
    folder.mkdir()
    _isolate(monkeypatch, tmp_path, folder)
    return folder


# --- MNIST on the real files ---------------------------------------------------------------------

MNIST_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


@needs_real_data
@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_mnist_on_real_files(real_data, split, n):
    x, y = data.load_mnist(split)
    assert x.shape == (n, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == MNIST_COUNTS[split]


@needs_real_data
def test_minus_one_to_one_range(real_data):
    x, _ = data.load_mnist("test", value_range=(-1, 1))
    x01, _ = data.load_mnist("test")
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_allclose(x, x01 * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="value_range"):
        data.load_mnist("test", value_range=(0, 255))


@needs_real_data
def test_registry_md5s_match_the_real_files(real_data):
    checked = 0
    for dataset in data.REGISTRY.values():
        for entry in dataset.files.values():
            path = Path(REAL_DATA_DIR) / entry.path
            if path.is_file():
                assert hashlib.md5(path.read_bytes()).hexdigest() == entry.md5, entry.path
                checked += 1
    assert checked >= 4, "expected at least the MNIST files in COURSE_DATA_DIR"


@needs_real_data
def test_text_corpora_on_real_files(real_data):
    assert len(data.load_text("tinyshakespeare")) == 1_115_394
    assert len(data.load_text("nietzsche")) == 600_893


@needs_real_data
def test_svhn_sample_on_real_files(real_data):
    if data.find("svhn-sample", "images") is None:
        pytest.skip("svhn-sample/train_first_1083_images_nolabels.npy is not in COURSE_DATA_DIR "
                    "(a local-only file, see data/README.md)")
    sample = data.load_svhn_sample()
    assert sample.shape == (1083, 32, 32, 3) and sample.dtype == np.uint8


# --- damaged IDX files -------------------------------------------------------------------------


def _idx(array, magic=None):
    """An IDX file (uncompressed bytes) of a uint8 array."""
    magic = 0x0800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist_test_split(folder, labels_bytes):
    """Valid test images (5 of them) and the given bytes as the labels file."""
    (folder / "mnist").mkdir(exist_ok=True)
    images = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    (folder / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    (folder / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(labels_bytes)
    return folder / "mnist" / "t10k-labels-idx1-ubyte.gz"


def test_small_valid_idx_loads(data_dir):
    _write_mnist_test_split(data_dir, gzip.compress(_idx(np.array([0, 1, 2, 3, 9]))))
    x, y = data.load_mnist("test")
    assert x.shape == (5, 28, 28, 1) and y.tolist() == [0, 1, 2, 3, 9]
    assert x[0, 0, 1, 0] == pytest.approx(1 / 255)  # row-major: pixel index 1 is row 0, column 1


@pytest.mark.parametrize("damage, expected", [
    ("truncated gzip", "not a complete gzip file"),
    ("not gzip", "not a complete gzip file"),
    ("wrong magic", "magic number"),
    ("short payload", "header announces"),
])
def test_damaged_idx_file_names_the_file(data_dir, damage, expected):
    labels = _idx(np.array([0, 1, 2, 3, 4]))
    content = {
        "truncated gzip": gzip.compress(labels)[:-12],
        "not gzip": b"<html>404 Not Found</html>",
        "wrong magic": gzip.compress(_idx(np.array([0, 1, 2, 3, 4]), magic=0x0803)),
        "short payload": gzip.compress(labels[:-2]),
    }[damage]
    path = _write_mnist_test_split(data_dir, content)
    with pytest.raises(data.CorruptFileError, match=expected) as caught:
        data.load_mnist("test")
    message = str(caught.value)
    assert str(path) in message and "Delete it" in message and "download" in message


# --- SVHN in the official .mat layout ----------------------------------------------------------


def _svhn_mat(path, n=3, dtype=np.uint8):
    """A small .mat file as SVHN publishes it: X (32, 32, 3, N) uint8, y (N, 1) with 10 for digit 0.

    Image i has a red pixel at row 0, column 5 and a green one at row 20, column 3; its
    other pixels hold the value i (so images cannot be mixed up). With ``dtype=np.float64`` the
    images are converted to floats in [0, 1], as some tools save them.
    """
    x = np.zeros((32, 32, 3, n), np.uint8)
    for i in range(n):
        x[:, :, :, i] = i
        x[0, 5, :, i] = (255, 0, 0)
        x[20, 3, :, i] = (0, 255, 0)
    y = (np.array([10, 1, 3, 7, 10, 9][:n]) if n <= 6 else np.arange(n) % 10 + 1).reshape(n, 1)
    if dtype != np.uint8:
        x = x.astype(dtype) / 255
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"X": x, "y": y.astype(np.uint8)})
    return path


def _registered_as_official(monkeypatch, split, path):
    """Make the registry's md5 of ``svhn/<split>`` that of ``path`` (as if it were the official file)."""
    old = data.REGISTRY["svhn"]
    by_key = dict(old.files)
    by_key[split] = data.DataFile(by_key[split].path, hashlib.md5(path.read_bytes()).hexdigest(), by_key[split].urls)
    monkeypatch.setitem(data.REGISTRY, "svhn", data.Dataset(old.title, by_key, old.licence, old.source))


def test_svhn_mat_orientation_channels_and_labels(data_dir, monkeypatch, capsys):
    _registered_as_official(monkeypatch, "train", _svhn_mat(data_dir / "svhn" / "train_32x32.mat"))
    _registered_as_official(monkeypatch, "test", _svhn_mat(data_dir / "svhn" / "test_32x32.mat", n=4))
    x, y, source = data.load_svhn("train")
    assert source == data.REAL_SVHN == "real SVHN"
    assert "real SVHN" in capsys.readouterr().out
    assert x.shape == (3, 32, 32, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 3]  # label 10 means the digit 0
    for i in range(3):
        assert x[i, 0, 5].tolist() == [1.0, 0.0, 0.0]  # [row 0, col 5] is red: row, column, RGB
        assert x[i, 20, 3].tolist() == [0.0, 1.0, 0.0]
        assert x[i, 5, 0].tolist() == pytest.approx([i / 255] * 3)
    x, y, _ = data.load_svhn("train", source="real", value_range=(-1, 1), n=2)
    assert x.shape == (2, 32, 32, 3) and x[0, 0, 5].tolist() == [1.0, -1.0, -1.0]


def test_svhn_damaged_mat_names_the_file(data_dir):
    path = _svhn_mat(data_dir / "svhn" / "test_32x32.mat")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(data.CorruptFileError, match="Delete it") as caught:
        data.read_svhn_mat(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("source", ["auto", "real"])
def test_svhn_file_that_is_not_the_official_one_is_refused(data_dir, source, capsys):
    path = _svhn_mat(data_dir / "svhn" / "train_32x32.mat")  # well formed, but not the official bytes
    official = data.REGISTRY["svhn"].files["train"]
    with pytest.raises(data.NotOfficialFileError) as caught:
        data.load_svhn("train", source=source)
    message = str(caught.value)
    assert str(path) in message and "not the official train_32x32.mat" in message
    assert official.md5 in message and hashlib.md5(path.read_bytes()).hexdigest() in message
    assert "Delete it" in message and "data.fetch('svhn', 'train')" in message and official.urls[0] in message
    assert "real SVHN" not in capsys.readouterr().out
    with pytest.raises(data.NotOfficialFileError):  # the sample is not cut from it either
        data.load_svhn_sample()


def test_svhn_checksum_is_computed_once_per_version_of_the_file(data_dir, monkeypatch):
    for split in data.SVHN_RUN_SPLITS:
        path = _svhn_mat(data_dir / "svhn" / f"{split}_32x32.mat")
        _registered_as_official(monkeypatch, split, path)
    hashed = []
    real_md5 = hashlib.md5
    monkeypatch.setattr(data.hashlib, "md5", lambda *args: hashed.append(1) or real_md5(*args))
    data.load_svhn("test")
    assert len(hashed) == 2  # the train and test files, both checked to decide the run's source
    data.load_svhn("test")
    data.load_svhn("train")
    assert len(hashed) == 2, "the md5 of an unchanged file must come from the cache folder's record"
    _svhn_mat(path, n=4)  # the file changes: other size and time stamp, other bytes
    with pytest.raises(data.NotOfficialFileError):
        data.load_svhn("test")
    assert len(hashed) == 3


def test_svhn_images_saved_as_floats_are_refused(data_dir, monkeypatch):
    path = _svhn_mat(data_dir / "svhn" / "test_32x32.mat", dtype=np.float64)
    _registered_as_official(monkeypatch, "test", path)  # reach the dtype check, past the checksum
    _registered_as_official(monkeypatch, "train", _svhn_mat(data_dir / "svhn" / "train_32x32.mat"))
    with pytest.raises(data.CorruptFileError) as caught:
        data.load_svhn("test")
    message = str(caught.value)
    assert str(path) in message and "float64" in message and "uint8" in message
    assert "from 0 to 1" in message and "Delete it" in message


def test_svhn_auto_never_downloads(data_dir, monkeypatch):
    def no_download(*args):
        raise AssertionError("source='auto' must not download")

    monkeypatch.setattr(data, "download", no_download)
    monkeypatch.setattr(data, "fetch", no_download)
    monkeypatch.setattr(svhn_standin, "CHUNK_SIZE", 16)  # build only a few stand-in images
    _, _, source = data.load_svhn("test", source="auto", n=3)
    assert source == data.SVHN_STANDIN


@pytest.fixture
def svhn_server(tmp_path, monkeypatch):
    """Small official-format train (5 images) and test (6 images) files, served over HTTP on
    127.0.0.1 and registered, with their md5s, as the official files; yields the URLs by split."""
    folder = tmp_path / "server"
    sizes = {"train": 5, "test": 6}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    old = data.REGISTRY["svhn"]
    by_key, urls = dict(old.files), {}
    for split, n in sizes.items():
        served = _svhn_mat(folder / f"{split}_32x32.mat", n=n)
        urls[split] = f"http://127.0.0.1:{httpd.server_address[1]}/{served.name}"
        by_key[split] = data.DataFile(by_key[split].path, hashlib.md5(served.read_bytes()).hexdigest(), (urls[split],))
    monkeypatch.setitem(data.REGISTRY, "svhn", data.Dataset(old.title, by_key, old.licence, old.source))
    yield urls
    httpd.shutdown()
    httpd.server_close()


def test_svhn_real_downloads_every_split_of_a_run_verifies_and_loads(data_dir, svhn_server, tmp_path, capsys):
    x, y, source = data.load_svhn("test", source="real")
    assert source == "real SVHN"
    for split in ("train", "test"):  # train too: the metrics of the run measure on real SVHN as well
        assert (data_dir / "svhn" / f"{split}_32x32.mat").read_bytes() == \
            (tmp_path / "server" / f"{split}_32x32.mat").read_bytes()
    assert x.shape == (6, 32, 32, 3) and y.tolist() == [0, 1, 3, 7, 0, 9]
    assert x[4, 0, 5].tolist() == [1.0, 0.0, 0.0]
    out = capsys.readouterr().out
    assert svhn_server["test"] in out and svhn_server["train"] in out
    assert "Data: real SVHN, test split, 6 images" in out
    assert data.svhn_source() == data.REAL_SVHN


@pytest.mark.parametrize("present, missing", [("train", "test"), ("test", "train")])
def test_svhn_one_split_on_disk_gives_the_standin_for_every_split(
        data_dir, svhn_server, monkeypatch, capsys, present, missing):
    from course_utils import metrics

    monkeypatch.setattr(svhn_standin, "CHUNK_SIZE", 16)  # build only a few stand-in images
    data.fetch("svhn", present)  # the official file of one split, downloaded from 127.0.0.1
    capsys.readouterr()
    assert data.svhn_source() == data.SVHN_STANDIN
    assert metrics._source("svhn") == data.SVHN_STANDIN  # the classifier and its cache name
    for split in ("train", "test"):
        x, _, source = data.load_svhn(split, n=3)
        assert source == data.SVHN_STANDIN and x.shape == (3, 32, 32, 3)
        out = capsys.readouterr().out
        assert f"Data: SVHN stand-in, {split} split, 3 images" in out and "NOT real SVHN" in out
        assert f"{present}_32x32.mat is in the data folders but {missing}_32x32.mat is not" in out
        assert f"course_utils.data.fetch('svhn', '{missing}')" in out
        assert "Data: real SVHN" not in out
    assert metrics._load_domain("svhn", "test", n=3)[2] == data.SVHN_STANDIN  # the metrics' test images

    data.fetch("svhn", missing)  # now both: real SVHN for every split
    assert data.svhn_source() == metrics._source("svhn") == data.REAL_SVHN
    for split, n in (("train", 5), ("test", 6)):
        x, _, source = data.load_svhn(split)
        assert source == data.REAL_SVHN and len(x) == n
        assert f"Data: real SVHN, {split} split, {n} images" in capsys.readouterr().out


def test_svhn_extra_of_a_real_run_is_never_the_standin(data_dir, svhn_server, monkeypatch):
    for split in data.SVHN_RUN_SPLITS:
        data.fetch("svhn", split)
    monkeypatch.setattr(data, "download", lambda *args: pytest.fail("source='auto' must not download"))
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load_svhn("extra")
    message = str(caught.value)
    assert "svhn/extra_32x32.mat" in message and "fetch('svhn', 'extra')" in message


def test_bad_arguments_are_explained(data_dir):
    with pytest.raises(ValueError, match="split"):
        data.load_svhn("validation")
    with pytest.raises(ValueError, match="source"):
        data.load_svhn("train", source="fake")
    with pytest.raises(ValueError, match="split"):
        data.load_mnist("val")
    with pytest.raises(ValueError, match="nietzsche"):
        data.load_text("hamlet")


def test_show_inventory_names_folders_by_role_and_every_registered_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "tinyshakespeare.txt").write_text("x")
    data.show_inventory()
    out = capsys.readouterr().out
    assert "the folder in $COURSE_DATA_DIR" in out and str(tmp_path) not in out
    for dataset in data.REGISTRY.values():
        for entry in dataset.files.values():
            assert entry.path in out
    assert "text/tinyshakespeare.txt" in out and "on disk" in out
    assert "missing: the course can download it" in out
