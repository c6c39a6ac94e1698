"""A smoke run's numbers say they are smoke numbers where they are printed; a full run's notes are unchanged."""

import pytest

from course_utils import runmode


def test_a_full_run_leaves_a_note_as_it_is(monkeypatch):
    monkeypatch.setenv(runmode.MODE_VARIABLE, "full")
    assert runmode.smoke_marked("2000 samples vs 2000 MNIST test images") == "2000 samples vs 2000 MNIST test images"
    assert runmode.smoke_marked() == ""


@pytest.mark.parametrize("note, marked", [("64 samples", "64 samples; " + runmode.SMOKE_MARK), ("", runmode.SMOKE_MARK)])
def test_a_smoke_run_marks_every_note(monkeypatch, note, marked):
    monkeypatch.setenv(runmode.MODE_VARIABLE, "smoke")
    assert runmode.smoke_marked(note) == marked
    assert runmode.smoke_marked(marked) == marked, "a note that says so already is marked once, not twice"
    assert "smoke run" in marked and "not a measurement" in marked
