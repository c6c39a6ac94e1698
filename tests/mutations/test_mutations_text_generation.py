"""Chapter 10's checks against wrong answers a learner writes, and correct answers written differently."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import text_generation as checks
from tests.mutations.harness import assert_accepted, assert_rejected

# --- split_input_target ---------------------------------------------------------------------------

SPLIT_MISTAKES = {
    "not_shifted": ("not shifted", lambda window: (window, window)),
    "swapped": ("swapped", lambda window: (window[1:], window[:-1])),
    "target_keeps_the_window": ("one fewer", lambda window: (window[:-1], window)),
    "shift_by_two": ("exactly one character", lambda window: (window[:-2], window[2:])),
    "rolled_target": ("exactly one character", lambda window: (window, tf.roll(window, -1, axis=0))),
    "list_instead_of_tuple": ("becomes ONE tensor", lambda window: [window[:-1], window[1:]]),
    "numpy_slicing": ("Dataset.map", lambda window: (window.numpy()[:-1], window.numpy()[1:])),
    "written_for_a_batch": ("split_input_target failed", lambda window: (window[:, :-1], window[:, 1:])),
    "forgot_return": ("returned None|got NoneType", lambda window: None),
}


@pytest.mark.parametrize("mistake", SPLIT_MISTAKES)
def test_split_input_target_mistake_is_rejected(mistake):
    pattern, split = SPLIT_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_split_input_target, split)


def split_with_len(window):
    """len() of a tensor works in Dataset.map (autograph) because the notebook's windows have a known length."""
    length = len(window) - 1
    return window[:length], window[-length:]


@pytest.mark.parametrize("split", [
    lambda window: (tf.slice(window, [0], [tf.size(window) - 1]), tf.slice(window, [1], [tf.size(window) - 1])),
    lambda window: tuple(tf.split(tf.stack([window[:-1], window[1:]]), 2)[i][0] for i in range(2)),
    lambda window: (window[0:tf.shape(window)[0] - 1], window[1:tf.shape(window)[0]]),
    split_with_len,
])
def test_split_input_target_written_differently_is_accepted(split):
    assert_accepted(checks.check_split_input_target, split)


# --- sample_with_temperature ----------------------------------------------------------------------


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def own_seeded_generator(logits, temperature, rng):
    return int(np.random.default_rng(0).choice(len(logits), p=softmax(logits / temperature)))


def global_random(logits, temperature, rng):
    return int(np.random.choice(len(logits), p=softmax(logits / temperature)))


def tensorflow_random(logits, temperature, rng):
    return int(tf.random.categorical([logits / temperature], 1)[0, 0])


def overflowing_softmax(logits, temperature, rng):
    e = np.exp(np.asarray(logits, np.float64) / temperature)
    return int(rng.choice(len(logits), p=e / e.sum()))


def temperature_on_probabilities(logits, temperature, rng):
    return int(rng.choice(len(logits), p=softmax(logits) / temperature))


def temperature_on_probabilities_renormalised(logits, temperature, rng):
    p = softmax(logits) / temperature
    return int(rng.choice(len(logits), p=p / p.sum()))


SAMPLING_MISTAKES = {
    "argmax": ("argmax", lambda logits, t, rng: int(np.argmax(logits / t))),
    "own_seeded_generator": ("generator of your own", own_seeded_generator),
    "uniform_draw": ("equally often", lambda logits, t, rng: int(rng.integers(len(logits)))),
    "multiplied_by_t": ("multiplied", lambda logits, t, rng: int(rng.choice(len(logits), p=softmax(logits * t)))),
    "temperature_ignored": ("no effect", temperature_on_probabilities_renormalised),
    "probabilities_divided": ("do not sum to 1", temperature_on_probabilities),
    "global_numpy_random": ("rng passed in", global_random),
    "tensorflow_random": ("rng passed in", tensorflow_random),
    "overflow": ("Subtract the largest logit", overflowing_softmax),
    "returns_probabilities": ("one character index", lambda logits, t, rng: softmax(logits / t)),
    "returns_an_array_of_one": ("one character index", lambda logits, t, rng: rng.choice(
        len(logits), size=1, p=softmax(logits / t))),
    "returns_a_logit": ("one character index", lambda logits, t, rng: float(rng.choice(logits / t))),
    "forgot_return": ("got None", lambda logits, t, rng: None),
}


@pytest.mark.parametrize("mistake", SAMPLING_MISTAKES)
def test_sample_with_temperature_mistake_is_rejected(mistake):
    pattern, sample = SAMPLING_MISTAKES[mistake]
    with np.errstate(all="ignore"):
        assert_rejected(pattern, checks.check_sample_with_temperature, sample)


def gumbel_max(logits, temperature, rng):
    return int(np.argmax(np.asarray(logits) / temperature + rng.gumbel(size=len(logits))))


def inverse_cdf(logits, temperature, rng):
    scaled = np.asarray(logits, np.float64) / temperature
    cdf = np.cumsum(np.exp(scaled - scaled.max()))
    return min(int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right")), len(logits) - 1)


def tensorflow_softmax(logits, temperature, rng):
    p = tf.nn.softmax(tf.constant(logits, tf.float64) / temperature).numpy()
    return rng.choice(len(p), p=p)


@pytest.mark.parametrize("sample", [gumbel_max, inverse_cdf, tensorflow_softmax])
def test_sample_with_temperature_written_differently_is_accepted(sample):
    assert_accepted(checks.check_sample_with_temperature, sample)


# --- bits_per_character ---------------------------------------------------------------------------


def nats(logits, targets, from_logits=True):
    return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=from_logits)


BITS_MISTAKES = {
    "nats": ("NATS", lambda logits, targets: float(np.mean(nats(logits, targets)))),
    "times_ln2": ("multiplied by ln 2", lambda logits, targets: float(np.mean(nats(logits, targets))) * math.log(2)),
    "log10": ("ln 10", lambda logits, targets: float(np.mean(nats(logits, targets))) / math.log(10)),
    "sum": ("SUM", lambda logits, targets: float(np.sum(nats(logits, targets))) / math.log(2)),
    "from_logits_missing": ("from_logits=True", lambda logits, targets: float(
        np.mean(nats(logits, targets, from_logits=False))) / math.log(2)),
    "softmax_then_from_logits": ("applied a softmax", lambda logits, targets: float(
        np.mean(nats(tf.nn.softmax(logits), targets))) / math.log(2)),
    "softmax_over_positions": ("over the positions", lambda logits, targets: -np.mean(np.take_along_axis(
        tf.nn.log_softmax(logits, axis=1).numpy(), targets[..., None], -1)) / math.log(2)),
    "log2_of_the_mean_probability": ("averaged the probabilities", lambda logits, targets: float(
        -np.log2(np.mean(np.exp(-nats(logits, targets)))))),
    "mean_per_sequence": ("one number", lambda logits, targets: np.mean(nats(logits, targets), axis=1) / math.log(2)),
    "forgot_return": ("returned None", lambda logits, targets: None),
}


@pytest.mark.parametrize("mistake", BITS_MISTAKES)
def test_bits_per_character_mistake_is_rejected(mistake):
    pattern, bits = BITS_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_bits_per_character, bits)


def log2_of_softmax(logits, targets):
    p = tf.nn.softmax(logits).numpy()
    return -np.mean(np.log2(np.take_along_axis(p, targets[..., None], axis=-1)))


def tensorflow_mean(logits, targets):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(targets, logits)
    return loss * np.log2(np.e)


@pytest.mark.parametrize("bits", [log2_of_softmax, tensorflow_mean])
def test_bits_per_character_written_differently_is_accepted(bits):
    assert_accepted(checks.check_bits_per_character, bits)
