"""Datasets of the course: where they come from and how to load them.

- ``REGISTRY``: every file the course uses, with its official URL (mirrors after it) and md5.
- Files are looked up in the data folders of ``course_utils.files``: ``COURSE_DATA_DIR`` if set,
  the repository's ``data/``, a user cache (``data_dirs()`` lists them). Inside a folder the
  layout is fixed: ``mnist/...``, ``svhn/train_32x32.mat``, ``text/tinyshakespeare.txt``, ...
  (``REGISTRY`` has every path).
- ``fetch(dataset, file_key)`` finds a file or downloads it (progress bar, md5 check, atomic
  write; offline, the error says which file to put where by hand).
- Loaders return NumPy arrays: images as float32 in ``value_range`` ``(0, 1)`` or ``(-1, 1)``,
  labels as int64. ``load_svhn`` uses an SVHN file on disk only if it is the official one (its
  md5 is checked once per version of the file, ``verified``) and falls back to a clearly
  labelled, procedurally rendered stand-in (``course_utils.svhn_standin``) when real SVHN is
  not on this machine. The choice is made once for a whole run, for every split
  (``svhn_source``): real SVHN only when its train and test files are both on disk.
- ``load_celeba`` gives face crops (aligned CelebA, cropped on the face and resized, decoded once
  and cached) from the official ``img_align_celeba.zip``, the local subset ``celeba-10k.zip`` or
  any zip or folder of face images, with a sentence saying which images they are.
"""

import gzip
import hashlib
import http.client
import io
import json
import math
import re
import sys
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils import files, svhn_standin
from course_utils.errors import CourseError

# The data folders, under the names notebooks use (``data.data_dirs()``, ``data.cache_dir()``).
from course_utils.files import DATA_DIR_VARIABLE, REPO_DATA_DIR, cache_dir, data_dirs, writable_dir  # noqa: F401

DOWNLOAD_TIMEOUT_S = 60  # seconds without an answer before a URL counts as failed


# --- errors ------------------------------------------------------------------------------------


class DataFileError(CourseError, OSError):
    """A data file is missing, could not be downloaded, or is damaged."""


class DataNotFoundError(DataFileError):
    """A file is in no data folder and the course cannot download it (a local-only file)."""


class DownloadError(DataNotFoundError):
    """Every URL of a file failed (offline, server error, interrupted transfer, wrong checksum)."""


class ChecksumError(DownloadError):
    """A downloaded file's md5 differs from the registry's: the server sent other bytes."""


class DownloadRefusedError(DownloadError):
    """A host answered with a web page (a quota, sign-in or confirmation page) instead of the file."""


class CorruptFileError(DataFileError):
    """A file on disk cannot be read: truncated, not the expected format, or a wrong header."""


class NotOfficialFileError(DataFileError):
    """A file on disk has the name of a course file but other contents: its md5 differs."""


# --- registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFile:
    """One file: its path inside a data folder, its md5, and its URLs (official first)."""

    path: str
    md5: str
    urls: tuple = ()  # empty: a local-only file the course cannot download
    size: int = None  # bytes, announced before a download starts (None: unknown)
    by_hand: str = ""  # how to get the file in a browser when its host refuses a script


@dataclass(frozen=True)
class Dataset:
    """A dataset: its files by key, its licence, and where a learner gets local-only files."""

    title: str
    files: dict
    licence: str
    source: str  # home page, or how to get the files by hand


def _idx_files(folder, md5s, *bases):
    """The four IDX files of an MNIST-style dataset, each downloadable from every base URL."""
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    return {
        key: DataFile(f"{folder}/{name}", md5s[key], tuple(base + name for base in bases))
        for key, name in names.items()
    }


_SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"
_CELEBA_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
# The official aligned images are a file in the authors' Google Drive share. Its Drive id and md5
# are those that torchvision lists for it (torchvision/datasets/celeba.py, CelebA.file_list:
# "0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb", "img_align_celeba.zip").
_CELEBA_DRIVE_ID = "0B7EVK8r0v71pZjFTYXZWM3FlRnM"

REGISTRY = {
    "mnist": Dataset(
        "MNIST handwritten digits (LeCun et al., 1998)",
        _idx_files(
            "mnist",
            {
                "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
                "test_images": "9fb629c4189551a2d022fa330f9573f3",
                "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            "http://yann.lecun.com/exdb/mnist/",
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
        ),
        "CC BY-SA 3.0",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "svhn": Dataset(
        "SVHN cropped digits (Netzer et al., 2011)",
        {
            "train": DataFile("svhn/train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373",
                              (_SVHN_URL + "train_32x32.mat",)),
            "test": DataFile("svhn/test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3",
                             (_SVHN_URL + "test_32x32.mat",)),
            "extra": DataFile("svhn/extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7",
                              (_SVHN_URL + "extra_32x32.mat",)),
        },
        "non-commercial use only",
        _SVHN_URL,
    ),
    "svhn-sample": Dataset(
        "the first 1,083 images of SVHN's train_32x32.mat, as a NumPy array (no labels)",
        {"images": DataFile("svhn-sample/train_first_1083_images_nolabels.npy",
                            "5c2934d4fe0eaa5ebc5fde8e9095a94e")},
        "non-commercial use only (SVHN)",
        "it is cut from real SVHN, so with svhn/train_32x32.mat in a data folder "
        "load_svhn_sample() takes the first 1,083 images from that instead "
        "(course_utils.data.fetch('svhn', 'train') downloads it)",
    ),
    "celeba": Dataset(
        "CelebA aligned faces (Liu et al., 2015): 202,599 JPEGs of 178x218",
        {"images": DataFile(
            "celeba/img_align_celeba.zip", "00d2c5bc6d35e252742224ab0c1e8fcb",
            (f"https://drive.usercontent.google.com/download?id={_CELEBA_DRIVE_ID}&export=download&confirm=t",
             f"https://drive.google.com/uc?export=download&id={_CELEBA_DRIVE_ID}"),
            size=1_443_490_838,  # the size other public loaders check this file against; only announced here
            by_hand=(f"Its host is a Google Drive share that often refuses scripts (a quota or confirmation "
                     f"page instead of the file). Download it in a browser: open {_CELEBA_PAGE}, follow the "
                     f"Google Drive link of \"Align&Cropped Images\" and download Img/img_align_celeba.zip, "
                     f"or open https://drive.google.com/file/d/{_CELEBA_DRIVE_ID}/view."))},
        "non-commercial research purposes only (the CelebA agreement)",
        _CELEBA_PAGE,
    ),
    "celeba-10k": Dataset(
        "the first 10,000 aligned CelebA faces, downscaled to 89x109 JPEGs (celebA/000001.jpg ...)",
        {"images": DataFile("celeba-10k.zip", "d5642be433f4ab11bfba9b85825c4d53")},
        "non-commercial research purposes only (CelebA)",
        "it is a subset kept for machines without internet; elsewhere load_celeba() uses the official "
        "img_align_celeba.zip (course_utils.data.fetch('celeba', 'images') downloads it)",
    ),
    "text": Dataset(
        "text corpora for character-level generation",
        {
            "tinyshakespeare": DataFile(
                "text/tinyshakespeare.txt", "6fb458f1232090904fb40fe944165e91",
                ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",)),
            "nietzsche": DataFile(
                "text/nietzsche.txt", "a941bb9acc3a83c1f5186b846bbee663",
                ("https://s3.amazonaws.com/text-datasets/nietzsche.txt",)),
        },
        "public-domain texts",
        "https://github.com/karpathy/char-rnn",
    ),
}


def _entry(dataset, file_key):
    if dataset not in REGISTRY:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(REGISTRY)}.")
    by_key = REGISTRY[dataset].files
    if file_key not in by_key:
        raise ValueError(f"dataset {dataset!r} has no file {file_key!r}; choose one of {sorted(by_key)}.")
    return by_key[file_key]


# --- finding and verifying files ----------------------------------------------------------


def find(dataset, file_key):
    """Path of a dataset file in the first data folder that has it, or None (never downloads)."""
    entry = _entry(dataset, file_key)
    for folder in data_dirs():
        if (folder / entry.path).is_file():
            return folder / entry.path
    return None


def fetch(dataset, file_key):
    """Path of a dataset file: found in a data folder, else downloaded into the first writable one.

    Raises ``DataNotFoundError`` for a local-only file that is missing, ``DownloadError`` (an
    ``OSError``) when every URL fails, e.g. offline; both say where to put the file by hand.
    """
    entry = _entry(dataset, file_key)
    found = find(dataset, file_key)
    if found is not None:
        return found
    if not entry.urls:
        folders = "\n".join(f"    {folder}" for folder in data_dirs())
        raise DataNotFoundError(
            f"{entry.path} ({REGISTRY[dataset].title}) is in none of the data folders:\n{folders}\n"
            f"The course cannot download it; {REGISTRY[dataset].source}.\n"
            f"Put it at {writable_dir() / entry.path}, or set {DATA_DIR_VARIABLE} to a folder "
            f"that holds {entry.path}."
        )
    return download(entry.urls, writable_dir() / entry.path, entry.md5, size=entry.size, by_hand=entry.by_hand)


def folder_role(folder):
    """A data folder named by its role, since paths differ from machine to machine."""
    if folder == REPO_DATA_DIR:
        return "data/ in this repository"
    if folder == files.USER_CACHE_DIR:
        return "the user cache (~/.cache/generative-course)"
    return f"the folder in ${DATA_DIR_VARIABLE}"


def show_inventory():
    """Print the data folders in search order, then every registered file and whether it is on disk."""
    print("Data folders, in search order:")
    for folder in data_dirs():
        print("   ", folder_role(folder))
    for name, dataset in REGISTRY.items():
        print(f"\n{name}: {dataset.title}")
        for key, entry in dataset.files.items():
            if find(name, key) is not None:
                status = "on disk"
            elif entry.urls:
                status = "missing: the course can download it"
            else:
                status = "missing: local-only, " + dataset.source
            print(f"    {entry.path:<48} {status}")


MD5_RECORDS = "md5-of-data-files.json"  # in cache_dir(): {path: {"size", "mtime_ns", "md5"}}


def _md5_of(path):
    """The md5 of a file, computed once per version of it (its size and modification time) and
    remembered in the cache folder, so that a large file is read in full only once."""
    path = Path(path).resolve()
    info = path.stat()
    version = {"size": info.st_size, "mtime_ns": info.st_mtime_ns}
    records_path = cache_dir() / MD5_RECORDS
    try:
        records = json.loads(records_path.read_text())
    except (OSError, ValueError):  # none yet, or damaged: start a new one
        records = {}
    if not isinstance(records, dict):
        records = {}
    known = records.get(str(path))
    if isinstance(known, dict) and {key: known.get(key) for key in version} == version and known.get("md5"):
        return known["md5"]
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    records[str(path)] = {**version, "md5": digest.hexdigest()}
    with files.atomic_write(records_path) as f:
        f.write(json.dumps(records, indent=1, sort_keys=True))
    return digest.hexdigest()


def verified(dataset, file_key, path):
    """Return ``path`` if the file there is the official one (the registry's md5); otherwise
    raise ``NotOfficialFileError`` saying what the file is and how to get the official one."""
    entry = _entry(dataset, file_key)
    md5 = _md5_of(path)
    if md5 == entry.md5:
        return path
    name = Path(entry.path).name
    if entry.urls:
        way_out = (f"download the official file: data.fetch({dataset!r}, {file_key!r}) (or notebook 00) "
                   f"gets it from {entry.urls[0]}")
    else:
        way_out = f"get the official file: {REGISTRY[dataset].source}"
    raise NotOfficialFileError(
        f"{path} is not the official {name} of {REGISTRY[dataset].title}: its md5 is {md5}, the "
        f"official file's is {entry.md5}. It may be an incomplete copy, another version or other "
        f"data under this name, so the course does not use it (it would label the results with data "
        f"they do not come from).\nDelete it, then {way_out}."
    )


# --- downloads ---------------------------------------------------------------------------------


def _refusal(response, first_chunk):
    """Why a response is a web page instead of the file (its title), or None if it is not one."""
    starts_as_html = first_chunk.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if response.headers.get_content_type() != "text/html" and not starts_as_html:
        return None
    title = re.search(rb"<title[^>]*>(.*?)</title>", first_chunk, re.IGNORECASE | re.DOTALL)
    named = f' ("{title.group(1).decode("utf-8", "replace").strip()}")' if title else ""
    return f"the server answered with a web page{named} instead of the file"


def _download_once(url, dest, md5):
    """Stream ``url`` into ``dest``, which appears only if the transfer is complete and its md5
    matches; on any failure, interruption included, nothing is left behind."""
    from tqdm import tqdm  # text bar on stderr: also fine in notebooks and stored outputs

    with files.atomic_write(dest, "wb") as out:
        digest, received = hashlib.md5(), 0
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            chunk = response.read(1 << 20)
            if (refused := _refusal(response, chunk)) is not None:
                raise DownloadRefusedError(refused)
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name) as bar:
                while chunk:
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    chunk = response.read(1 << 20)
        if total is not None and received != total:
            raise OSError(f"the transfer stopped after {received:,} of {total:,} bytes")
        if md5 is not None and digest.hexdigest() != md5:
            raise ChecksumError(f"wrong checksum: expected md5 {md5}, got md5 {digest.hexdigest()}")


def _size_text(size):
    """``1_443_490_838`` -> ``"about 1.4 GB, 1,443,490,838 bytes"``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"about {size / scale:.{1 if size < 10 * scale else 0}f} {unit}, {size:,} bytes"
    return f"{size:,} bytes"


def download(urls, dest, md5=None, size=None, by_hand=""):
    """Download a file to ``dest``, trying ``urls`` (one URL or a list of mirrors) in order.

    The bytes are checked against ``md5`` and written atomically: ``dest`` appears only when a
    download is complete and verified, and a failed or interrupted one leaves nothing behind.
    ``size`` (bytes, if known) is announced before the transfer starts. If every URL fails,
    raises ``DownloadError`` (``ChecksumError`` if a server sent a file with another md5,
    ``DownloadRefusedError`` if one answered with a web page, e.g. a quota or confirmation page)
    naming the file, the URLs and the folder to put the file in by hand; ``by_hand`` adds how to
    get it in a browser. Returns ``dest`` as a ``Path``.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures, wrong_checksum, refused = [], False, False
    for url in urls:
        print(f"Downloading {dest.name}" + (f" ({_size_text(size)})" if size else "") + f" from {url}")
        try:
            _download_once(url, dest, md5)
            return dest
        except ChecksumError as error:
            failures.append(f"    {url}\n        {error}")
            wrong_checksum = True
        except DownloadRefusedError as error:
            failures.append(f"    {url}\n        {error}")
            refused = True
        except (OSError, http.client.HTTPException, ValueError) as error:
            failures.append(f"    {url}\n        {error}")
    error_class = ChecksumError if wrong_checksum else DownloadRefusedError if refused else DownloadError
    checksum = f" (md5 {md5})" if md5 else ""
    if by_hand:
        as_is = ", the zip file itself (not unzipped)," if dest.suffix == ".zip" else ""
        how = f"{by_hand}\nThen put {dest.name}{checksum}{as_is} in this folder:"
    else:
        how = (f"If this computer is offline, download {dest.name} by hand from one of these URLs{checksum} "
               f"and put it in this folder:")
    raise error_class(
        f"Could not download {dest.name}. Tried:\n" + "\n".join(failures) + f"\n{how}\n    {dest.parent}\n"
        f"Or set {DATA_DIR_VARIABLE} to a folder that already holds it (see data/README.md)."
    )


# --- loaders -----------------------------------------------------------------------------------


def _to_range(images, value_range):
    """uint8 images -> float32 in ``value_range``: (0, 1) or (-1, 1)."""
    value_range = _check_range(value_range)
    images = images.astype(np.float32)
    return images / 255 if value_range == (0, 1) else images / 127.5 - 1


def _check_range(value_range):
    value_range = tuple(value_range)
    if value_range not in ((0, 1), (-1, 1)):
        raise ValueError(f"value_range={value_range!r} is not supported; use (0, 1) or (-1, 1).")
    return value_range


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}.")


def _damaged(path, why):
    return (f"{path} is damaged: {why}. Delete it and run again to download a fresh copy "
            f"(or copy it again from where you got it).")


def read_idx(path, ndim):
    """Read a gzip-compressed IDX file of unsigned bytes with ``ndim`` dimensions (3 for images,
    1 for labels) into a uint8 array, checking its magic number and announced shape."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptFileError(_damaged(path, f"it is not a complete gzip file ({error})")) from error
    header = 4 + 4 * ndim
    expected_magic = 0x0800 + ndim  # 0x08: unsigned bytes, then the number of dimensions
    if len(raw) < header:
        raise CorruptFileError(_damaged(path, f"it holds only {len(raw)} bytes, less than an IDX header"))
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise CorruptFileError(_damaged(
            path, f"its IDX magic number is {magic:#06x}, expected {expected_magic:#06x} "
                  f"(unsigned bytes in {ndim} dimension{'s' if ndim > 1 else ''})"))
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != math.prod(shape):
        raise CorruptFileError(_damaged(
            path, f"its header announces shape {shape} ({math.prod(shape):,} bytes) but it holds "
                  f"{len(raw) - header:,} bytes"))
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _load_idx_dataset(dataset, split, value_range):
    _check_choice("split", split, ("train", "test"))
    _check_range(value_range)
    images_path = fetch(dataset, f"{split}_images")
    labels_path = fetch(dataset, f"{split}_labels")
    images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
    if images.shape[1:] != (28, 28):
        raise CorruptFileError(_damaged(images_path, f"its images are {images.shape[1:]}, not 28x28"))
    if len(images) != len(labels):
        raise CorruptFileError(_damaged(
            labels_path, f"it has {len(labels):,} labels for {len(images):,} images in {images_path.name}"))
    if labels.max(initial=0) > 9:
        raise CorruptFileError(_damaged(labels_path, f"it holds label {labels.max()}, outside 0-9"))
    return _to_range(images[..., None], value_range), labels.astype(np.int64)


def load_mnist(split="train", value_range=(0, 1)):
    """MNIST digits: x float32 (N, 28, 28, 1) in ``value_range``, y int64 (N,) in 0..9.

    N = 60,000 for ``split="train"``, 10,000 for ``"test"``. Downloads the files if missing.
    """
    return _load_idx_dataset("mnist", split, value_range)


REAL_SVHN = "real SVHN"
SVHN_STANDIN = "SVHN stand-in"
SVHN_RUN_SPLITS = ("train", "test")
"""The SVHN splits a run uses: a chapter trains on one and measures on the other, so both come
from one source (``svhn_source``)."""


def svhn_source():
    """The SVHN that a run uses for every split: ``"real SVHN"`` or ``"SVHN stand-in"``.

    Real SVHN only when the official files of all of ``SVHN_RUN_SPLITS`` (train and test) are in
    a data folder, each checked against its md5; otherwise the stand-in, also when only one of
    them is there, so that a run never trains on real SVHN and measures on the stand-in (or the
    reverse) under one name. ``load_svhn(source="auto")`` and the SVHN metrics both ask this
    function. Never downloads; a file on disk that is not the official one raises
    ``NotOfficialFileError``.
    """
    found = [find("svhn", split) for split in SVHN_RUN_SPLITS]
    for split, path in zip(SVHN_RUN_SPLITS, found):
        if path is not None:
            verified("svhn", split, path)
    return REAL_SVHN if all(found) else SVHN_STANDIN


def read_svhn_mat(path):
    """Images uint8 (N, 32, 32, 3) and labels int64 (N,) in 0..9 from an official SVHN ``.mat``.

    The file holds ``X`` as (32, 32, 3, N) (row, column, RGB channel, image) and ``y`` as (N, 1)
    with labels 1..10, where 10 stands for the digit 0.
    """
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises several types for truncated or foreign files
        raise CorruptFileError(_damaged(path, f"it is not a readable MATLAB file ({error})")) from error
    x, y = mat.get("X"), mat.get("y")
    if x is None or y is None or x.ndim != 4 or x.shape[:3] != (32, 32, 3) or y.size != x.shape[3]:
        found = {key: getattr(value, "shape", None) for key, value in mat.items() if not key.startswith("__")}
        raise CorruptFileError(_damaged(
            path, f"it should hold X of shape (32, 32, 3, N) and y of shape (N, 1), but holds {found}"))
    if x.dtype != np.uint8:
        values = f" with values from {x.min():.3g} to {x.max():.3g}" if x.size else ""
        raise CorruptFileError(
            f"{path} holds its images as {x.dtype}{values}, but an SVHN file holds uint8 pixel values "
            f"0-255: it was converted or saved again by another program, and read as SVHN its images "
            f"would come out wrong (floats in [0, 1] become nearly black). Delete it and download the "
            f"official file ({_SVHN_URL}), or save X again as uint8 values 0-255."
        )
    labels = y.reshape(-1).astype(np.int64)
    if labels.min() < 1 or labels.max() > 10:
        raise CorruptFileError(_damaged(
            path, f"its labels run from {labels.min()} to {labels.max()}, not 1..10"))
    labels[labels == 10] = 0
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2), dtype=np.uint8), labels


def load_svhn(split="train", source="auto", value_range=(0, 1), n=None):
    """SVHN digits: ``(x, y, source)`` with x float32 (N, 32, 32, 3) in ``value_range``, y int64
    (N,) in 0..9 (the centre digit), and source ``"real SVHN"`` or ``"SVHN stand-in"``.

    ``source``: ``"auto"`` uses what ``svhn_source()`` decides for the whole run (real SVHN only
    when the official train and test files are both in a data folder, the stand-in otherwise)
    and never downloads; ``"real"`` uses the official ``.mat`` files, downloading the train and
    test files (about 180 MB and 64 MB) and the asked split if missing, so that later
    ``"auto"`` calls and the metrics use real SVHN too; ``"standin"`` uses the procedurally
    rendered stand-in (``course_utils.svhn_standin``). A file on disk that is not the official
    one (its md5 differs) is refused with ``NotOfficialFileError``, never labelled real SVHN.
    ``n`` takes the first n images (None: all; the stand-in has the split sizes of real SVHN).
    Prints one line saying which data it uses.
    """
    _check_choice("split", split, ("train", "test", "extra"))
    _check_choice("source", source, ("auto", "real", "standin"))
    _check_range(value_range)
    if n is not None and n < 0:
        raise ValueError(f"n={n} must be None (all images) or a count >= 0.")
    if source == "real":
        needed = dict.fromkeys(SVHN_RUN_SPLITS + (split,))
        for each in needed:  # refuse a file that is not the official one before downloading others
            if (path := find("svhn", each)) is not None:
                verified("svhn", each, path)
        for each in needed:
            fetch("svhn", each)
    if source == "real" or (source == "auto" and svhn_source() == REAL_SVHN):
        images, labels = _load_real_svhn(split, n)
        used = REAL_SVHN
        print(f"Data: real SVHN, {split} split, {len(images):,} images")
    else:
        images, labels = svhn_standin.load(split, n)
        used = SVHN_STANDIN
        print(f"Data: SVHN stand-in, {split} split, {len(images):,} images: procedurally rendered "
              f"house numbers, NOT real SVHN." + (_why_standin(split) if source == "auto" else ""))
    return _to_range(images, value_range), labels, used


def _load_real_svhn(split, n):
    """The first ``n`` images and labels of the official file of ``split``, which must be on disk."""
    path = find("svhn", split)
    if path is None:  # only "extra" can be missing here: svhn_source() found train and test
        raise DataNotFoundError(
            f"This run uses real SVHN (its train and test files are on disk), but "
            f"{_entry('svhn', split).path} is in none of the data folders, and source='auto' never "
            f"downloads. Run course_utils.data.fetch('svhn', '{split}') to download it, or pass "
            f"source='real'.")
    images, labels = read_svhn_mat(verified("svhn", split, path))
    if n is not None and n > len(images):
        raise ValueError(f"n={n} but {path.name} holds {len(images):,} images.")
    return images[:n], labels[:n]


def _why_standin(split):
    """Why ``source="auto"`` chose the stand-in, and how to get real SVHN for the whole run."""
    missing = [s for s in SVHN_RUN_SPLITS if find("svhn", s) is None]
    if len(missing) == len(SVHN_RUN_SPLITS):
        return (f" Real SVHN is not in the data folders; to use it, run "
                f"course_utils.data.fetch('svhn', '{split}') or notebook 00.")
    present = [s for s in SVHN_RUN_SPLITS if s not in missing]

    def names(splits):
        return " and ".join(Path(_entry("svhn", s).path).name for s in splits)

    fetches = " and ".join(f"course_utils.data.fetch('svhn', '{s}')" for s in missing)
    return (f" Real SVHN's {names(present)} is in the data folders but {names(missing)} is not, and "
            f"a run takes all its splits from one source, so every split uses the stand-in; to use "
            f"real SVHN, run {fetches} or notebook 00.")


def load_svhn_sample():
    """A sample of real SVHN: the first 1,083 train images, uint8 (1083, 32, 32, 3), no labels.

    Read from ``svhn-sample/`` (a local-only file), or taken from ``svhn/train_32x32.mat`` when
    that is in a data folder. Useful to compare the stand-in with real SVHN by eye.
    """
    sample_size = 1083
    real_train = find("svhn", "train")
    if find("svhn-sample", "images") is None and real_train is not None:
        return read_svhn_mat(verified("svhn", "train", real_train))[0][:sample_size]
    path = fetch("svhn-sample", "images")  # if missing: a clear error, it is a local-only file
    images = np.load(path)
    if images.shape != (sample_size, 32, 32, 3) or images.dtype != np.uint8:
        raise CorruptFileError(_damaged(path, f"it holds {images.dtype} {images.shape}, "
                                              f"not uint8 ({sample_size}, 32, 32, 3)"))
    return images


def load_text(name):
    """A text corpus as one string: ``"tinyshakespeare"`` or ``"nietzsche"``. Downloads if missing."""
    _check_choice("name", name, tuple(REGISTRY["text"].files))
    return fetch("text", name).read_text(encoding="utf-8")


# --- CelebA faces ------------------------------------------------------------------------------

CELEBA_OFFICIAL = "CelebA, all 202,599 aligned images (the official img_align_celeba.zip)"
CELEBA_10K = "CelebA, first 10,000 aligned images, downscaled"
CELEBA_SOURCES = ("auto", "official", "celeba-10k")

FACE_CENTRE = (89 / 178, 121 / 218)
"""Centre of the face crop as fractions of an aligned CelebA image's width and height: in the
official 178x218 images the eyes, nose and mouth sit around pixel (89, 121)."""
FACE_SIDE = 128 / 178
"""Side of the square face crop as a fraction of the image width: 128 of 178 pixels around pixel
(89, 121), the CelebA crop of Karras et al. (2018, "Progressive Growing of GANs"; their
dataset_tool.py, create_celeba): the face from brows to chin, and some hair."""
FACE_CROP_VERSION = 1  # part of the cache file names: bump it whenever the crop or resize changes

# The official partition of CelebA (list_eval_partition.txt) by image number: 1-162,770 train,
# 162,771-182,637 validation (not used here), 182,638-202,599 test.
_CELEBA_TRAIN_LAST, _CELEBA_TEST_FIRST = 162_770, 182_638
FACES_TEST_SHARE = 0.1  # any other set of faces: the last tenth of the images (by file name) is the test split
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def face_box(width, height):
    """The square face crop ``(left, top, right, bottom)`` in pixels of a ``width`` x ``height``
    aligned face image: side ``FACE_SIDE`` of the width, centred on ``FACE_CENTRE``, inside the image."""
    side = min(round(FACE_SIDE * width), width, height)
    left = min(max(round(FACE_CENTRE[0] * width - side / 2), 0), width - side)
    top = min(max(round(FACE_CENTRE[1] * height - side / 2), 0), height - side)
    return left, top, left + side, top + side


def load_celeba(split="train", size=64, value_range=(0, 1), n=None, source="auto"):
    """Face images: ``(x, source)`` with x float32 (N, size, size, 3) in ``value_range`` and
    ``source`` the sentence that says which images they are (print or report it with the results).

    Each image is cropped to a square on the face (``face_box``) and resized to ``size`` x ``size``
    (Lanczos filter). ``source``:

    - ``"auto"``: the official ``img_align_celeba.zip`` if it is in a data folder, else the
      subset ``celeba-10k.zip`` if it is in one, else the official file is downloaded (about
      1.4 GB; its size is printed first; when the host refuses, the error says how to fetch it
      by hand and where to put it);
    - ``"official"`` (found or downloaded) or ``"celeba-10k"`` (local only): that file;
    - the path of a zip file or a folder of face images (``.jpg``, ``.jpeg``, ``.png``, in
      subfolders too), aligned like CelebA's for the crop to frame the face.

    Splits: the official images follow CelebA's own partition (train: images 1-162,770, test:
    182,638-202,599, the validation images between are not used); any other set, the subset
    included, is sorted by file name and its last tenth is the test split (the subset: train
    the first 9,000, test the last 1,000; the same person may appear in both, as the subset has
    no identity labels). ``n`` takes the first n images of the split (None: all).

    The decoded, cropped images of a source are cached once per ``size`` in the cache folder
    (``cache_dir() / "celeba"``, uint8): a later call reads them in seconds. The official set
    takes about 2.5 GB there at 64x64 and 10 GB in memory as float32 (pass ``n`` for fewer).
    Prints one line saying which images, which split and what shape.
    """
    _check_choice("split", split, ("train", "test"))
    _check_range(value_range)
    if n is not None and n < 0:
        raise ValueError(f"n={n} must be None (all images) or a count >= 0.")
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size={size!r} must be a whole number of pixels >= 8, e.g. 64 or 32.")
    path, description, key, official = _celeba_file(source)
    images, names = _decoded_faces(path, key, size)
    chosen, rule = _celeba_split(names, split, official)
    if n is not None and n > len(chosen):
        raise ValueError(f"n={n} but the {split} split of these images holds {len(chosen):,}.")
    x = _to_range(images[chosen[:n]], value_range)
    print(f"Data: {description}; {split} split ({rule}): {len(x):,} face crops of {size}x{size}, "
          f"values in [{value_range[0]}, {value_range[1]}]")
    return x, description


def _celeba_file(source):
    """The face images a run uses: ``(path, description, cache key, official)``, where
    ``official`` says whether CelebA's own partition applies."""
    if isinstance(source, str) and source in CELEBA_SOURCES:
        if source == "auto":
            source = "celeba-10k" if find("celeba", "images") is None and find("celeba-10k", "images") else "official"
        dataset = "celeba" if source == "official" else source
        path = verified(dataset, "images", fetch(dataset, "images"))
        md5 = _entry(dataset, "images").md5
        return (path, CELEBA_OFFICIAL if dataset == "celeba" else CELEBA_10K, f"{dataset}-{md5[:12]}",
                dataset == "celeba")
    path = Path(source).expanduser().resolve()
    if path.is_file():
        md5 = _md5_of(path)
        for dataset, description in (("celeba", CELEBA_OFFICIAL), ("celeba-10k", CELEBA_10K)):
            if md5 == _entry(dataset, "images").md5:  # a registered file under another name
                return path, description, f"{dataset}-{md5[:12]}", dataset == "celeba"
        return path, f"face images from {path.name}", f"local-{md5[:12]}", False
    if path.is_dir():
        listing = "\n".join(f"{p.relative_to(path)} {p.stat().st_size} {p.stat().st_mtime_ns}"
                            for p in _image_files(path))
        return path, f"face images in the folder {path.name}", \
            f"folder-{hashlib.md5(listing.encode()).hexdigest()[:12]}", False
    raise ValueError(f"source={source!r} is none of {', '.join(map(repr, CELEBA_SOURCES))}, and no zip file "
                     f"or folder of face images is at {path}.")


def _image_files(folder):
    """The image files under ``folder``, sorted by their path inside it."""
    return sorted((p for p in folder.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts)),
                  key=lambda p: p.relative_to(folder).as_posix())


def _decoded_faces(path, key, size):
    """uint8 face crops (N, size, size, 3) of every image in the zip or folder ``path`` and their
    names, decoded once and then read from the cache file of ``key`` and ``size``."""
    cached = cache_dir() / "celeba" / f"{key}-{size}px-crop{FACE_CROP_VERSION}.npz"
    if cached.exists():
        with np.load(cached) as stored:
            return stored["images"], stored["names"]
    if path.is_dir():
        members = _image_files(path)
        names = [p.relative_to(path).as_posix() for p in members]
        images = _decode_all(path, names, size, lambda i: members[i].read_bytes())
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                names = sorted(name for name in archive.namelist()
                               if name.lower().endswith(_IMAGE_SUFFIXES) and not name.startswith("__MACOSX/"))
                images = _decode_all(path, names, size, lambda i: archive.read(names[i]))
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise CorruptFileError(_damaged(path, f"it is not a complete zip file ({error})")) from error
    with files.atomic_write(cached, "wb") as f:
        np.savez(f, images=images, names=np.array(names))
    return images, np.array(names)


def _decode_all(path, names, size, read):
    """Crop and resize every image ``read(i)`` returns into one uint8 array, with a progress bar."""
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    if len(names) < 2:
        raise DataFileError(f"{path} holds {len(names)} face image(s) ({', '.join(_IMAGE_SUFFIXES)}); "
                            f"a train and a test split need at least 2.")
    print(f"Decoding {len(names):,} face images from {path.name} once (crop on the face, {size}x{size}); "
          f"they are cached in the data cache folder")
    images = np.empty((len(names), size, size, 3), np.uint8)
    for i in tqdm(range(len(names)), desc="faces", unit=" images", file=sys.stdout, mininterval=10):
        try:
            with Image.open(io.BytesIO(read(i))) as image:
                image = image.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise CorruptFileError(_damaged(path, f"{names[i]} in it is not a readable image ({error})")) from error
        box = face_box(*image.size)
        if size > box[2] - box[0]:
            raise ValueError(f"size={size} is larger than the face crop of {names[i]} ({box[2] - box[0]} "
                             f"pixels), so it would only be blown up: choose size <= {box[2] - box[0]}.")
        images[i] = np.asarray(image.resize((size, size), Image.Resampling.LANCZOS, box=box))
    return images


def _celeba_split(names, split, official):
    """Indices of ``split`` among the sorted image ``names``, and the rule that chose them."""
    if official:
        numbers = np.array([int(Path(str(name)).stem) for name in names])
        if split == "train":
            return np.flatnonzero(numbers <= _CELEBA_TRAIN_LAST), "CelebA's partition: images 1-162,770"
        return np.flatnonzero(numbers >= _CELEBA_TEST_FIRST), "CelebA's partition: images 182,638-202,599"
    n_test = max(1, round(FACES_TEST_SHARE * len(names)))
    n_train = len(names) - n_test
    if split == "train":
        return np.arange(n_train), f"the first {n_train:,} of {len(names):,} by file name"
    return np.arange(n_train, len(names)), f"the last {n_test:,} of {len(names):,} by file name"
