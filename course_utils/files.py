"""Where the course keeps its files, and how it writes them.

- ``REPO_ROOT``: the checkout this package lies in (``solutions/``, ``data/``, ``README.md`` ...).
- Data folders, searched in this order (a file is used from the first folder that has it):
  1. the folder in the environment variable ``COURSE_DATA_DIR``, if set;
  2. the repository's ``data/`` folder (next to ``course_utils/``), if it exists;
  3. a user cache, ``~/.cache/generative-course``.
  ``data_dirs()`` lists them; downloads go to ``writable_dir()``, the first writable one, and
  artefacts the course builds (stand-in images, helper models, checkpoints) to ``cache_dir()``.
- ``atomic_write(path)``: a file appears whole or not at all, even if the run dies mid-write.
"""

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from course_utils.errors import CourseError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_VARIABLE = "COURSE_DATA_DIR"
REPO_DATA_DIR = REPO_ROOT / "data"
USER_CACHE_DIR = Path.home() / ".cache" / "generative-course"


class NoWritableFolderError(CourseError, PermissionError):
    """No data folder can be written to, so nothing can be downloaded or cached."""


def data_dirs():
    """The data folders in search order: ``COURSE_DATA_DIR``, the repo's ``data/``, the user cache."""
    folders = []
    if os.environ.get(DATA_DIR_VARIABLE):
        folders.append(Path(os.environ[DATA_DIR_VARIABLE]).expanduser().resolve())
    if REPO_DATA_DIR.is_dir():
        folders.append(REPO_DATA_DIR)
    folders.append(USER_CACHE_DIR)
    return list(dict.fromkeys(folders))  # without repeats, in order


def _is_writable(folder):
    """True if we may write into ``folder`` (created if missing).

    A folder without any write permission bit counts as read-only even for root (who could
    write anyway), so a shared read-only copy of the data is never written to.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & write_bits)


def writable_dir():
    """The first writable data folder: downloads go here."""
    for folder in data_dirs():
        if _is_writable(folder):
            return folder
    raise NoWritableFolderError(
        f"None of the data folders is writable: {', '.join(map(str, data_dirs()))}. "
        f"Set {DATA_DIR_VARIABLE} to a folder you can write to."
    )


def cache_dir():
    """A writable folder for cached artefacts (trained helper models, stand-in images); created."""
    folder = writable_dir() / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``. If the ``with`` block raises (a failed check,
    Ctrl-C), the temporary file is removed and ``path`` is left as it was. The temporary name is
    unique, so two runs writing the same file never mix their bytes::

        with files.atomic_write(path) as f:
            f.write(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(handle, mode, encoding=encoding) as file:
            yield file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
