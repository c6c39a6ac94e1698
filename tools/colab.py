"""The one place that says where the course lives, for Colab.

Every notebook starts with the same setup cell (``SETUP_CELL``): on Colab it installs
``course_utils`` from the course repository; anywhere else it does nothing, because
``pip install -r requirements.txt`` already installed it. A test checks that every notebook
starts with exactly this cell and that its Colab badge points at the notebook itself.
A fork changes ``REPOSITORY`` here and runs ``python -m tools.exercises --fix-colab``.
"""

REPOSITORY = "generative-dl-course/course"
BRANCH = "main"

SETUP_CELL = f"""\
# Setup: on Colab, install the course helpers; elsewhere this cell does nothing.
import sys
if "google.colab" in sys.modules:
    %pip install -q "course_utils @ git+https://github.com/{REPOSITORY}@{BRANCH}"\
"""


def badge_url(notebook_path):
    """Colab link for a notebook given by its path inside the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{notebook_path}"


def badge_markdown(notebook_path):
    """The 'Open in Colab' badge, as Markdown, for a notebook path inside the repository."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({badge_url(notebook_path)})"
    )
