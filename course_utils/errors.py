"""The course's own errors, shown in Jupyter, Colab and IPython as their message alone.

A failed check or a failed download already says what went wrong and what to do; a 20-line
traceback into ``course_utils`` above that message only hides it. IPython (which runs the
kernels of Jupyter and Colab) asks an exception for ``_render_traceback_()`` and shows the lines
it returns instead of the traceback. ``CourseError`` returns two short lines: the message, and
how to see the full traceback (``%tb``, which renders the same exception a second time and then
gets the whole traceback). Plain Python is unaffected: it prints the usual traceback.
"""

_RED, _BOLD_RED, _RESET = "\x1b[31m", "\x1b[1;31m", "\x1b[0m"
FULL_TRACEBACK_HINT = "(To see the full traceback, run %tb in a new cell.)"


class CourseError(Exception):
    """An error whose message is written for the learner: notebooks show the message, not the traceback.

    ``heading`` names the kind of error in the short form (the class name unless a subclass sets it).
    """

    heading = None

    def _render_traceback_(self):
        """The lines IPython shows for this error: the short form first, the full traceback when
        the same error is shown again (that is what ``%tb`` does)."""
        if getattr(self, "_shown_short", False):
            return _full_traceback(self)
        self._shown_short = True
        return short_lines(self)


def short_lines(error):
    """The short form of ``error``: a red ``heading: message`` line and the hint about ``%tb``."""
    heading = error.heading or type(error).__name__
    return [f"{_BOLD_RED}{heading}:{_RESET} {_RED}{error}{_RESET}", FULL_TRACEBACK_HINT]


def _full_traceback(error):
    """The traceback IPython would have shown without ``_render_traceback_`` (plain text outside IPython)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        import traceback

        return traceback.format_exception(type(error), error, error.__traceback__)
    return shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)
