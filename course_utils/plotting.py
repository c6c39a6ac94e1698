"""Pictures for the course: image grids, loss curves, latent spaces, samples over training.

Every function draws with matplotlib, calls ``plt.show()`` and returns ``None``, so a notebook
cell shows exactly one figure. Images are arrays of shape (N, H, W), (N, H, W, 1) or
(N, H, W, 3) with values in ``value_range`` (``(0, 1)`` or ``(-1, 1)``).
"""

import math
import time

import keras
import matplotlib.pyplot as plt
import numpy as np

from course_utils import metrics


def _as_displayable(images, value_range):
    """Validate a batch of images and map it to [0, 1] with shape (N, H, W) or (N, H, W, 3)."""
    try:
        images = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"could not make one array of numbers from the images ({error}). Pass a batch of "
                         "images of equal size, e.g. np.stack(list_of_images).") from error
    if images.ndim == 3 and images.shape[-1] in (1, 3) and images.shape[1] > images.shape[-1]:
        raise ValueError(
            f"got shape {images.shape}: that is one image (height, width, channels), not a batch of "
            f"{images.shape[0]} images {images.shape[1]} pixels wide. Add a batch axis: images[None]."
        )
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3) or 0 in images.shape:
        if images.ndim == 2:
            hint = "For a single image, add a batch axis: images[None]."
        elif images.ndim == 4:
            hint = "Images need 1 (grey) or 3 (colour) channels in the last axis."
        else:
            hint = "Reshape them into one of these shapes."
        raise ValueError(
            f"expected a non-empty batch of images shaped (N, H, W), (N, H, W, 1) or (N, H, W, 3); got "
            f"shape {images.shape}. {hint}"
        )
    low, high = value_range
    if images.min() < low - 1e-3 or images.max() > high + 1e-3:
        raise ValueError(
            f"image values span [{images.min():.3g}, {images.max():.3g}], outside value_range="
            f"{value_range}. Pass the range your images use, e.g. value_range=(-1, 1) for tanh output."
        )
    return np.clip((images - low) / (high - low), 0.0, 1.0)


def _draw(ax, image):
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0.0, vmax=1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(images, ncols=10, titles=None, value_range=(0, 1), title=None):
    """Show a batch of images in a grid with ``ncols`` columns."""
    images = _as_displayable(images, value_range)
    n = len(images)
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.2 * ncols, 1.2 * nrows + (0.4 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _draw(ax, images[i])
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def show_rows(rows, value_range=(0, 1), title=None):
    """Show labelled rows of images side by side, e.g. ``{"noisy": x1, "denoised": x2, "clean": x3}``."""
    if not rows:
        raise ValueError("show_rows needs at least one row, e.g. {'input': images}")
    batches = {label: _as_displayable(images, value_range) for label, images in rows.items()}
    ncols = min(len(images) for images in batches.values())
    fig, axes = plt.subplots(len(batches), ncols, figsize=(1.2 * ncols + 1.0, 1.25 * len(batches)),
                             squeeze=False)
    for r, (label, images) in enumerate(batches.items()):
        for c in range(ncols):
            _draw(axes[r, c], images[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()


def plot_history(history, keys=None, title=None, logy=False, x_label=None, x_every=1):
    """Plot training curves from a Keras ``History`` (one value per epoch) or a dict ``{name: [values]}``.

    For a dict, ``x_label`` says what one value stands for ("epoch", "training step", ...); with
    ``x_every=k`` the i-th value is drawn at x = k * i (for values recorded every k steps).
    """
    is_keras_history = isinstance(history, keras.callbacks.History)
    curves = history.history if is_keras_history else dict(history)
    if x_label is None:
        if not is_keras_history:
            raise ValueError("plot_history got a dict of curves: pass x_label= to say what one value stands "
                             "for, e.g. x_label=\"epoch\" or x_label=\"training step\"")
        x_label = "epoch"
    keys = list(curves) if keys is None else list(keys)
    missing = [k for k in keys if k not in curves]
    if missing:
        raise KeyError(f"no curve named {missing}; available: {sorted(curves)}")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        values = np.asarray(curves[key], dtype=float)
        ax.plot(x_every * np.arange(1, len(values) + 1), values, label=key)
    ax.set_xlabel(x_label)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    plt.show()


def latent_scatter(z2d, labels, title=None):
    """Scatter 2-D latent codes coloured by class label (e.g. the digit)."""
    z2d = np.asarray(z2d)
    labels = np.asarray(labels)
    if z2d.ndim != 2 or z2d.shape[1] != 2:
        raise ValueError(f"latent_scatter needs codes shaped (N, 2); got {z2d.shape}. "
                         "For a larger latent space, project it to 2-D first (e.g. PCA).")
    if len(labels) != len(z2d):
        raise ValueError(f"got {len(labels)} labels for {len(z2d)} codes")
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(z2d[:, 0], z2d[:, 1], c=labels, cmap="tab10", s=3, alpha=0.7)
    fig.colorbar(points, ax=ax, ticks=range(10), label="label")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    plt.show()


def latent_manifold(decode_fn, n=15, span=3.0, title=None):
    """Decode an ``n`` x ``n`` grid of 2-D latent points in [-span, span]^2 and tile the images.

    ``decode_fn`` maps an array of shape (k, 2) to images in [0, 1].
    """
    axis = np.linspace(-span, span, n, dtype=np.float32)
    grid = np.array([[x, y] for y in axis[::-1] for x in axis], dtype=np.float32)
    images = _as_displayable(decode_fn(grid), (0, 1))
    h, w = images.shape[1:3]
    tiled = images.reshape(n, n, h, w, *images.shape[3:]).swapaxes(1, 2).reshape(n * h, n * w, *images.shape[3:])
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(tiled, cmap="gray" if tiled.ndim == 2 else None, extent=(-span, span, -span, span))
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title or "decoded latent manifold")
    fig.tight_layout()
    plt.show()


class SampleGrid(keras.callbacks.Callback):
    """Keep a grid of samples every ``every`` epochs, to watch a generator learn.

    ``sample_fn()`` returns a batch of images (the same fixed noise each time, so the
    pictures are comparable). Works as a Keras callback, or call ``record(epoch)`` from a
    hand-written loop; ``show()`` draws the kept snapshots one row per epoch.
    """

    def __init__(self, sample_fn, every=1, value_range=(0, 1), max_images=10):
        super().__init__()
        self.sample_fn = sample_fn
        self.every = every
        self.value_range = value_range
        self.max_images = max_images
        self.snapshots = {}

    def record(self, epoch):
        """Sample now and keep the images under ``epoch`` (1-based)."""
        images = np.asarray(self.sample_fn())[: self.max_images]
        self.snapshots[epoch] = _as_displayable(images, self.value_range)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.record(epoch + 1)

    def show(self, title="samples from fixed noise, one row per epoch"):
        """Draw every kept snapshot, one row per recorded epoch."""
        if not self.snapshots:
            raise RuntimeError("no snapshots yet: train with this callback, or call record(epoch)")
        show_rows({f"epoch {e}": images for e, images in sorted(self.snapshots.items())},
                  value_range=(0, 1), title=title)


class QualityCurve(keras.callbacks.Callback):
    """The Frechet distance of fresh samples every ``every`` epochs, against minutes of training.

    ``sample_fn(n)`` returns ``n`` images in [0, 1] of ``domain`` ("mnist" or "svhn"); they are
    compared with as many real test images (``metrics.frechet_distance_to_test``). The time axis
    counts training only, not these measurements. ``show()`` draws the curve. Put it before a
    progress bar's callback in ``fit``'s list: it loads the test images (and prints so) as training starts.
    """

    def __init__(self, sample_fn, domain, every, n=1000):
        super().__init__()
        self.sample_fn, self.domain, self.every, self.n = sample_fn, domain, every, n
        self.points = []  # (epoch, minutes of training, Frechet distance)
        self._minutes = 0.0

    def on_train_begin(self, logs=None):
        metrics.test_features(self.domain, self.n)  # loads the test images and the classifier now, not mid-run

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._minutes += (time.perf_counter() - self._started) / 60
        if (epoch + 1) % self.every == 0:
            distance = metrics.frechet_distance_to_test(np.asarray(self.sample_fn(self.n)), self.domain)
            self.points.append((epoch + 1, self._minutes, distance))

    def show(self, title="Frechet distance of fresh samples during training"):
        """Plot the distance against minutes of training, each point labelled with its epoch."""
        if not self.points:
            raise RuntimeError("no measurements yet: train with this callback for at least `every` epochs")
        epochs, minutes, distances = zip(*self.points)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.plot(minutes, distances, marker="o")
        for epoch, x, y in self.points:
            ax.annotate(f"{epoch}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        ax.set_xlabel("minutes of training (labels: epoch)")
        ax.set_ylabel(f"Frechet distance ({self.n} samples)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        plt.show()
