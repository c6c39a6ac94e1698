"""The course's errors show in IPython (Jupyter, Colab) as their message alone; %tb gives the rest."""

import subprocess
import sys
import textwrap

import pytest

from course_utils import data
from course_utils.checks import CheckFailed
from course_utils.errors import FULL_TRACEBACK_HINT, CourseError


def _raised(error):
    """``error`` after it was raised and caught, so that it carries a traceback."""
    try:
        raise error
    except CourseError as caught:
        return caught


def test_a_failed_check_renders_as_its_verdict_and_the_hint():
    lines = _raised(CheckFailed("your KL term has the wrong sign"))._render_traceback_()
    assert len(lines) == 2
    assert "Check failed:" in lines[0] and "your KL term has the wrong sign" in lines[0]
    assert lines[1] == FULL_TRACEBACK_HINT and "%tb" in lines[1]


def test_data_errors_render_short_and_stay_os_errors():
    error = _raised(data.DownloadError("Could not download f.bin.\nPut it in this folder: ..."))
    assert isinstance(error, OSError), "code that catches OSError around a download must keep working"
    lines = error._render_traceback_()
    assert len(lines) == 2 and lines[0].count("DownloadError:") == 1
    assert "Could not download f.bin.\nPut it in this folder" in lines[0]


def test_showing_the_same_error_again_gives_the_full_traceback():
    error = _raised(CheckFailed("wrong sign"))
    error._render_traceback_()
    again = "".join(error._render_traceback_())
    assert "Traceback" in again and "_raised" in again and "CheckFailed: wrong sign" in again


_SESSION = textwrap.dedent("""
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="NoColor")
    shell.run_cell('''
    from course_utils.checks import CheckFailed
    def check():
        raise CheckFailed("your KL term has the wrong sign")
    check()
    ''')
    print("=== %tb ===")
    shell.run_cell("%tb")
""")


def test_in_ipython_a_failed_check_shows_two_lines_and_tb_shows_the_traceback():
    result = subprocess.run([sys.executable, "-c", _SESSION], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    short, full = result.stdout.split("=== %tb ===")
    assert short.strip().splitlines() == [
        "\x1b[1;31mCheck failed:\x1b[0m \x1b[31myour KL term has the wrong sign\x1b[0m", FULL_TRACEBACK_HINT]
    assert "Traceback" in full and "----> 4 check()" in full


@pytest.mark.parametrize("error_class", [CheckFailed, data.DataFileError, data.ChecksumError])
def test_the_course_errors_share_one_rendering(error_class):
    assert issubclass(error_class, CourseError)
