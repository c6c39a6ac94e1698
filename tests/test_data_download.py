"""The downloader and the data folders of course_utils.data, against a real local HTTP server.

The server runs on 127.0.0.1 in a thread of the test process; no test reaches the internet or
writes outside pytest's temporary folders.
"""

import hashlib
import http.server
import socket
import threading

import pytest

from course_utils import data, files

PAYLOAD = b"generative course test file\n" * 1000
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good.bin: the payload; /truncated.bin: announces more bytes than it sends; else 404."""

    def do_GET(self):
        if self.path == "/good.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/truncated.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True  # the connection drops mid-transfer
        else:
            self.send_error(404)

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server():
    """Base URL of an HTTP server on an ephemeral port of 127.0.0.1."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """Isolated data folders: COURSE_DATA_DIR, a repo data/ and a user cache, all temporary."""
    paths = {name: tmp_path / name for name in ("course", "repo", "user")}
    paths["repo"].mkdir()
    monkeypatch.setenv(files.DATA_DIR_VARIABLE, str(paths["course"]))
    monkeypatch.setattr(files, "REPO_DATA_DIR", paths["repo"])
    monkeypatch.setattr(files, "USER_CACHE_DIR", paths["user"])
    return paths


def _closed_port():
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_good_file_lands_and_verifies(server, tmp_path):
    dest = tmp_path / "dl" / "good.bin"
    assert data.download(f"{server}/good.bin", dest, PAYLOAD_MD5) == dest
    assert dest.read_bytes() == PAYLOAD
    assert _files(dest.parent) == ["good.bin"]  # no temporary file left beside it


def test_wrong_checksum_is_clear_and_leaves_nothing(server, tmp_path):
    dest = tmp_path / "dl" / "good.bin"
    wrong = "0" * 32
    with pytest.raises(data.ChecksumError) as caught:
        data.download(f"{server}/good.bin", dest, wrong)
    message = str(caught.value)
    assert f"expected md5 {wrong}" in message and f"got md5 {PAYLOAD_MD5}" in message
    assert _files(dest.parent) == []


@pytest.mark.parametrize("kind", ["404", "connection refused"])
def test_unreachable_url_names_file_url_and_folder(server, tmp_path, kind):
    url = f"{server}/missing.bin" if kind == "404" else f"http://127.0.0.1:{_closed_port()}/x.bin"
    dest = tmp_path / "dl" / "x.bin"
    with pytest.raises(data.DownloadError) as caught:
        data.download(url, dest, PAYLOAD_MD5)
    assert isinstance(caught.value, OSError)
    message = str(caught.value)
    assert "x.bin" in message and url in message and str(dest.parent) in message
    assert "404" in message if kind == "404" else "refused" in message.lower()
    assert _files(dest.parent) == []


@pytest.mark.parametrize("md5", [PAYLOAD_MD5, None])
def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path, md5):
    dest = tmp_path / "dl" / "truncated.bin"
    with pytest.raises(data.DownloadError) as caught:
        data.download(f"{server}/truncated.bin", dest, md5)
    if md5 is None:  # caught by the Content-Length check alone
        assert f"of {len(PAYLOAD):,} bytes" in str(caught.value)
    assert _files(dest.parent) == []


def test_exception_during_transfer_leaves_nothing(server, tmp_path, monkeypatch):
    class ExplodingHash:
        def update(self, chunk):
            raise KeyboardInterrupt  # as if the learner pressed Ctrl-C mid-download

    monkeypatch.setattr(data.hashlib, "md5", ExplodingHash)
    dest = tmp_path / "dl" / "good.bin"
    with pytest.raises(KeyboardInterrupt):
        data.download(f"{server}/good.bin", dest, PAYLOAD_MD5)
    assert _files(dest.parent) == []


def test_mirror_fallback(server, tmp_path):
    dest = tmp_path / "dl" / "good.bin"
    data.download([f"{server}/missing.bin", f"{server}/good.bin"], dest, PAYLOAD_MD5)
    assert dest.read_bytes() == PAYLOAD


def _point_registry_at(monkeypatch, dataset, key, url, md5):
    files = dict(data.REGISTRY[dataset].files)
    files[key] = data.DataFile(files[key].path, md5, (url,))
    monkeypatch.setitem(data.REGISTRY, dataset, data.Dataset(
        data.REGISTRY[dataset].title, files, data.REGISTRY[dataset].licence, data.REGISTRY[dataset].source))


def test_fetch_downloads_into_first_writable_folder(server, folders, monkeypatch):
    folders["course"].mkdir()
    folders["course"].chmod(0o555)  # read-only, like the shared data folder
    _point_registry_at(monkeypatch, "text", "nietzsche", f"{server}/good.bin", PAYLOAD_MD5)
    try:
        assert data.find("text", "nietzsche") is None
        path = data.fetch("text", "nietzsche")
        assert path == folders["repo"] / "text" / "nietzsche.txt"
        assert data.load_text("nietzsche") == PAYLOAD.decode()
        assert _files(folders["course"]) == []
        assert data.cache_dir() == folders["repo"] / "cache" and data.cache_dir().is_dir()
    finally:
        folders["course"].chmod(0o755)


def test_fetch_offline_says_where_to_put_the_file(folders, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/input.txt"
    _point_registry_at(monkeypatch, "text", "tinyshakespeare", url, PAYLOAD_MD5)
    with pytest.raises(data.DownloadError) as caught:
        data.load_text("tinyshakespeare")
    message = str(caught.value)
    assert "tinyshakespeare.txt" in message and url in message
    assert str(folders["course"] / "text") in message


def test_search_order_and_first_folder_wins(folders):
    assert data.data_dirs() == [folders["course"], folders["repo"], folders["user"]]
    for name in ("user", "repo"):
        (folders[name] / "text").mkdir(parents=True)
        (folders[name] / "text" / "nietzsche.txt").write_text(name)
    assert data.load_text("nietzsche") == "repo"
    (folders["course"] / "text").mkdir(parents=True)
    (folders["course"] / "text" / "nietzsche.txt").write_text("course")
    assert data.find("text", "nietzsche") == folders["course"] / "text" / "nietzsche.txt"


def test_repo_data_folder_is_skipped_when_missing(folders, monkeypatch):
    monkeypatch.setattr(files, "REPO_DATA_DIR", folders["repo"] / "absent")
    monkeypatch.delenv(files.DATA_DIR_VARIABLE)
    assert data.data_dirs() == [folders["user"]]
    assert data.cache_dir() == folders["user"] / "cache"


def test_local_only_file_says_where_to_get_it(folders):
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load_svhn_sample()
    message = str(caught.value)
    assert "svhn-sample/train_first_1083_images_nolabels.npy" in message
    assert "fetch('svhn', 'train')" in message  # the way to get the sample's source
    assert str(folders["course"]) in message


def test_no_writable_folder_is_a_clear_error(folders, monkeypatch):
    monkeypatch.setattr(files, "_is_writable", lambda folder: False)
    with pytest.raises(files.NoWritableFolderError, match=files.DATA_DIR_VARIABLE) as caught:
        data.cache_dir()
    assert isinstance(caught.value, OSError) and str(folders["user"]) in str(caught.value)


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_write(path) as f:
            f.write("half of the new")
            raise RuntimeError("the run died")
    assert path.read_text() == "old" and _files(tmp_path) == ["results.json"]
    with files.atomic_write(path) as f:
        f.write("new")
    assert path.read_text() == "new" and _files(tmp_path) == ["results.json"]


def test_registry_paths_match_the_shared_layout():
    paths = {f.path for dataset in data.REGISTRY.values() for f in dataset.files.values()}
    assert {"mnist/train-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz",
            "svhn/train_32x32.mat", "text/tinyshakespeare.txt", "text/nietzsche.txt",
            "svhn-sample/train_first_1083_images_nolabels.npy", "celeba/img_align_celeba.zip",
            "celeba-10k.zip"} <= paths
    for dataset in data.REGISTRY.values():
        for f in dataset.files.values():
            assert len(f.md5) == 32 and all(url.startswith("http") for url in f.urls)
    assert len(data.REGISTRY["mnist"].files["train_images"].urls) >= 2  # official + mirror
