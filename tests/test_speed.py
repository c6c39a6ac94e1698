"""The speed index: a machine's times for the reference workload's parts against the reference machine's."""

import math

import pytest

from course_utils import speed


def _reference_times(factor):
    """Each part's time on a machine ``factor`` times slower than the reference."""
    return {name: factor * reference for name, (_, _, reference) in speed.PARTS.items()}


def test_the_index_is_the_geometric_mean_of_the_parts_indices(monkeypatch):
    monkeypatch.setattr(speed, "part_seconds", lambda repeats=3: _reference_times(2.0))
    measured = speed.measure()
    assert measured["index"] == 0.5 and set(measured["parts"].values()) == {0.5}
    assert measured["workload_s"] == round(2 * sum(ref for _, _, ref in speed.PARTS.values()), 3)
    assert measured["reference_machine"] == speed.REFERENCE_MACHINE
    # Twice as fast on one part, as fast on the others: the index moves by 2 ** (1 / number of parts).
    seconds = _reference_times(1.0)
    seconds["attention"] /= 2
    index, parts = speed.index_from(seconds)
    assert parts["attention"] == pytest.approx(2.0) and parts["conv"] == pytest.approx(1.0)
    assert index == pytest.approx(2 ** (1 / len(speed.PARTS)))


def test_a_missing_part_is_named():
    seconds = _reference_times(1.0)
    del seconds["lstm"]
    with pytest.raises(ValueError, match="lstm"):
        speed.index_from(seconds)


def test_a_run_is_measured_before_and_after_and_both_are_kept():
    before = {"index": 0.8, "reference_machine": "r", "workload": "w"}
    after = {"index": 1.25, "reference_machine": "r", "workload": "w"}
    over = speed.over_a_run(before, after)
    assert over["index"] == pytest.approx(math.sqrt(0.8 * 1.25), abs=1e-3)
    assert over["before"] is before and over["after"] is after
    assert set(over) == {"index", "before", "after"}, "the reference machine and workload live in each measurement"


def test_times_translate_both_ways():
    assert speed.normalised(1200.0, 0.5) == 600.0, "a half-speed machine's 20 minutes are the reference's 10"
    assert speed.on_this_machine(10.0, 0.5) == 20.0
    assert speed.normalised(1200.0, 2.0, budgeted_seconds=600.0) == 1800.0, (
        "ten budgeted minutes are ten minutes on every machine; only the other ten scale")
    with pytest.raises(ValueError, match="budgeted time must lie between 0 and the run's 1200 s"):
        speed.normalised(1200.0, 2.0, budgeted_seconds=1500.0)
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="positive"):
            speed.normalised(1.0, bad)
        with pytest.raises(ValueError, match="positive"):
            speed.on_this_machine(1.0, bad)


@pytest.mark.slow
def test_every_part_runs_and_takes_a_positive_time():
    seconds = speed.part_seconds(repeats=1)
    assert set(seconds) == set(speed.PARTS) and all(value > 0 for value in seconds.values())
    with pytest.raises(ValueError, match="at least 1"):
        speed.part_seconds(repeats=0)


def test_calibration_refers_each_part_to_the_first_index(monkeypatch, capsys):
    from tools import calibrate_speed

    first_times = iter([2.34, 4.68, 9.36])  # median 4.68 s: a first index of 1.0 ...
    monkeypatch.setattr(calibrate_speed, "first_workload", lambda: lambda: next(first_times))
    monkeypatch.setattr(speed, "part_seconds", lambda repeats=1: _reference_times(0.5))
    assert calibrate_speed.main(["--rounds", "3"]) == 0
    printed = capsys.readouterr().out
    assert "first index of this machine: 1.000 (range 0.500 to 2.000)" in printed
    # ... so each part's reference time is its median time here, half of today's reference.
    assert f'"lstm": {round(0.5 * speed.PARTS["lstm"][2], 3)}' in printed
