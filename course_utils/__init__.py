"""Helpers for the open course on generative deep learning.

Modules (each does one job):
    runmode      smoke run (tests, seconds) or full run (the real course); seeds
    accelerator  finds TPU / GPUs / CPU and returns a tf.distribute strategy
    data         dataset registry, checked downloads, loaders returning NumPy arrays
    svhn_standin a procedurally rendered, labelled stand-in for SVHN (offline use)
    plotting     image grids, loss curves, latent-space pictures, a sample-grid callback
    metrics      numbers that say how good a generative model is
    checks       the exercise checkers
    results      prints a run's numbers and records them for the README table
    exercises    regenerates exercises/ from solutions/
"""

__version__ = "0.1.0"
