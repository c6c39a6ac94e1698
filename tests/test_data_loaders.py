"""Loaders of course_utils.data: MNIST on the real files, SVHN on small files in the official
.mat layout, and clear errors for damaged, unofficial or converted files.

Tests on real files read them from COURSE_DATA_DIR (see data/README.md) and are skipped only
when that variable is unset. Every other test uses temporary data folders.
"""

import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import os
import threading
import zipfile
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


def _register(monkeypatch, dataset, key, **changes):
    """Replace fields (md5, urls, size) of a registry entry for one test."""
    old = data.REGISTRY[dataset]
    by_key = dict(old.files)
    by_key[key] = dataclasses.replace(by_key[key], **changes)
    monkeypatch.setitem(data.REGISTRY, dataset, data.Dataset(old.title, by_key, old.licence, old.source))


def _registered_as_official(monkeypatch, split, path):
    """Make the registry's md5 of ``svhn/<split>`` that of ``path`` (as if it were the official file)."""
    _register(monkeypatch, "svhn", split, md5=hashlib.md5(path.read_bytes()).hexdigest())


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
def http_folder(tmp_path):
    """``(folder, base URL)``: an HTTP server on 127.0.0.1 serving the files of a temporary folder."""
    folder = tmp_path / "server"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def svhn_server(http_folder, monkeypatch):
    """Small official-format train (5 images) and test (6 images) files, served over HTTP on
    127.0.0.1 and registered, with their md5s, as the official files; returns the URLs by split."""
    folder, base = http_folder
    urls = {}
    for split, n in {"train": 5, "test": 6}.items():
        served = _svhn_mat(folder / f"{split}_32x32.mat", n=n)
        urls[split] = f"{base}/{served.name}"
        _register(monkeypatch, "svhn", split, md5=hashlib.md5(served.read_bytes()).hexdigest(), urls=(urls[split],))
    return urls


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


# --- CelebA faces: small zips and folders of JPEGs written by the tests ------------------------

RED, BLUE = (220, 30, 30), (30, 30, 220)


def _face(width, height, shade):
    """An 'aligned face' JPEG: the face box of ``data.face_box`` red, everything around it blue;
    the green channel of the box holds ``shade``, so that images cannot be mixed up."""
    from PIL import Image

    pixels = np.zeros((height, width, 3), np.uint8) + np.array(BLUE, np.uint8)
    left, top, right, bottom = data.face_box(width, height)
    pixels[top:bottom, left:right] = (RED[0], shade, RED[2])
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _faces_zip(path, numbers, width=178, height=218, folder="img_align_celeba"):
    """A zip of face JPEGs named like CelebA's (``folder/000001.jpg``), image k with shade 10 * k."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{folder}/", b"")
        for k, number in enumerate(numbers):
            archive.writestr(f"{folder}/{number:06d}.jpg", _face(width, height, 10 * k))
    return path


def _assert_face_crops(x, shades, value_range=(0, 1)):
    """Every crop shows only its face box (red, with its own green shade), no blue from around it."""
    low, high = value_range
    x = (x - low) / (high - low)  # back to [0, 1]
    inner = x[:, 1:-1, 1:-1]  # the filter may blur one pixel of the edge
    np.testing.assert_allclose(inner[..., 0], RED[0] / 255, atol=0.06)
    np.testing.assert_allclose(inner[..., 2], RED[2] / 255, atol=0.06)
    np.testing.assert_allclose(inner[..., 1].mean(axis=(1, 2)), np.array(shades) / 255, atol=0.03)


def test_faces_from_a_zip_crop_resize_range_and_split(data_dir, tmp_path, capsys):
    path = _faces_zip(tmp_path / "faces.zip", numbers=range(1, 7))
    x, source = data.load_celeba("train", source=path)
    assert source == "face images from faces.zip"
    assert x.shape == (5, 64, 64, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    _assert_face_crops(x, [0, 10, 20, 30, 40])
    out = capsys.readouterr().out
    assert "Data: face images from faces.zip; train split (the first 5 of 6 by file name): 5 face crops of 64x64" in out
    x, _ = data.load_celeba("test", size=32, value_range=(-1, 1), source=str(path))
    assert x.shape == (1, 32, 32, 3) and -1 <= x.min() and x.max() <= 1
    _assert_face_crops(x, [50], value_range=(-1, 1))  # the last image by file name
    x, _ = data.load_celeba("train", n=2, source=path)
    assert len(x) == 2


def test_faces_from_a_folder_at_the_subset_scale(data_dir, tmp_path):
    folder = tmp_path / "my faces"
    (folder / "b").mkdir(parents=True)
    for k, name in enumerate(["a1.jpg", "a2.JPG", "b/b1.png", "b/b2.jpeg"]):
        (folder / name).write_bytes(_face(89, 109, 10 * k))  # 89x109, as in celeba-10k.zip
    (folder / "notes.txt").write_text("not an image")
    x, source = data.load_celeba("train", source=folder)
    assert source == "face images in the folder my faces" and x.shape == (3, 64, 64, 3)
    _assert_face_crops(x, [0, 10, 20])
    assert data.face_box(89, 109) == (12, 28, 76, 92)  # 64x64: at size 64 a crop, no resampling
    assert data.face_box(178, 218) == (25, 57, 153, 185)  # the official images: 128x128 around (89, 121)
    with pytest.raises(ValueError, match="size <= 64"):
        data.load_celeba("train", size=96, source=folder)


def test_faces_are_decoded_once_per_source_and_size(data_dir, tmp_path, monkeypatch):
    decoded = []
    decode_all = data._decode_all
    monkeypatch.setattr(data, "_decode_all", lambda *args: decoded.append(args[2]) or decode_all(*args))
    path = _faces_zip(tmp_path / "faces.zip", numbers=range(1, 5))
    first, _ = data.load_celeba("train", source=path)
    again, _ = data.load_celeba("test", source=path)
    np.testing.assert_array_equal(data.load_celeba("train", source=path)[0], first)
    assert decoded == [64] and len(again) == 1
    data.load_celeba("train", size=32, source=path)
    assert decoded == [64, 32]
    cached = sorted(p.name for p in (data.cache_dir() / "celeba").iterdir())
    assert len(cached) == 2 and all(name.endswith(f"-crop{data.FACE_CROP_VERSION}.npz") for name in cached)
    _faces_zip(path, numbers=range(1, 6))  # other images under the same name: decoded anew
    assert len(data.load_celeba("train", source=path)[0]) == 4 and decoded == [64, 32, 64]


def test_faces_auto_uses_the_subset_when_present_and_never_downloads_it(data_dir, monkeypatch, capsys):
    path = _faces_zip(data_dir / "celeba-10k.zip", numbers=range(1, 11), width=89, height=109, folder="celebA")
    _register(monkeypatch, "celeba-10k", "images", md5=hashlib.md5(path.read_bytes()).hexdigest())
    monkeypatch.setattr(data, "download", lambda *args, **kwargs: pytest.fail("the subset is on disk"))
    x, source = data.load_celeba("test")
    assert source == data.CELEBA_10K == "CelebA, first 10,000 aligned images, downscaled"
    assert len(x) == 1
    assert f"Data: {data.CELEBA_10K}; test split (the last 1 of 10 by file name)" in capsys.readouterr().out
    _assert_face_crops(x, [90])


OFFICIAL_NUMBERS = [1, 2, 162_770, 162_771, 182_637, 182_638, 202_599]  # train, train, train, valid x2, test x2


def test_faces_official_download_announces_size_verifies_and_splits(data_dir, http_folder, monkeypatch, capsys):
    folder, base = http_folder
    served = _faces_zip(folder / "img_align_celeba.zip", OFFICIAL_NUMBERS)
    _register(monkeypatch, "celeba", "images", md5=hashlib.md5(served.read_bytes()).hexdigest(),
              urls=(f"{base}/img_align_celeba.zip",), size=served.stat().st_size)
    x, source = data.load_celeba("test")  # nothing on disk: "auto" downloads the official file
    assert source == data.CELEBA_OFFICIAL
    assert (data_dir / "celeba" / "img_align_celeba.zip").read_bytes() == served.read_bytes()
    out = capsys.readouterr().out
    announced = f"Downloading img_align_celeba.zip (about {served.stat().st_size / 1e3:.0f} kB, " \
                f"{served.stat().st_size:,} bytes) from {base}/img_align_celeba.zip"
    assert announced in out and out.index(announced) < out.index("Decoding")
    assert "test split (CelebA's partition: images 182,638-202,599): 2 face crops" in out
    _assert_face_crops(x, [50, 60])
    x, _ = data.load_celeba("train", source="official")
    _assert_face_crops(x, [0, 10, 20])  # the validation images 162,771-182,637 are in neither split


def _refusal_page(title):
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><form action='/download'>"
            f"<input type='submit' value='Download anyway'></form></body></html>").encode()


def test_faces_refused_download_says_how_to_fetch_by_hand(data_dir, http_folder, monkeypatch):
    folder, base = http_folder
    (folder / "warning.html").write_bytes(_refusal_page("Google Drive - Virus scan warning"))  # text/html
    (folder / "quota.zip").write_bytes(_refusal_page("Google Drive - Quota exceeded"))  # HTML sent as a zip
    urls = (f"{base}/warning.html", f"{base}/quota.zip")
    _register(monkeypatch, "celeba", "images", urls=urls)
    with pytest.raises(data.DownloadRefusedError) as caught:
        data.load_celeba("train", source="official")
    assert isinstance(caught.value, data.DownloadError)
    message = str(caught.value)
    assert 'a web page ("Google Drive - Virus scan warning")' in message
    assert 'a web page ("Google Drive - Quota exceeded")' in message
    official = data.REGISTRY["celeba"].files["images"]
    assert "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html" in message and "Img/img_align_celeba.zip" in message
    assert f"Then put img_align_celeba.zip (md5 {official.md5})" in message and "not unzipped" in message
    assert str(data_dir / "celeba") in message and all(url in message for url in urls)
    assert list((data_dir / "celeba").iterdir()) == []  # nothing half-downloaded left behind


def test_faces_download_with_the_wrong_checksum_leaves_nothing(data_dir, http_folder, monkeypatch):
    folder, base = http_folder
    served = _faces_zip(folder / "img_align_celeba.zip", OFFICIAL_NUMBERS)
    _register(monkeypatch, "celeba", "images", urls=(f"{base}/img_align_celeba.zip",))  # the real md5
    with pytest.raises(data.ChecksumError) as caught:
        data.load_celeba("train", source="official")
    message = str(caught.value)
    assert f"got md5 {hashlib.md5(served.read_bytes()).hexdigest()}" in message
    assert f"expected md5 {data.REGISTRY['celeba'].files['images'].md5}" in message
    assert list((data_dir / "celeba").iterdir()) == []


def test_faces_corrupt_zip_or_image_names_the_file(data_dir, tmp_path):
    path = _faces_zip(tmp_path / "faces.zip", numbers=range(1, 5))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data.CorruptFileError, match="not a complete zip file") as caught:
        data.load_celeba("train", source=path)
    assert str(path) in str(caught.value)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("faces/000001.jpg", _face(89, 109, 0))
        archive.writestr("faces/000002.jpg", b"<html>not a JPEG</html>")
    with pytest.raises(data.CorruptFileError, match="faces/000002.jpg in it is not a readable image"):
        data.load_celeba("train", source=path)
    assert not (data.cache_dir() / "celeba").exists() or not list((data.cache_dir() / "celeba").iterdir())


def test_faces_official_file_on_disk_that_is_not_official_is_refused(data_dir):
    _faces_zip(data_dir / "celeba" / "img_align_celeba.zip", numbers=range(1, 5))
    with pytest.raises(data.NotOfficialFileError, match="not the official img_align_celeba.zip"):
        data.load_celeba("train")


def test_faces_bad_arguments_are_explained(data_dir, tmp_path):
    with pytest.raises(ValueError, match="split"):
        data.load_celeba("valid")
    with pytest.raises(ValueError, match="size"):
        data.load_celeba("train", size=0)
    with pytest.raises(ValueError, match="no zip file or folder of face images"):
        data.load_celeba("train", source=tmp_path / "absent.zip")
    with pytest.raises(ValueError, match="value_range"):
        data.load_celeba("train", value_range=(0, 255))


@pytest.mark.needs_data("celeba-10k")
def test_celeba_subset_on_the_real_file(real_data):
    x, source = data.load_celeba("train")
    assert source == data.CELEBA_10K and x.shape == (9000, 64, 64, 3) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1 and 0.3 < x.mean() < 0.6
    x, _ = data.load_celeba("test", size=32, value_range=(-1, 1))
    assert x.shape == (1000, 32, 32, 3) and -1 <= x.min() and x.max() <= 1
