"""The chapter-10 checks pass the solution and name each typical mistake."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import text_generation as checks


# --- solutions (as in solutions/10_text_generation_lstm.ipynb) ---------------------------------


def split_input_target(window):
    return window[:-1], window[1:]


def sample_with_temperature(logits, temperature, rng):
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


def bits_per_character(logits, targets):
    nats = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    return float(np.mean(nats)) / math.log(2)


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def fails_with(check, function, match):
    with pytest.raises(CheckFailed, match=match):
        check(function)


def test_solutions_pass(capsys):
    checks.check_split_input_target(split_input_target)
    checks.check_sample_with_temperature(sample_with_temperature)
    checks.check_bits_per_character(bits_per_character)
    assert capsys.readouterr().out.count("PASSED") == 3


def test_other_correct_forms_pass(capsys):
    def powered_and_renormalised(logits, temperature, rng):
        p = _softmax(np.asarray(logits, np.float64)) ** (1 / temperature)
        return int(rng.choice(len(p), p=p / p.sum()))

    def numpy_bits(logits, targets):
        log_p = logits - logits.max(-1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(-1, keepdims=True))
        return -np.mean(np.take_along_axis(log_p, targets[..., None], -1)) / np.log(2)

    checks.check_sample_with_temperature(powered_and_renormalised)
    checks.check_bits_per_character(numpy_bits)
    assert capsys.readouterr().out.count("PASSED") == 2


@pytest.mark.parametrize("check", [checks.check_split_input_target, checks.check_sample_with_temperature,
                                   checks.check_bits_per_character])
def test_the_placeholder_of_an_exercise_is_not_hidden(check):
    def unfinished(*args):
        raise NotImplementedError("Exercise: write your code here")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(unfinished)


# --- windows ------------------------------------------------------------------------------------


def test_target_not_shifted():
    fails_with(checks.check_split_input_target, lambda w: (w, w), match="not shifted")


def test_target_not_shifted_but_trimmed():
    fails_with(checks.check_split_input_target, lambda w: (w[:-1], w[:-1]), match="not shifted")


def test_inputs_and_targets_swapped():
    fails_with(checks.check_split_input_target, lambda w: (w[1:], w[:-1]), match="swapped")


def test_target_keeps_the_whole_window():
    fails_with(checks.check_split_input_target, lambda w: (w[:-1], w), match="one fewer")


def test_shifted_by_two():
    fails_with(checks.check_split_input_target, lambda w: (w[:-2], w[2:]), match="exactly one")


def test_python_list_breaks_in_dataset_map():
    fails_with(checks.check_split_input_target,
               lambda w: (list(np.asarray(w))[:-1], list(np.asarray(w))[1:]), match="Dataset.map")


# --- sampling -----------------------------------------------------------------------------------


def test_argmax_instead_of_sampling():
    fails_with(checks.check_sample_with_temperature,
               lambda logits, t, rng: int(np.argmax(logits / t)), match="argmax")


def test_temperature_multiplies_the_logits():
    fails_with(checks.check_sample_with_temperature,
               lambda logits, t, rng: sample_with_temperature(logits * t * t, t, rng), match="multiplied")


def test_power_of_probabilities_not_renormalised():
    def powered(logits, temperature, rng):
        p = _softmax(logits) ** (1 / temperature)
        return int(rng.choice(len(p), p=p))

    fails_with(checks.check_sample_with_temperature, powered, match="do not sum to 1")


def test_probabilities_divided_by_temperature():
    def divided(logits, temperature, rng):
        p = _softmax(logits) / temperature
        return int(rng.choice(len(p), p=p))

    fails_with(checks.check_sample_with_temperature, divided, match="do not sum to 1")


def test_probabilities_divided_and_renormalised_ignore_temperature():
    def no_effect(logits, temperature, rng):
        p = _softmax(logits) / temperature
        return int(rng.choice(len(p), p=p / p.sum()))

    fails_with(checks.check_sample_with_temperature, no_effect, match="no effect")


def test_global_numpy_random_ignores_the_rng():
    def global_random(logits, temperature, rng):
        p = _softmax(logits / temperature)
        return int(np.random.choice(len(p), p=p))

    fails_with(checks.check_sample_with_temperature, global_random, match="rng passed in")


def test_unstable_softmax_overflows():
    def unstable(logits, temperature, rng):
        e = np.exp(np.asarray(logits, np.float64) / temperature)
        return int(rng.choice(len(e), p=e / e.sum()))

    with np.errstate(all="ignore"):
        fails_with(checks.check_sample_with_temperature, unstable, match="Subtract the largest logit")


def test_returns_probabilities_not_an_index():
    fails_with(checks.check_sample_with_temperature, lambda logits, t, rng: _softmax(logits / t),
               match="one character index")


# --- bits per character -------------------------------------------------------------------------


def _nats(logits, targets):
    return np.asarray(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))


def test_forgot_ln2():
    fails_with(checks.check_bits_per_character, lambda l, t: float(_nats(l, t).mean()), match="NATS")


def test_multiplied_by_ln2():
    fails_with(checks.check_bits_per_character, lambda l, t: float(_nats(l, t).mean()) * math.log(2),
               match="multiplied by ln 2")


def test_log2_of_averaged_loss():
    fails_with(checks.check_bits_per_character, lambda l, t: float(np.log2(_nats(l, t).mean())),
               match="log2 of the averaged loss")


def test_log2_of_averaged_probability():
    fails_with(checks.check_bits_per_character, lambda l, t: float(-np.log2(np.exp(-_nats(l, t)).mean())),
               match="averaged the probabilities first")


def test_sum_instead_of_mean():
    fails_with(checks.check_bits_per_character, lambda l, t: float(_nats(l, t).sum()) / math.log(2),
               match="SUM")


def test_logits_taken_as_probabilities():
    def no_softmax(logits, targets):
        with np.errstate(all="ignore"):
            return float(-np.mean(np.log2(np.take_along_axis(logits, targets[..., None], -1))))

    fails_with(checks.check_bits_per_character, no_softmax, match="log-softmax")
