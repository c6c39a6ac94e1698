"""How a check speaks: one PASSED line, or a CheckFailed naming the likely mistake."""

import numpy as np

from course_utils.checks._numeric import close
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
    message = message.removesuffix("name:").strip()  # TensorFlow's eager errors end with an empty " name: "
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


def learner_array(result, what, shape=None, hint="", dtype=np.float64):
    """The learner's ``result`` as a NumPy array of ``dtype`` (float64; None keeps the learner's, e.g. integer
    indices): the one adaptor every learner output goes through.

    None, something that is not numbers (a string, a ragged list, a symbolic tensor), or, when ``shape`` is
    given, an array of any other shape becomes a CheckFailed that says what was expected and what came;
    ``hint`` (what to try) ends that message. The checks compare only arrays that passed here, so an
    unexpected shape is named instead of crashing a comparison.
    """
    require(result is not None, f"{what} returned None: did you forget `return`?")
    try:
        array = np.asarray(result, dtype=dtype)
        numbers = array.dtype.kind in "biuf"  # bool, integer or float: a string or an object array is not
    except Exception:  # noqa: BLE001 - whatever it is, it is not an array of numbers
        numbers = False
    require(numbers, f"{what} should return numbers; it returned a {type(result).__name__}: {str(result)[:80]!r}.")
    if shape is not None and array.shape != tuple(shape):
        raise CheckFailed(f"{what} should return an array of shape {tuple(shape)}; it returned shape "
                          f"{array.shape}." + (f" {hint}" if hint else ""))
    return array


def call_with_stand_ins(what, function, *args, hint="", **kwargs):
    """``call_learner`` for a learner's function that calls one of the check's stand-ins (a spy network): a
    verdict the stand-in raised inside the learner's code reaches the learner as it is, not wrapped in
    "raised CheckFailed"; ``hint`` (what to try) ends the message of any other error."""
    try:
        return call_learner(what, function, *args, **kwargs)
    except CheckFailed as failure:
        if isinstance(failure.__cause__, CheckFailed):
            raise failure.__cause__ from None
        if hint:
            raise CheckFailed(f"{failure} {hint}") from failure.__cause__
        raise


def learner_tuple(result, what, names):
    """A learner's result that should be ``len(names)`` things (``names``: their names, e.g. ("z", "log_det")),
    as a tuple, or a CheckFailed saying what came back."""
    require(result is not None, f"{what} returned None: did you forget `return`?")
    count = len(result) if isinstance(result, (tuple, list)) else None
    require(count == len(names),
            f"{what} should return {len(names)} things, ({', '.join(names)}); it returned a {type(result).__name__}"
            + ("" if count is None else f" of {count}") + ".")
    return tuple(result)


def scalar_result(result, what, hint="Average over the batch, e.g. with tf.reduce_mean."):
    """The learner's result as one float, or a CheckFailed saying what was returned instead."""
    array = learner_array(result, what)
    require(array.size == 1, f"{what} should return one number (a scalar: the mean over the batch); it returned shape "
                             f"{array.shape}." + (f" {hint}" if hint else ""))
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


def name_mistake(got, want, candidates, otherwise, tol=1e-4):
    """Return if the array ``got`` equals ``want``; else raise the message of the first candidate mistake
    ``(wrong, message)`` that ``got`` equals (candidates equal to ``want`` are skipped), or ``otherwise``.
    Arrays of other shapes never match (give ``got`` through ``learner_array``)."""
    if close(got, want, tol):
        return
    for wrong, message in candidates:
        if not close(wrong, want, tol) and close(got, wrong, tol):
            raise CheckFailed(message)
    raise CheckFailed(otherwise)
