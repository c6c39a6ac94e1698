"""Test-suite settings shared by `pytest` and `pytest --nbval solutions`.

Environment variables set here reach the notebook kernels that nbval starts:
* COURSE_MODE=smoke: notebooks train for a few steps (set COURSE_MODE=full to check a full run);
* TF_CPP_MIN_LOG_LEVEL=3: TensorFlow's C++ start-up log stays quiet.
TensorFlow writes its log lines to stderr only in some kernels (not under pytest), so
stderr is never compared; stdout and rich outputs of untagged cells are.
"""

import os

os.environ.setdefault("COURSE_MODE", "smoke")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(items):
    for item in items:
        notebook = item.parent
        skip = getattr(notebook, "skip_compare", None)
        if skip is not None and "stderr" not in skip:
            notebook.skip_compare = tuple(skip) + ("stderr",)
