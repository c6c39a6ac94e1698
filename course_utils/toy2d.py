"""A 2-D toy for GANs: a ring of Gaussians, and how many of its modes a generator covers.

The ring (used by Metz et al. 2017, "Unrolled GANs", and Gulrajani et al. 2017, "Improved
Training of Wasserstein GANs") is a mixture of ``n_modes`` small Gaussians whose centres sit
evenly on a circle. A generator that has *collapsed* puts all its samples on one or a few of them.
Following Srivastava et al. (2017, "VEEGAN"), a sample is *high quality* when it lies within
three standard deviations of its nearest mode, and a mode is *covered* when it receives enough of
those samples (``COVERAGE_SHARE`` of its fair share, the same rule as ``metrics.class_coverage``).
Everything here is NumPy and runs in milliseconds.
"""

import matplotlib.pyplot as plt
import numpy as np

N_MODES = 8
RADIUS = 2.0
STD = 0.05
COVERAGE_SHARE = 0.1
"""A mode counts as covered when it gets at least this fraction of its fair share 1/n_modes of
all samples (as high-quality samples): for 8 modes, at least 1.25% of the samples."""


def mode_centres(n_modes=N_MODES, radius=RADIUS):
    """Centres of the ring's modes, shape (n_modes, 2), the first one at angle 0."""
    if n_modes < 1:
        raise ValueError(f"the ring needs at least one mode; got n_modes={n_modes}.")
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def sample_ring(n, n_modes=N_MODES, radius=RADIUS, std=STD, seed=None):
    """``n`` points from the ring of Gaussians (float32, shape (n, 2)); modes are equally likely."""
    rng = np.random.default_rng(seed)
    centres = mode_centres(n_modes, radius)
    modes = rng.integers(n_modes, size=n)
    return (centres[modes] + std * rng.standard_normal((n, 2))).astype(np.float32)


def mode_coverage(samples, n_modes=N_MODES, radius=RADIUS, std=STD):
    """How well ``samples`` (shape (N, 2)) cover the ring's modes.

    Returns a dict with ``counts`` (high-quality samples per mode), ``modes_covered`` (modes with at
    least ``COVERAGE_SHARE / n_modes`` of all samples) and ``high_quality_share`` (fraction of samples
    within ``3 * std`` of their nearest mode centre).
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"mode_coverage expects a non-empty array of 2-D points shaped (N, 2); "
                         f"got shape {samples.shape}.")
    if not np.all(np.isfinite(samples)):
        raise ValueError("the samples contain NaN or inf values: the generator that made them diverged.")
    distances = np.linalg.norm(samples[:, None, :] - mode_centres(n_modes, radius)[None], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances.min(axis=1) <= 3 * std
    counts = np.bincount(nearest[good], minlength=n_modes)
    return {
        "counts": counts,
        "modes_covered": int(np.sum(counts >= COVERAGE_SHARE / n_modes * len(samples))),
        "high_quality_share": float(good.mean()),
    }


def show_samples(panels, n_modes=N_MODES, radius=RADIUS, title=None, limit=None):
    """Scatter 2-D samples, one panel per entry of ``panels`` ({"title": samples}), modes marked.

    Each panel's title gets its modes covered and high-quality share appended.
    """
    if not panels:
        raise ValueError("show_samples needs at least one panel, e.g. {'real': samples}")
    limit = limit or 1.6 * radius
    centres = mode_centres(n_modes, radius)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9), squeeze=False)
    for ax, (name, samples) in zip(axes[0], panels.items()):
        samples = np.asarray(samples)
        stats = mode_coverage(samples, n_modes, radius)
        ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue")
        ax.scatter(centres[:, 0], centres[:, 1], s=25, marker="x", color="tab:red")
        ax.set_title(f"{name}\n{stats['modes_covered']}/{n_modes} modes, "
                     f"{stats['high_quality_share']:.0%} high quality", fontsize=8)
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
