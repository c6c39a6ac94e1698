"""call_learner lets an unfinished exercise through and turns every other error into a verdict."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed, call_learner
from course_utils.checks._verdict import EXERCISE_PLACEHOLDER, unfinished_exercise


def unfinished(x):
    raise NotImplementedError(EXERCISE_PLACEHOLDER)


def numpy_on_a_graph_tensor(x):
    return np.sqrt(x)  # inside tf.function, TensorFlow raises its own NotImplementedError


def test_the_placeholder_passes_through_unchanged():
    with pytest.raises(NotImplementedError, match="write your code here"):
        call_learner("f(x)", unfinished, 1.0)


def test_tensorflows_own_not_implemented_error_becomes_a_verdict():
    with pytest.raises(CheckFailed, match=r"^f\(x\): NotImplementedError: Cannot convert a symbolic"):
        call_learner("f(x)", tf.function(numpy_on_a_graph_tensor), tf.constant(1.0))


def test_other_errors_say_what_was_raised():
    with pytest.raises(CheckFailed, match=r"^f\(x\): ZeroDivisionError"):
        call_learner("f(x)", lambda x: x / 0, 1)


def test_unfinished_exercise_tells_the_placeholder_apart():
    assert unfinished_exercise(NotImplementedError(EXERCISE_PLACEHOLDER))
    assert not unfinished_exercise(NotImplementedError("Cannot convert a symbolic tf.Tensor to a numpy array"))
    assert not unfinished_exercise(ValueError(EXERCISE_PLACEHOLDER))
