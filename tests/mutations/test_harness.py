"""The harness itself tells the four outcomes apart."""

import time

from course_utils.checks import CheckFailed, passed
from tests.mutations import harness


def check_positive(function):
    value = function()
    if value <= 0:
        raise CheckFailed("your value is not positive: did you flip the sign?")
    passed("positive")


def test_the_four_outcomes(monkeypatch):
    assert harness.run_check(check_positive, lambda: 1).kind == "passed"
    assert harness.run_check(check_positive, lambda: -1).kind == "rejected"
    assert harness.run_check(check_positive, lambda: "x").kind == "crashed"
    monkeypatch.setattr(harness, "TIME_LIMIT_S", 1)
    assert harness.run_check(check_positive, lambda: time.sleep(5) or 1).kind == "hung"


def test_assertions():
    harness.assert_rejected("flip the sign", check_positive, lambda: -1)
    harness.assert_accepted(check_positive, lambda: 2)
