"""Plotting helpers draw without error and reject inputs they cannot show."""

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import plotting


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 8, 8, 1), (5, 8, 8, 3)])
def test_show_images_accepts_grey_and_colour(shape):
    plotting.show_images(np.random.rand(*shape), ncols=3, title="t")
    assert matplotlib.pyplot.get_fignums(), "no figure was drawn"


def test_wrong_shape_says_how_to_fix():
    with pytest.raises(ValueError, match="images\\[None\\]"):
        plotting.show_images(np.zeros((8, 8)))


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_one_image_without_batch_axis_is_named_not_drawn_as_strips(shape):
    with pytest.raises(ValueError, match=r"one image \(height, width, channels\).*images\[None\]"):
        plotting.show_images(np.zeros(shape))
    assert not plt.get_fignums(), "nothing should be drawn"
    plotting.show_images(np.zeros(shape)[None])


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 8, 8, 4)), "1 \\(grey\\) or 3 \\(colour\\) channels"),
        (np.zeros((0, 8, 8)), "non-empty batch"),
        (np.zeros(64), r"got shape \(64,\)"),
        (np.zeros((2, 3, 8, 8, 1)), r"got shape \(2, 3, 8, 8, 1\)"),
        ([np.zeros((8, 8)), np.zeros((7, 7))], "images of equal size"),
    ],
)
def test_other_wrong_shapes_get_a_clear_error(images, message):
    with pytest.raises(ValueError, match=message):
        plotting.show_images(images)


def test_values_outside_range_name_the_range():
    with pytest.raises(ValueError, match="value_range=\\(-1, 1\\)"):
        plotting.show_images(np.full((2, 4, 4), -0.9))
    plotting.show_images(np.full((2, 4, 4), -0.9), value_range=(-1, 1))


def test_sample_grid_records_every_n_epochs():
    grid = plotting.SampleGrid(lambda: np.random.rand(4, 6, 6), every=2)
    for epoch in range(5):
        grid.on_epoch_end(epoch)
    assert sorted(grid.snapshots) == [2, 4]
    grid.show()


def test_sample_grid_without_snapshots_explains():
    with pytest.raises(RuntimeError, match="record"):
        plotting.SampleGrid(lambda: np.zeros((1, 2, 2))).show()


def test_history_and_latent_helpers():
    plotting.plot_history({"loss": [3, 2, 1], "val_loss": [3, 2.5, 2]}, logy=True, x_label="epoch")
    with pytest.raises(KeyError, match="available"):
        plotting.plot_history({"loss": [1]}, keys=["d_loss"], x_label="epoch")
    plotting.latent_scatter(np.random.randn(50, 2), np.arange(50) % 10)
    with pytest.raises(ValueError, match="PCA"):
        plotting.latent_scatter(np.random.randn(50, 3), np.arange(50) % 10)
    plotting.latent_manifold(lambda z: np.random.rand(len(z), 7, 7), n=4)


def test_history_axis_says_what_a_value_stands_for():
    plotting.plot_history({"estimate": [0.5, 0.4, 0.3]}, x_label="generator step", x_every=100)
    ax = plt.gcf().axes[0]
    assert ax.get_xlabel() == "generator step"
    assert list(ax.lines[0].get_xdata()) == [100, 200, 300]
    history = keras.callbacks.History()
    history.history = {"loss": [2.0, 1.0]}
    plotting.plot_history(history)
    assert plt.gcf().axes[0].get_xlabel() == "epoch"
    with pytest.raises(ValueError, match="x_label"):
        plotting.plot_history({"loss": [2.0, 1.0]})


def test_quality_curve_measures_every_few_epochs_and_plots(monkeypatch):
    measured = []
    monkeypatch.setattr(plotting.metrics, "frechet_distance_to_test",
                        lambda samples, domain: measured.append((samples.shape, domain)) or float(len(measured)))
    curve = plotting.QualityCurve(lambda n: np.zeros((n, 28, 28, 1), "float32"), "mnist", every=2, n=8)
    with pytest.raises(RuntimeError, match="no measurements yet"):
        curve.show()
    for epoch in range(5):
        curve.on_epoch_begin(epoch)
        curve.on_epoch_end(epoch)
    assert [point[0] for point in curve.points] == [2, 4]
    assert measured == [((8, 28, 28, 1), "mnist")] * 2
    assert curve.points[0][1] <= curve.points[1][1]  # minutes of training only grow
    curve.show()
