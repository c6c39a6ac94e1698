"""Exercise checkers, one module per chapter.

A check runs the learner's function or model on tiny inputs. It prints one line starting
with ``PASSED`` when all is well, and otherwise raises ``CheckFailed`` whose message names
the most likely mistake ("your KL term has the wrong sign"), not a bare assertion.
"""

from course_utils.checks._verdict import CheckFailed, call_learner, passed, require

__all__ = ["CheckFailed", "call_learner", "passed", "require"]
