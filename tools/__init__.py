"""The maintainers' tools: they build and measure the course; learners never import them.

Run from the repository root (the folder that holds ``tools/``):

    run_course     python -m tools.run_course     runs notebooks for real, records their results,
                                                  then regenerates the results_pages (--table-only: only that)
    results_pages  what is generated from the results files and stored notebooks: thumbnails, the
                   README's chapter table, solutions/results/README.md, each first cell's Time line
    benchmark      python -m tools.benchmark      times the course's GAN training code against a
                                                  reference implementation (--quality: Frechet distance
                                                  per training minute against the TF DCGAN tutorial's recipe)
    exercises      python -m tools.exercises      regenerates exercises/ from solutions/ (--check:
                                                  only says whether they are in sync)
    export         python -m tools.export         writes course_utils/chapters/chNN.py from the solution cells
                                                  tagged ``export`` (--check: only says whether they are in sync)
    notebook_code  imports a notebook's functions and classes without running it (for benchmark)
    colab          where the course is installed from on Colab: the notebooks' set-up cell and badge
    notebook_metadata  the kernelspec JupyterLab writes, so notebooks open without unsaved changes

``tools`` is not installed with ``course_utils`` (pyproject.toml lists only ``course_utils``), so
a learner's Colab runtime gets only what the notebooks import.
"""
