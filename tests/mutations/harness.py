"""Run an exercise check on one learner's answer and say how it ended.

The mutation tests (``test_mutations_*.py``) feed every check wrong answers written as a learner
would, and correct answers written differently from the solution. For each they assert one of two
outcomes: *rejected* with a ``CheckFailed`` whose message names the mistake, or *accepted* with a
``PASSED`` line. Anything else is a defect of the check: a crash (another exception escaped the
check), a hang (the call ran past ``TIME_LIMIT_S``), or a wrong answer that passed.
"""

import contextlib
import dataclasses
import io
import re
import signal
import time

import pytest

from course_utils.checks import CheckFailed

TIME_LIMIT_S = 30
"""A check must finish within this on a loaded 2-core CPU; past it the call counts as a hang."""


class _TimeLimit(BaseException):
    """Raised by the alarm; a BaseException so a learner's ``except Exception`` cannot swallow it."""


@dataclasses.dataclass
class Outcome:
    kind: str  # "passed", "rejected", "crashed" or "hung"
    message: str
    seconds: float


def run_check(check, *args, **kwargs):
    """Call ``check(*args, **kwargs)`` under a time limit and classify the result."""

    def on_alarm(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIME_LIMIT_S)
    printed = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(printed):
            check(*args, **kwargs)
        kind, message = ("passed" if "PASSED" in printed.getvalue() else "crashed"), printed.getvalue()
    except CheckFailed as failure:
        kind, message = "rejected", str(failure)
    except _TimeLimit:
        kind, message = "hung", f"no verdict after {TIME_LIMIT_S} s"
    except BaseException as error:  # noqa: BLE001 - any other escape is the defect we look for
        kind, message = "crashed", f"{type(error).__name__}: {error}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Outcome(kind, message.strip(), time.perf_counter() - start)


def assert_rejected(pattern, check, *args, **kwargs):
    """The check rejects the answer with a message matching ``pattern`` (a regex, case-insensitive)."""
    outcome = run_check(check, *args, **kwargs)
    assert outcome.kind == "rejected", f"wrong answer {outcome.kind}: {outcome.message}"
    assert re.search(pattern, outcome.message, re.IGNORECASE), (
        f"rejected, but the message does not name the mistake ({pattern!r}): {outcome.message}")


def assert_accepted(check, *args, **kwargs):
    """The check passes the (correct) answer."""
    outcome = run_check(check, *args, **kwargs)
    assert outcome.kind == "passed", f"correct answer {outcome.kind}: {outcome.message}"


def check_tests(check, wrong, right, marks=()):
    """The two tests of one exercise check, to assign to module-level names that start with ``test_``.

    ``wrong`` maps a test id to ``(answer, pattern)``: the check must reject that answer with a message
    matching ``pattern``. ``right`` maps a test id to an answer, or lists answers (pytest names them,
    a function by its name), and the check must pass each. The check is called with the answer alone:
    give a check that needs more as ``functools.partial(check, latent_dim=...)`` or a function of the
    answer. ``marks`` (pytest marks, such as a ``filterwarnings``) apply to both tests.

        test_kl_rejects, test_kl_accepts = check_tests(checks.check_kl_divergence, KL_WRONG, KL_RIGHT)
    """
    right_ids = list(right) if isinstance(right, dict) else None
    right_answers = list(right.values()) if isinstance(right, dict) else list(right)

    @pytest.mark.parametrize("answer, pattern", list(wrong.values()), ids=list(wrong))
    def rejects(answer, pattern):
        assert_rejected(pattern, check, answer)

    @pytest.mark.parametrize("answer", right_answers, ids=right_ids)
    def accepts(answer):
        assert_accepted(check, answer)

    for mark in marks:
        rejects, accepts = mark(rejects), mark(accepts)
    return rejects, accepts


def with_quiet_last_layer(model, bias):
    """``model`` with its last weighted layer's kernel scaled by 1e-4 and its bias set to ``bias``: starting
    weights that keep every output near ``bias``, as a lucky random draw can. A check that names a wrong
    output activation only when an output leaves its range passes such a model; one that reads the model
    names the mistake whatever the weights."""
    last = [layer for layer in model._flatten_layers(include_self=False) if getattr(layer, "kernel", None) is not None][-1]
    kernel, *rest = last.get_weights()
    last.set_weights([1e-4 * kernel, *[bias + 0 * w for w in rest]])
    return model
