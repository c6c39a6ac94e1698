"""The speed index: a machine's time for the reference workload against the reference machine's."""

import pytest

from course_utils import speed


def test_the_index_is_the_reference_time_over_this_machines(monkeypatch):
    monkeypatch.setattr(speed, "workload_seconds", lambda repeats=3: 2 * speed.REFERENCE_SECONDS)
    measured = speed.measure()
    assert measured["index"] == 0.5 and measured["workload_s"] == round(2 * speed.REFERENCE_SECONDS, 3)
    assert measured["reference_machine"] == speed.REFERENCE_MACHINE


def test_times_translate_both_ways():
    assert speed.normalised(1200.0, 0.5) == 600.0, "a half-speed machine's 20 minutes are the reference's 10"
    assert speed.on_this_machine(10.0, 0.5) == 20.0
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="positive"):
            speed.normalised(1.0, bad)
        with pytest.raises(ValueError, match="positive"):
            speed.on_this_machine(1.0, bad)


@pytest.mark.slow
def test_the_workload_runs_and_takes_a_positive_time():
    assert speed.workload_seconds(repeats=1) > 0
    with pytest.raises(ValueError, match="at least 1"):
        speed.workload_seconds(repeats=0)
