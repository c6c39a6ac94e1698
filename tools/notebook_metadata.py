"""Notebook metadata that JupyterLab keeps as it is, so a notebook opens without unsaved changes.

When JupyterLab starts a notebook's kernel, it writes that kernel's ``kernelspec`` (name, display
name, language) and the ``language_info`` the kernel reports into the notebook's metadata. Any
difference from what the file stores marks the notebook as modified (the dot on its tab) before
the learner has done anything. ipykernel's default kernel is displayed as "Python 3 (ipykernel)";
notebooks written by hand or with nbformat said "Python 3", so they opened modified.

``language_info`` is written by the kernel that last ran a solution (the runner's), and exercises
copy it. It names that Python's version, so under another Python version JupyterLab still marks
a notebook modified: the file cannot avoid that.
"""

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalize(notebook):
    """Give ``notebook`` the kernelspec of ipykernel's default kernel (in place) and return it."""
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook
