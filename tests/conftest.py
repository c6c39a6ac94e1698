"""Shared by the tests in tests/: a test that needs a real dataset skips, the same way everywhere,
when the dataset is in no data folder; and the fixture ``printed_lines`` reads what a progress bar drew.

Mark such a test ``@pytest.mark.needs_data("mnist")`` (a name from ``course_utils.data.REGISTRY``).
Without the files, the test skips with a message naming ``COURSE_DATA_DIR`` and
``data/README.md`` instead of failing on a download that cannot work offline.
"""

import pytest

from course_utils import data


def missing_data_message(dataset):
    """The skip message for ``dataset``, or None when every file of it is in a data folder."""
    missing = [entry.path for key, entry in data.REGISTRY[dataset].files.items() if data.find(dataset, key) is None]
    if not missing:
        return None
    return (f"needs {data.REGISTRY[dataset].title}, but {', '.join(missing)} is in no data folder (and a test "
            f"never downloads): set COURSE_DATA_DIR to a folder that holds the datasets (see data/README.md)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_data(*datasets): skip unless every file of these datasets is in a data folder")


@pytest.hookimpl(tryfirst=True)  # before any fixture of the test is set up
def pytest_runtest_setup(item):
    for marker in item.iter_markers("needs_data"):
        for dataset in marker.args:
            message = missing_data_message(dataset)
            if message:
                pytest.skip(message)


@pytest.fixture
def printed_lines(capsys):
    """A function that returns the non-blank lines printed so far, a progress bar's redraws (``\\r``) each a line."""
    return lambda: [line for line in capsys.readouterr().out.replace("\n", "\r").split("\r") if line.strip()]
