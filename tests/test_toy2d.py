"""The ring of Gaussians and its mode-coverage metric (fast, NumPy only)."""

import matplotlib
import numpy as np
import pytest

from course_utils import toy2d

matplotlib.use("Agg")


def test_centres_lie_evenly_on_the_circle():
    centres = toy2d.mode_centres(8, 2.0)
    assert centres.shape == (8, 2)
    assert np.allclose(np.linalg.norm(centres, axis=1), 2.0)
    assert np.allclose(centres[0], [2.0, 0.0], atol=1e-6)
    gaps = np.linalg.norm(np.diff(np.vstack([centres, centres[:1]]), axis=0), axis=1)
    assert np.allclose(gaps, gaps[0])


def test_samples_are_reproducible_and_spread_over_all_modes():
    a = toy2d.sample_ring(4000, seed=3)
    assert a.dtype == np.float32 and a.shape == (4000, 2)
    assert np.array_equal(a, toy2d.sample_ring(4000, seed=3))
    stats = toy2d.mode_coverage(a)
    assert stats["modes_covered"] == 8
    assert 0.98 < stats["high_quality_share"] <= 1.0  # 1 - exp(-4.5) = 98.9% lie within 3 std in 2-D
    assert stats["counts"].sum() == round(stats["high_quality_share"] * 4000)


def test_a_collapsed_generator_covers_one_mode():
    centres = toy2d.mode_centres()
    collapsed = np.repeat(centres[2:3], 500, axis=0)
    stats = toy2d.mode_coverage(collapsed)
    assert stats["modes_covered"] == 1 and stats["high_quality_share"] == 1.0
    assert stats["counts"][2] == 500


def test_far_samples_are_low_quality_and_stray_samples_do_not_cover():
    centres = toy2d.mode_centres()
    samples = np.concatenate([np.repeat(centres[:1], 990, axis=0),  # mode 0
                              np.repeat(centres[1:2], 10, axis=0),  # 10 of 2000 = 0.5% < 1.25%: not covered
                              np.zeros((1000, 2))])  # the centre of the ring: far from every mode
    stats = toy2d.mode_coverage(samples)
    assert stats["modes_covered"] == 1
    assert stats["high_quality_share"] == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.zeros((0, 2)), np.full((3, 2), np.nan)])
def test_bad_samples_are_refused_with_a_clear_error(bad):
    with pytest.raises(ValueError, match="shaped|NaN"):
        toy2d.mode_coverage(bad)


def test_show_samples_draws_one_panel_per_entry(monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(len(plt.gcf().axes)))
    toy2d.show_samples({"real": toy2d.sample_ring(200, seed=0), "collapsed": np.zeros((200, 2))})
    assert shown == [2]
    with pytest.raises(ValueError):
        toy2d.show_samples({})
