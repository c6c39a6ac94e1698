"""Exercise checkers, one module per chapter.

A check runs the learner's function or model on tiny inputs. It prints one line starting
with ``PASSED`` when all is well, and otherwise raises ``CheckFailed`` whose message names
the most likely mistake ("your KL term has the wrong sign"), not a bare assertion.

``EXERCISE_PLACEHOLDER`` is the message of the ``NotImplementedError`` that stands in an exercise cell
until the learner fills it in (``tools.exercises`` writes it; a check lets it through unchanged).
"""

from course_utils.checks._verdict import EXERCISE_PLACEHOLDER, CheckFailed, call_learner, passed, require

__all__ = ["EXERCISE_PLACEHOLDER", "CheckFailed", "call_learner", "passed", "require"]
