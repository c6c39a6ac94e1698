"""The shared skip of tests/conftest.py: a test marked ``needs_data`` skips, never fails, without its data."""

from pathlib import Path

import pytest

from course_utils import data

pytest_plugins = ["pytester"]

_TESTS = Path(__file__).resolve().parent


def _run_marked_test(pytester):
    pytester.makeconftest((_TESTS / "conftest.py").read_text())
    pytester.makepyfile("""
        import pytest
        from course_utils import data

        @pytest.mark.needs_data("mnist")
        def test_uses_mnist():
            data.load_mnist("test")
    """)
    return pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")


def test_a_marked_test_skips_naming_the_variable_and_the_readme_when_the_files_are_missing(pytester, monkeypatch):
    monkeypatch.setattr(data, "find", lambda dataset, key: None)
    monkeypatch.setattr(data, "fetch", lambda dataset, key: pytest.fail("the test must not try to download"))
    result = _run_marked_test(pytester)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs MNIST*is in no data folder*set COURSE_DATA_DIR*see data/README.md*"])


def test_a_marked_test_runs_when_the_files_are_there(pytester, monkeypatch):
    monkeypatch.setattr(data, "find", lambda dataset, key: Path("somewhere") / key)
    monkeypatch.setattr(data, "load_mnist", lambda split: None)
    _run_marked_test(pytester).assert_outcomes(passed=1)
