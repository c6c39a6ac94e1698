"""The check kit: call_learner lets an unfinished exercise through and turns every other error into a verdict;
learner_array and scalar_result read every learner output; the comparisons never raise on shapes."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import EXERCISE_PLACEHOLDER, CheckFailed, call_learner
from course_utils.checks._numeric import close, close_in_norm, cosine
from course_utils.checks._verdict import learner_array, learner_tuple, scalar_result, unfinished_exercise


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


# --- the one adaptor of learner outputs, and the comparisons ------------------------------------------


@pytest.mark.parametrize("result, message", [
    (None, "returned None: did you forget `return`"),
    ("done", "should return numbers; it returned a str"),
    ([[0.1, 0.2], [0.3]], "should return numbers; it returned a list"),
    (np.zeros((2, 3, 5)), r"should return an array of shape \(4, 1\); it returned shape \(2, 3, 5\)\. Try this\."),
])
def test_learner_array_says_what_was_expected_and_what_came(result, message):
    with pytest.raises(CheckFailed, match=message):
        learner_array(result, "f", shape=(4, 1), hint="Try this.")


@pytest.mark.parametrize("result", ["done", ["a", "b"], [None, 1]])
def test_learner_array_keeping_the_dtype_still_wants_numbers(result):
    with pytest.raises(CheckFailed, match="should return numbers"):
        learner_array(result, "f", dtype=None)


def test_learner_array_takes_tensors_lists_and_keeps_an_asked_dtype():
    assert learner_array(tf.constant([[1.0], [2.0]]), "f", shape=(2, 1)).dtype == np.float64
    assert learner_array([1, 2], "f").tolist() == [1.0, 2.0]
    assert learner_array(tf.constant([3, 4]), "f", dtype=None).dtype == np.int32


@pytest.mark.parametrize("result", [tf.constant(2.5), 2.5, np.array([2.5])])
def test_scalar_result_takes_one_number_in_any_form(result):
    assert scalar_result(result, "loss") == 2.5


@pytest.mark.parametrize("result, message", [(tf.constant([1.0, 2.0]), r"one number \(a scalar.*shape \(2,\)"),
                                             ("2.5x", "should return numbers")])
def test_scalar_result_names_what_came_instead(result, message):
    with pytest.raises(CheckFailed, match=message):
        scalar_result(result, "loss")


def test_comparisons_say_false_for_different_shapes_instead_of_raising():
    assert close([1.0, 2.0], [1.0, 2.0]) and not close([1.0, 2.0], [1.0, 2.0, 3.0]) and not close(1.0, [1.0])
    assert close_in_norm([1.0, 2.0], [1.0, 2.0005]) and not close_in_norm([1.0], [1.0, 2.0])
    assert cosine([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0) and cosine([1.0], [1.0, 2.0]) == 0.0


def test_tensorflows_empty_op_name_is_left_out_of_a_verdict():
    with pytest.raises(CheckFailed) as failure:
        call_learner("f(x)", lambda x: tf.reshape(x, [3]), tf.zeros([2]))
    assert not str(failure.value).rstrip(".").endswith("name:")


def test_learner_tuple_gives_the_things_as_a_tuple():
    assert learner_tuple([1, 2, 3], "f", ("a", "b", "c")) == (1, 2, 3)


@pytest.mark.parametrize("result, message", [(None, "returned None"), ([1, 2], r"3 things, \(a, b, c\); it returned a "
                                                                               "list of 2"), ("abc", "it returned a str.")])
def test_learner_tuple_says_how_many_things_and_which(result, message):
    with pytest.raises(CheckFailed, match=message):
        learner_tuple(result, "f", ("a", "b", "c"))
