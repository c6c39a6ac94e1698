"""Chapter 10's checks against wrong answers a learner writes, and correct answers written differently."""

import math

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import text_generation as checks
from tests.mutations.harness import check_tests

# --- split_input_target ---------------------------------------------------------------------------

SPLIT_MISTAKES = {
    "not_shifted": (lambda window: (window, window), "not shifted"),
    "swapped": (lambda window: (window[1:], window[:-1]), "swapped"),
    "target_keeps_the_window": (lambda window: (window[:-1], window), "one fewer"),
    "shift_by_two": (lambda window: (window[:-2], window[2:]), "exactly one character"),
    "rolled_target": (lambda window: (window, tf.roll(window, -1, axis=0)), "exactly one character"),
    "list_instead_of_tuple": (lambda window: [window[:-1], window[1:]], "becomes ONE tensor"),
    "numpy_slicing": (lambda window: (window.numpy()[:-1], window.numpy()[1:]), "Dataset.map"),
    "written_for_a_batch": (lambda window: (window[:, :-1], window[:, 1:]), "split_input_target failed"),
    "target_is_the_last_id": (lambda window: (window[:-1], window[-1]), r"targets should be a 1-D sequence.*shape \(\)"),
    "input_is_the_first_id": (lambda window: (window[0], window[1:]), r"inputs should be a 1-D sequence"),
    "forgot_return": (lambda window: None, "returned None|got NoneType"),
}


def split_with_len(window):
    """len() of a tensor works in Dataset.map (autograph) because the notebook's windows have a known length."""
    length = len(window) - 1
    return window[:length], window[-length:]


test_split_input_target_mistake_is_rejected, test_split_input_target_written_differently_is_accepted = check_tests(
    checks.check_split_input_target, SPLIT_MISTAKES, [
    lambda window: (tf.slice(window, [0], [tf.size(window) - 1]), tf.slice(window, [1], [tf.size(window) - 1])),
    lambda window: tuple(tf.split(tf.stack([window[:-1], window[1:]]), 2)[i][0] for i in range(2)),
    lambda window: (window[0:tf.shape(window)[0] - 1], window[1:tf.shape(window)[0]]),
    split_with_len,
])


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
    "argmax": (lambda logits, t, rng: int(np.argmax(logits / t)), "argmax"),
    "own_seeded_generator": (own_seeded_generator, "generator of your own"),
    "uniform_draw": (lambda logits, t, rng: int(rng.integers(len(logits))), "equally often"),
    "multiplied_by_t": (lambda logits, t, rng: int(rng.choice(len(logits), p=softmax(logits * t))), "multiplied"),
    "temperature_ignored": (temperature_on_probabilities_renormalised, "no effect"),
    "probabilities_divided": (temperature_on_probabilities, "do not sum to 1"),
    "global_numpy_random": (global_random, "rng passed in"),
    "tensorflow_random": (tensorflow_random, "rng passed in"),
    "overflow": (overflowing_softmax, "Subtract the largest logit"),
    "returns_probabilities": (lambda logits, t, rng: softmax(logits / t), "one character index"),
    "returns_an_array_of_one": (lambda logits, t, rng: rng.choice(
        len(logits), size=1, p=softmax(logits / t)), "one character index"),
    "returns_a_logit": (lambda logits, t, rng: float(rng.choice(logits / t)), "one character index"),
    "forgot_return": (lambda logits, t, rng: None, "got None"),
}


def gumbel_max(logits, temperature, rng):
    return int(np.argmax(np.asarray(logits) / temperature + rng.gumbel(size=len(logits))))


def inverse_cdf(logits, temperature, rng):
    scaled = np.asarray(logits, np.float64) / temperature
    cdf = np.cumsum(np.exp(scaled - scaled.max()))
    return min(int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right")), len(logits) - 1)


def tensorflow_softmax(logits, temperature, rng):
    p = tf.nn.softmax(tf.constant(logits, tf.float64) / temperature).numpy()
    return rng.choice(len(p), p=p)


def check_sampling_quietly(sample):
    """check_sample_with_temperature without numpy's warnings: the wrong samplers overflow on purpose."""
    with np.errstate(all="ignore"):
        checks.check_sample_with_temperature(sample)


(test_sample_with_temperature_mistake_is_rejected,
 test_sample_with_temperature_written_differently_is_accepted) = check_tests(
    check_sampling_quietly, SAMPLING_MISTAKES, [gumbel_max, inverse_cdf, tensorflow_softmax])


# --- bits_per_character ---------------------------------------------------------------------------


def nats(logits, targets, from_logits=True):
    return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=from_logits)


BITS_MISTAKES = {
    "nats": (lambda logits, targets: float(np.mean(nats(logits, targets))), "NATS"),
    "times_ln2": (lambda logits, targets: float(np.mean(nats(logits, targets))) * math.log(2), "multiplied by ln 2"),
    "log10": (lambda logits, targets: float(np.mean(nats(logits, targets))) / math.log(10), "ln 10"),
    "sum": (lambda logits, targets: float(np.sum(nats(logits, targets))) / math.log(2), "SUM"),
    "from_logits_missing": (lambda logits, targets: float(
        np.mean(nats(logits, targets, from_logits=False))) / math.log(2), "from_logits=True"),
    "softmax_then_from_logits": (lambda logits, targets: float(
        np.mean(nats(tf.nn.softmax(logits), targets))) / math.log(2), "applied a softmax"),
    "softmax_over_positions": (lambda logits, targets: -np.mean(np.take_along_axis(
        tf.nn.log_softmax(logits, axis=1).numpy(), targets[..., None], -1)) / math.log(2), "over the positions"),
    "log2_of_the_mean_probability": (lambda logits, targets: float(
        -np.log2(np.mean(np.exp(-nats(logits, targets))))), "averaged the probabilities"),
    "mean_per_sequence": (lambda logits, targets: np.mean(nats(logits, targets), axis=1) / math.log(2), "one number"),
    "forgot_return": (lambda logits, targets: None, "returned None"),
}


def log2_of_softmax(logits, targets):
    p = tf.nn.softmax(logits).numpy()
    return -np.mean(np.log2(np.take_along_axis(p, targets[..., None], axis=-1)))


def tensorflow_mean(logits, targets):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(targets, logits)
    return loss * np.log2(np.e)


test_bits_per_character_mistake_is_rejected, test_bits_per_character_written_differently_is_accepted = check_tests(
    checks.check_bits_per_character, BITS_MISTAKES, [log2_of_softmax, tensorflow_mean])
