"""Exercise checkers, one module per chapter.

A check runs the learner's function or model on tiny inputs. It prints one line starting
with ``PASSED`` when all is well, and otherwise raises ``CheckFailed`` whose message names
the most likely mistake ("your KL term has the wrong sign"), not a bare assertion.

The check kit, shared by every chapter's module (use it rather than a local copy):

- ``_verdict``: how a check speaks and reads what the learner returned. ``call_learner`` (and
  ``call_with_stand_ins`` when the learner's code calls a spy of the check); ``learner_array``, the one
  adaptor every learner output goes through (None, non-numbers and a wrong ``shape`` get a verdict that
  says what was expected and what came); ``scalar_result``, ``learner_tuple``; ``name_mistake`` and
  ``match_named_mistake``, which compare with the right answer and name the first usual mistake matched.
- ``_numeric``: NumPy references (stable softmax, cross-entropies) and comparisons that never raise on a
  shape mismatch (``close``, ``close_in_norm``, ``flat``, ``cosine``).
- ``_learner``: reading a learner's model (``final_activation``, ``output_activation_message``, stacked
  linear layers), running a function as training runs it (compiled twice, without a batch size), spies
  on training flags and noise, and the verdicts chapters share (classifier-free guidance).
- ``_doubles``: stand-ins for optimizers and generators.

``EXERCISE_PLACEHOLDER`` is the message of the ``NotImplementedError`` that stands in an exercise cell
until the learner fills it in (``tools.exercises`` writes it; a check lets it through unchanged).
"""

from course_utils.checks._verdict import EXERCISE_PLACEHOLDER, CheckFailed, call_learner, passed, require

__all__ = ["EXERCISE_PLACEHOLDER", "CheckFailed", "call_learner", "passed", "require"]
