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
