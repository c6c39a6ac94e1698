"""Helpers for the open course on generative deep learning: what the notebooks import.

Modules (each does one job):
    runmode      the run's settings: smoke or full run, what the course runner asks; seeds
    accelerator  finds TPU / GPUs / CPU, returns a tf.distribute strategy, picks the precision
    files        where the course's files live (repo, data and cache folders); atomic writes
    data         dataset registry, checked downloads, loaders returning NumPy arrays
    svhn_standin a procedurally rendered, labelled stand-in for SVHN (offline use)
    plotting     image grids, loss curves, latent-space pictures, sample-grid and quality-curve callbacks
    metrics      numbers that say how good a generative model is
    checks       the exercise checkers, one module per chapter
    results      prints a run's numbers and records them for the README table
    scoreboard   every MNIST generator of the course side by side, from the full runs' results
    checkpoints  saves training every epoch and resumes it after a disconnect
    progress     a progress bar over training epochs with the latest losses
    budget       training on a time budget: fit stops before an epoch that would overrun it
    chapters     code a later chapter reuses, generated from the solution notebooks' ``export`` cells
    mnist_gan    chapter 04's GAN, trained and cached for chapters that use a generator
    toy2d        a ring of 2-D Gaussians and how many of its modes a generator covers
    errors       the course's own errors, shown in notebooks as their message alone

The maintainers' tools (runner, benchmark, exercise generator) live in ``tools/`` beside it.
"""

__version__ = "0.1.0"
