"""As learners really run it: JupyterLab in headless Chromium runs whole notebooks.

``python -m pytest`` runs it with everything else; alone: ``python -m pytest tests/test_browser.py``. It
needs Chromium at ``/usr/bin/chromium`` (Debian: ``apt-get install chromium``) and Playwright for
Python (``pip install playwright``; no ``playwright install``: the system Chromium is used).
``.ci/run`` installs both; without them these tests skip and say which one is missing.

How it works: a JupyterLab server from this Python environment serves a temporary COPY of
``notebooks/``, ``solutions/`` and ``exercises/`` (the repository is never written to), with its
own token, port, runtime and settings folders. Its kernels run in smoke mode
(``COURSE_MODE=smoke``) and read the data from ``COURSE_DATA_DIR`` like the notebook tests.
Chromium opens a notebook, clicks Run > Run All Cells, waits until the kernel is idle and no cell
shows ``[*]``, saves the notebook (into the copy) and checks the saved outputs and the page.
Screenshots land in ``artifacts/browser/`` (git-ignored).
"""

import base64
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tools.exercises import EXERCISE_MESSAGE, PLACEHOLDER

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NOTEBOOK_FOLDERS = ("notebooks", "solutions", "exercises")
START_HERE = "notebooks/00_start_here.ipynb"
EXERCISE = "exercises/01_autoencoders.ipynb"
WIDGET_SOLUTION = "solutions/03_variational_autoencoders.ipynb"
WIDGET_ERRORS = ("Error displaying widget", "model not found")
# One notebook in smoke mode takes well under a minute on a quiet 2-core CPU; the margin is for a
# machine shared with other work (measured: 92 s for chapter 03 at a load average of 12).
RUN_TIMEOUT_S = 300

# JupyterLab settings for the test server: every cell stays in the page (no virtual scrolling,
# so every prompt and output can be inspected), and no news or update checks (no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False,
    },
}


# ---------------------------------------------------------------------------------------------
# The JupyterLab server and the browser
# ---------------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_notebooks(root):
    """Copy the course's notebook folders (notebooks only) into ``root``."""
    for folder in NOTEBOOK_FOLDERS:
        (root / folder).mkdir(parents=True)
        for path in sorted((REPO / folder).glob("*.ipynb")):
            shutil.copy2(path, root / folder / path.name)


class LabServer:
    """A JupyterLab server on 127.0.0.1 serving ``root``, with its Jupyter folders in ``home``."""

    def __init__(self, root, home, log_path):
        self.root, self.port, self.token = Path(root), _free_port(), os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        config = Path(home) / "config"
        for name, values in LAB_SETTINGS.items():
            path = config / "lab" / "user-settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        # Kernels inherit this environment: smoke mode, and COURSE_DATA_DIR as it is set. Jupyter's own
        # folders are temporary, so the default "python3" kernel is this Python, not a user's kernelspec.
        env = dict(os.environ, COURSE_MODE="smoke", JUPYTER_CONFIG_DIR=str(config),
                   JUPYTER_DATA_DIR=str(Path(home) / "data"), JUPYTER_RUNTIME_DIR=str(Path(home) / "runtime"),
                   IPYTHONDIR=str(Path(home) / "ipython"))
        # A learner's kernel has none of these: conftest.py quiets TensorFlow and draws with Agg for
        # nbval, and ipykernel treats a kernel under pytest differently (it leaves TensorFlow's C++
        # log lines out of the cells, where learners see them).
        for name in ("MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST"):
            env.pop(name, None)
        command = [
            sys.executable, "-m", "jupyter", "lab",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={config / 'lab' / 'user-settings'}",
            f"--LabApp.workspaces_dir={config / 'lab' / 'workspaces'}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if os.geteuid() == 0:  # CI containers run as root
            command.append("--ServerApp.allow_root=True")
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_up(self, timeout_s=90):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.5)
        exited = self.process.poll()
        self.stop()
        why = f"exited with code {exited}" if exited is not None else f"did not answer within {timeout_s} s"
        pytest.fail(f"JupyterLab {why}; the end of its log ({self.log_path}):\n{self.log_path.read_text()[-3000:]}")

    def kernels_cpu_seconds(self):
        """CPU seconds used so far by the server's child processes (its kernels), read from /proc.

        Printed next to the wall times: on a machine shared with other work the wall time of a
        run says little, its CPU time says what the notebooks cost.
        """
        total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid:  # parent pid; then utime and stime in ticks
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def shut_down_kernels(self):
        """Free the two CPU cores for the next notebook."""
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def sync_playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium); .ci/run does")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install playwright "
                    "(no `playwright install`: the system Chromium is used); .ci/run does")
    return sync_playwright


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    root = tmp_path_factory.mktemp("course")
    copy_notebooks(root)
    server = LabServer(root, tmp_path_factory.mktemp("jupyter"), ARTIFACTS / "jupyterlab.log")
    server.wait_until_up()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(sync_playwright, lab):
    """One Chromium context for the module: JupyterLab's scripts load from its cache after the first page."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        yield context
        context.close()
        chromium.close()


@pytest.fixture
def open_notebook(browser, lab):
    """Open a notebook (path relative to the course root) in a new JupyterLab page; wait for its kernel."""
    pages = []

    def _open(path):
        start = time.monotonic()
        page = browser.new_page()
        pages.append(page)
        page.set_default_timeout(30_000)
        page.goto(f"{lab.url}/lab/workspaces/{Path(path).stem}/tree/{path}?reset&token={lab.token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        wait_for_kernel_idle(page, timeout_s=60)
        print(f"opening {path} took {time.monotonic() - start:.0f} s")
        return page

    yield _open
    print(f"its kernel used {lab.kernels_cpu_seconds():.0f} CPU seconds")
    for page in pages:
        page.close()
    lab.shut_down_kernels()


# ---------------------------------------------------------------------------------------------
# What a learner does in the page
# ---------------------------------------------------------------------------------------------

_EXECUTION_STATE = """() => {
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-InputArea-prompt')]
        .map(e => e.textContent);
    const kernel = [...document.querySelectorAll('.jp-StatusBar-TextItem')]
        .map(e => e.textContent).find(t => / \\| [A-Z][a-z]+$/.test(t));
    return {running: prompts.filter(t => t.includes('*')).length,
            kernel: kernel || null};
}"""


def wait_for_kernel_idle(page, timeout_s):
    """Wait until the status bar says the kernel is idle and no cell shows [*].

    Twice in a row, one second apart: a run of cells passes through idle between two cells.
    """
    deadline, settled = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        state = page.evaluate(_EXECUTION_STATE)
        idle = (state["kernel"] or "").endswith("| Idle") and not state["kernel"].startswith("No Kernel")
        settled = settled + 1 if (idle and not state["running"]) else 0
        if settled >= 2:
            return
        page.wait_for_timeout(1000)
    raise AssertionError(f"the kernel was not idle after {timeout_s} s (status bar: {state['kernel']!r}, "
                         f"cells showing [*]: {state['running']})")


def click_menu(page, menu, entry):
    """Click a top menu and one of its entries, by the words a learner reads ("Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text(menu, exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text(entry, exact=True).click()


def screenshot_notebook(page, name, max_height=16_000):
    """Screenshot the whole notebook: the window is made as tall as the notebook for a moment."""
    viewport = page.viewport_size
    height = page.evaluate("""() => {
        const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
        scroller.scrollTop = 0;
        return scroller.scrollHeight;
    }""")
    page.set_viewport_size({"width": viewport["width"], "height": min(height + 200, max_height)})
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / name)
    page.set_viewport_size(viewport)


def run_all_cells(page, screenshot_name):
    """Run > Run All Cells, wait until it is done, screenshot the whole notebook."""
    start = time.monotonic()
    click_menu(page, "Run", "Run All Cells")
    wait_for_kernel_idle(page, timeout_s=RUN_TIMEOUT_S)
    print(f"Run All Cells took {time.monotonic() - start:.0f} s")
    screenshot_notebook(page, screenshot_name)


def save_and_read(page, lab, path):
    """File > Save Notebook, then read the saved copy back as JSON (outputs as the page has them)."""
    saved = lab.root / path
    before = saved.stat().st_mtime_ns
    click_menu(page, "File", "Save Notebook")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if saved.stat().st_mtime_ns != before:
            try:
                return json.loads(saved.read_text())
            except json.JSONDecodeError:
                pass  # caught mid-write
        time.sleep(0.3)
    raise AssertionError(f"{path} was not saved within 30 s")


def errors_in(notebook):
    """(cell index, ename, evalue) of every error output in a saved notebook."""
    return [(index, output["ename"], output["evalue"])
            for index, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
            for output in cell.get("outputs", []) if output["output_type"] == "error"]


def assert_runs_cleanly(page, lab, path):
    """Every code cell ran, no cell shows an error, no widget failed to display."""
    notebook = save_and_read(page, lab, path)
    assert not errors_in(notebook), f"{path}: error outputs (cell index, name, message): {errors_in(notebook)}"
    not_run = [index for index, cell in enumerate(notebook["cells"])
               if cell["cell_type"] == "code" and cell["execution_count"] is None]
    assert not not_run, f"{path}: code cells (index) that Run All did not run: {not_run}"
    text = page.locator(".jp-NotebookPanel").inner_text()
    for message in WIDGET_ERRORS:
        assert message not in text, f"{path}: the page shows {message!r}"


# ---------------------------------------------------------------------------------------------
# Widgets: a slider moved with the keyboard must change the picture next to it
# ---------------------------------------------------------------------------------------------

_SLIDER_OUTPUTS = ".jp-OutputArea-output:has(.widget-slider)"

_IMAGE_BYTES = """async (area) => {
    const out = [];
    for (const img of area.querySelectorAll('img')) {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let binary = '';
        for (const b of bytes) binary += String.fromCharCode(b);
        out.push(btoa(binary));
    }
    return out;
}"""


def image_digests(area):
    """SHA-256 of the bytes of every image shown in an output area (as the page has them)."""
    return [hashlib.sha256(base64.b64decode(data)).hexdigest() for data in area.evaluate(_IMAGE_BYTES)]


def _readout(area):
    """The value shown next to the area's first slider (None when it shows none)."""
    readout = area.locator(".widget-readout").first
    return readout.inner_text() if readout.count() else None


def check_slider_changes_image(page, area, screenshot_stem, presses=5, timeout_s=30):
    """Focus the area's first slider, press the right arrow, wait until an image in the area changes."""
    area.scroll_into_view_if_needed()
    before = image_digests(area)
    assert before, f"{screenshot_stem}: the widget shows no image in the output of its slider"
    area.screenshot(path=ARTIFACTS / f"{screenshot_stem}_before.png")
    value_before = _readout(area)
    handle = area.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")
    deadline, changed = time.monotonic() + timeout_s, False
    while not changed and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        changed = image_digests(area) not in (before, [])
    area.screenshot(path=ARTIFACTS / f"{screenshot_stem}_after.png")
    assert changed, (f"{screenshot_stem}: moving the first slider ({presses} x ArrowRight, readout "
                     f"{value_before} -> {_readout(area)}) did not change the image within {timeout_s} s")


def check_widget_explorers(page, path, require):
    """Every output holding a slider must answer it with a new image."""
    areas = page.locator(_SLIDER_OUTPUTS)
    if require:
        assert areas.count(), f"{path}: no slider widget is rendered after Run All"
    for number in range(areas.count()):
        check_slider_changes_image(page, areas.nth(number), f"{Path(path).stem}_widget{number + 1}")


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------

def _require(lab, path):
    if not (lab.root / path).exists():
        pytest.fail(f"{path} does not exist in the repository; the browser test runs it as a learner would")


@pytest.mark.needs_data("mnist")
def test_start_here_runs_without_errors(open_notebook, lab):
    _require(lab, START_HERE)
    page = open_notebook(START_HERE)
    run_all_cells(page, "00_start_here.png")
    assert_runs_cleanly(page, lab, START_HERE)
    check_widget_explorers(page, START_HERE, require=False)


@pytest.mark.needs_data("mnist")
def test_exercise_stops_at_its_first_exercise_with_the_course_message(open_notebook, lab):
    _require(lab, EXERCISE)
    page = open_notebook(EXERCISE)
    run_all_cells(page, "01_exercise.png")
    notebook = save_and_read(page, lab, EXERCISE)
    code = [index for index, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
    first_exercise = next(index for index in code if PLACEHOLDER[0] in "".join(notebook["cells"][index]["source"]))
    check_cell = code[code.index(first_exercise) + 1]
    errors = errors_in(notebook)
    assert errors and errors[0][1:] == ("NotImplementedError", EXERCISE_MESSAGE), (
        f"{EXERCISE}: Run All should stop at the first exercise with the course's message; errors: {errors}")
    stop = errors[0][0]
    assert stop in (first_exercise, check_cell), (
        f"{EXERCISE}: the first error is in cell index {stop}, not in the first exercise (cell index "
        f"{first_exercise}) or its check cell (cell index {check_cell})")
    assert len(errors) == 1, f"{EXERCISE}: more than one error after Run All: {errors}"
    for index in code:
        ran = notebook["cells"][index]["execution_count"] is not None
        assert ran == (index <= stop), (
            f"{EXERCISE}, cell index {index}: Run All should run every cell up to cell index {stop} "
            f"and stop there")
    cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(stop)
    cell.scroll_into_view_if_needed()
    cell.screenshot(path=ARTIFACTS / "01_exercise_first_error.png")
    assert f"NotImplementedError: {EXERCISE_MESSAGE}" in cell.inner_text()


@pytest.mark.needs_data("mnist")
def test_solution_runs_and_its_widget_explorer_responds(open_notebook, lab):
    _require(lab, WIDGET_SOLUTION)
    page = open_notebook(WIDGET_SOLUTION)
    opened = page.locator(".jp-NotebookPanel").inner_text()
    for message in WIDGET_ERRORS:
        assert message not in opened, (
            f"{WIDGET_SOLUTION} shows {message!r} when opened: store the widget state with its outputs")
    run_all_cells(page, "03_solution.png")
    assert_runs_cleanly(page, lab, WIDGET_SOLUTION)
    check_widget_explorers(page, WIDGET_SOLUTION, require=True)


# ---------------------------------------------------------------------------------------------
# A notebook opens unmodified: no unsaved-changes dot before the learner does anything
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [START_HERE, EXERCISE, WIDGET_SOLUTION])
def test_notebook_opens_unmodified(open_notebook, lab, path):
    """JupyterLab rewrites kernelspec and language_info when the kernel starts (tools/notebook_metadata.py)."""
    _require(lab, path)
    stored = nbformat.read(lab.root / path, as_version=4).metadata.get("language_info", {}).get("version")
    if stored != platform.python_version():
        pytest.skip(f"{path} stores language_info of Python {stored}, this is {platform.python_version()}: "
                    f"JupyterLab marks it modified for that alone")
    page = open_notebook(path)  # returns once the kernel is idle, after JupyterLab updated the metadata
    page.wait_for_timeout(1000)
    dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").count()
    page.screenshot(path=ARTIFACTS / f"opened_{Path(path).stem}.png")
    assert dirty == 0, (f"{path} opens with unsaved changes before anything ran: its metadata differs from what "
                        f"JupyterLab writes (see tools/notebook_metadata.py)")


# ---------------------------------------------------------------------------------------------
# A failed check or download shows the course's short message, not a traceback
# ---------------------------------------------------------------------------------------------

# One cell each, as a learner would write it, and words its error output must show.
FAILING_CELLS = {
    "failed_check": (
        "from course_utils.checks import autoencoders\n\n"
        "def compression_ratio(image_shape, latent_dim):\n"
        "    return latent_dim / (image_shape[0] * image_shape[1] * image_shape[2])  # upside down\n\n"
        "autoencoders.check_compression_ratio(compression_ratio)",
        ("CheckFailed", ["Check failed:", "you divided the code size by the image size"]),
    ),
    "offline_download": (
        "from course_utils import data\n\n"
        "# What a download raises offline: every URL fails (this one refuses the connection).\n"
        "data.download('http://127.0.0.1:9/t10k-images-idx3-ubyte.gz', 'offline/t10k-images-idx3-ubyte.gz')",
        ("DownloadError", ["DownloadError:", "Could not download t10k-images-idx3-ubyte.gz", "put it in this folder"]),
    ),
}
MAX_ERROR_LINES = 10  # the download's message has 7 lines; a traceback into course_utils had 20 to 35


@pytest.mark.parametrize("case", sorted(FAILING_CELLS))
def test_a_course_error_shows_its_message_not_a_traceback(open_notebook, lab, case):
    source, (ename, words) = FAILING_CELLS[case]
    path = f"{case}.ipynb"
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)], metadata=kernel)
    nbformat.write(notebook, lab.root / path)
    page = open_notebook(path)
    run_all_cells(page, f"{case}.png")
    [(_, shown_ename, _)] = errors_in(save_and_read(page, lab, path))
    assert shown_ename == ename
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
    cell.screenshot(path=ARTIFACTS / f"{case}_cell.png")
    error = cell.locator(".jp-OutputArea-output").last.inner_text()  # the error comes after any log lines
    for word in words + ["%tb"]:
        assert word in error, f"{case}: the error output does not show {word!r}:\n{error}"
    for word in ("Traceback", "course_utils/", "----> "):
        assert word not in error, f"{case}: the error output shows a traceback ({word!r}):\n{error}"
    lines = error.strip().splitlines()
    assert len(lines) <= MAX_ERROR_LINES, f"{case}: the error output has {len(lines)} lines:\n{error}"
