"""How a check speaks: one PASSED line, or a CheckFailed naming the likely mistake."""

import numpy as np

from course_utils.errors import CourseError


class CheckFailed(CourseError, AssertionError):
    """Raised by a check; its message says what is wrong and what to try.

    In a notebook it shows as one red "Check failed: ..." line (see ``course_utils.errors``).
    """

    heading = "Check failed"


def require(condition, message):
    """Raise ``CheckFailed(message)`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def passed(what):
    """Print the verdict for a check that found nothing wrong."""
    print(f"PASSED: {what}")


EXERCISE_PLACEHOLDER = "Exercise: write your code here (replace this line), then run the check cell below."
"""The message of the ``NotImplementedError`` that stands in an exercise cell until the learner fills it in."""


def unfinished_exercise(error):
    """True for the placeholder's ``NotImplementedError`` (not TensorFlow's own, e.g. NumPy on a graph tensor)."""
    return isinstance(error, NotImplementedError) and str(error).startswith(EXERCISE_PLACEHOLDER.split(":")[0])


def traced_error(error):
    """``'TypeName: what went wrong'``; for an error raised in traced code, whose message is a traceback
    through the learner's code ("in user code: ..."), only its last line."""
    name, message = type(error).__name__, str(error).strip()
    if "in user code:" in message:
        message = message.splitlines()[-1].strip().removeprefix(f"{name}: ")
    return f"{name}: {message}"


def raise_learner_error(what, error):
    """Re-raise an unfinished exercise's placeholder error unchanged; turn any other error that the
    learner's code raised into a CheckFailed that starts with ``what`` and says what was raised."""
    if unfinished_exercise(error):
        raise error
    raise CheckFailed(f"{what}: {traced_error(error)}") from error


def call_learner(what, function, *args, **kwargs):
    """Call the learner's ``function``; an error it raises becomes a CheckFailed starting with ``what``.

    The placeholder's ``NotImplementedError`` passes through unchanged: the exercise is not done yet,
    and its own message says so.
    """
    try:
        return function(*args, **kwargs)
    except CheckFailed:
        raise
    except Exception as error:
        raise_learner_error(what, error)


def scalar_result(result, what):
    """The learner's result as one float, or a CheckFailed saying what was returned instead."""
    require(result is not None, f"{what} returned None: did you forget `return`?")
    array = np.asarray(result, dtype=np.float64)
    require(array.size == 1, f"{what} should return one number (a mean over the batch); got shape {array.shape}.")
    return float(array.reshape(()))


def match_named_mistake(value, expected, candidates, what):
    """Pass if ``value`` is ``expected``; else fail with the message of the first candidate mistake
    ``(wrong_value, message)`` that ``value`` matches, or with the expected and the got value."""
    if np.isclose(value, expected, rtol=1e-4, atol=1e-6):
        return
    for wrong_value, message in candidates:
        if np.isfinite(wrong_value) and np.isclose(value, wrong_value, rtol=1e-4, atol=1e-6):
            raise CheckFailed(message)
    raise CheckFailed(f"{what}: expected {expected:.6g}, got {value:.6g}.")
