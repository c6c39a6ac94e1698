"""How a check speaks: one PASSED line, or a CheckFailed naming the likely mistake."""


class CheckFailed(AssertionError):
    """Raised by a check; its message says what is wrong and what to try."""


def require(condition, message):
    """Raise ``CheckFailed(message)`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def passed(what):
    """Print the verdict for a check that found nothing wrong."""
    print(f"PASSED: {what}")


def call_learner(what, function, *args, **kwargs):
    """Call the learner's ``function``; an error it raises becomes a CheckFailed starting with ``what``.

    ``NotImplementedError`` passes through unchanged: the exercise is not done yet, and its own
    message says so.
    """
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(f"{what}: {type(error).__name__}: {error}") from error
