"""Checks for chapter 10, character-level text generation with an LSTM.

- ``check_split_input_target``: a window of ``L + 1`` characters becomes (input, target), the
  target being the input shifted one character to the left.
- ``check_sample_with_temperature``: draws one character from ``softmax(logits / T)``.
- ``check_bits_per_character``: mean cross-entropy per character, converted from nats to bits.
"""

import math

import numpy as np

from course_utils.checks._numeric import ce_of_probabilities, log_softmax, softmax
from course_utils.checks._verdict import (CheckFailed, call_learner, learner_array, passed, require, scalar_result,
                                          traced_error)

# Logits of a 4-character toy vocabulary: far enough apart that the wrong ways of applying a
# temperature give clearly different character frequencies.
_LOGITS = np.array([2.0, 1.0, 0.2, -1.0])
_TEMPERATURES = (0.5, 1.0, 2.0)
_DRAWS = 1500
_TOLERANCE = 0.07  # total variation distance; sampling noise with 1,500 draws stays below ~0.03


# --- windows ------------------------------------------------------------------------------------


def _id_sequence(part, what):
    """One half of the learner's pair as a list of ids, or a CheckFailed if it is not a 1-D sequence."""
    ids = learner_array(part, what)
    require(ids.ndim == 1, f"{what} should be a 1-D sequence of ids, shape (L,); it has shape {ids.shape}. Slice "
                           "the window (window[:-1], window[1:]) instead of indexing one id (window[-1]).")
    return ids.astype(np.int64).tolist()


def check_split_input_target(split_input_target):
    """``split_input_target(window)`` -> ``(window[:-1], window[1:])`` for a 1-D tensor of ids.

    It runs eagerly and inside ``tf.data.Dataset.map`` (graph mode), as in the notebook.
    """
    import tensorflow as tf

    window = tf.constant([10, 11, 12, 13, 14, 15], dtype=tf.int32)
    pair = call_learner("split_input_target failed on a window of 6 ids", split_input_target, window)
    require(
        not (isinstance(pair, list) and len(pair) == 2),
        "split_input_target returns a list [inputs, targets]: inside Dataset.map a list becomes ONE tensor "
        "(the two stacked), so fit would see no targets. Return a tuple: return inputs, targets.",
    )
    require(
        isinstance(pair, tuple) and len(pair) == 2,
        f"split_input_target should return a pair (inputs, targets); got {type(pair).__name__}.",
    )
    inputs, targets = (_id_sequence(part, f"split_input_target's {name}")
                       for part, name in zip(pair, ("inputs", "targets")))
    ids = np.asarray(window).tolist()
    require(
        inputs != targets,
        "inputs and targets are the same sequence: the target is not shifted, so the model learns "
        "to copy the character it sees. The target at position t is the character at t + 1: "
        "targets = window[1:].",
    )
    require(
        not (inputs == ids[1:] and targets == ids[:-1]),
        "inputs and targets are swapped: the model would predict the PREVIOUS character. "
        "Use inputs = window[:-1] and targets = window[1:].",
    )
    require(
        len(inputs) == len(targets),
        f"inputs have {len(inputs)} ids and targets {len(targets)}: both should have one fewer than "
        "the window (L + 1 -> L). Drop the last id for the inputs and the first for the targets.",
    )
    require(
        len(inputs) == len(ids) - 1,
        f"a window of {len(ids)} ids should give {len(ids) - 1} inputs and targets, not {len(inputs)}: "
        "shift by exactly one character (window[:-1], window[1:]).",
    )
    require(
        inputs == ids[:-1] and targets == ids[1:],
        f"for the window {ids} expected inputs {ids[:-1]} and targets {ids[1:]}, got {inputs} and "
        f"{targets}: the target must be the input shifted by exactly one character.",
    )
    try:
        dataset = tf.data.Dataset.range(12).map(lambda i: tf.cast(i, tf.int32)).batch(4, drop_remainder=True)
        dataset = dataset.map(split_input_target)  # windows as the notebook makes them
        first_inputs, first_targets = next(iter(dataset))
    except Exception as error:
        raise CheckFailed(
            f"split_input_target fails inside Dataset.map (graph mode): {traced_error(error)}. "
            "Use tensor slicing (window[:-1]), not Python lists or NumPy calls."
        ) from error
    require(
        np.asarray(first_inputs).tolist() == [0, 1, 2] and np.asarray(first_targets).tolist() == [1, 2, 3],
        "inside Dataset.map the pair differs from the eager result; use plain slicing window[:-1], window[1:].",
    )
    passed("targets are the inputs shifted by one character, eagerly and inside Dataset.map")


# --- sampling with a temperature ----------------------------------------------------------------


def _one_index(sample_with_temperature, logits, temperature, rng):
    """One call of the learner's sampler, checked to return one character index (an int)."""
    try:
        index = call_learner(f"sample_with_temperature raised at temperature {temperature}",
                             sample_with_temperature, logits, temperature, rng)
    except CheckFailed as failure:
        cause = str(failure.__cause__)
        overflow = isinstance(failure.__cause__, (FloatingPointError, OverflowError)) or "NaN" in cause
        if overflow:
            raise CheckFailed(
                f"{failure} (logits / T reach {np.max(np.abs(logits)) / temperature:g}): exp overflowed "
                "(inf / inf = nan). Subtract the largest logit before exp (or use a stable softmax)."
            ) from failure.__cause__
        if "sum to 1" in cause or "probabilities" in cause:
            raise CheckFailed(
                f"the probabilities you sample from do not sum to 1 ({cause}). If you applied the "
                "temperature after the softmax (probs ** (1 / T) or probs / T), renormalise, or "
                "better: divide the LOGITS by T and then take the softmax."
            ) from failure.__cause__
        raise
    try:
        integral = np.ndim(index) == 0 and float(index) == int(index)
    except (TypeError, ValueError, OverflowError):
        integral = False
    require(integral, f"sample_with_temperature should return one character index (an int), got {index!r}.")
    return int(index)


def _draw_many(sample_with_temperature, temperature, seed):
    rng = np.random.default_rng(seed)
    draws = np.array([_one_index(sample_with_temperature, _LOGITS.copy(), temperature, rng) for _ in range(_DRAWS)])
    require(
        draws.min() >= 0 and draws.max() < len(_LOGITS),
        f"with {len(_LOGITS)} logits the index must lie in 0..{len(_LOGITS) - 1}; got {draws.min()}..{draws.max()}.",
    )
    return np.bincount(draws, minlength=len(_LOGITS)) / _DRAWS


def _distance(frequencies, probabilities):
    return 0.5 * float(np.abs(frequencies - probabilities).sum())


def check_sample_with_temperature(sample_with_temperature):
    """``sample_with_temperature(logits, temperature, rng)`` draws an index from softmax(logits / T)."""
    frequencies = {t: _draw_many(sample_with_temperature, t, seed=1) for t in _TEMPERATURES}
    for temperature, observed in frequencies.items():
        expected = softmax(_LOGITS / temperature)
        if _distance(observed, expected) <= _TOLERANCE:
            continue
        if observed.max() > 0.999:
            # The most likely character first, then last: an argmax follows it; a fixed draw u cannot
            # land in both [0, 0.3) and [0.7, 1).
            peaks = [np.log([0.3, 0.25, 0.25, 0.2]), np.log([0.2, 0.25, 0.25, 0.3])]
            picks = [_one_index(sample_with_temperature, logits, 1.0, np.random.default_rng(3)) for logits in peaks]
            require(
                picks == [0, 3],
                f"every draw gave index {observed.argmax()}, whatever the rng: you draw with a random generator "
                "of your own, created anew at each call (np.random.default_rng(seed)?), so each call repeats "
                "the first draw. Use the rng passed in: rng.choice(len(p), p=p).",
            )
            raise CheckFailed(
                f"at temperature {temperature} every draw gave index {observed.argmax()}: you take the "
                "argmax instead of sampling. Draw from the distribution, e.g. rng.choice(len(p), p=p)."
            )
        require(
            _distance(observed, np.full(len(_LOGITS), 1 / len(_LOGITS))) > _TOLERANCE,
            f"at temperature {temperature} every character is drawn equally often: the draw ignores the "
            "probabilities. Pass them to the rng: rng.choice(len(p), p=p).",
        )
        require(
            _distance(observed, softmax(_LOGITS * temperature)) > _TOLERANCE,
            f"at temperature {temperature} the draws follow softmax(logits * T): you multiplied by the "
            "temperature. Divide instead, softmax(logits / T), so that T < 1 sharpens and T > 1 flattens.",
        )
        require(
            _distance(observed, softmax(_LOGITS)) > _TOLERANCE,
            f"at temperature {temperature} the draws follow softmax(logits), as if T were 1: the "
            "temperature has no effect (dividing the probabilities by T and renormalising cancels it). "
            "Divide the logits by T before the softmax.",
        )
        raise CheckFailed(
            f"at temperature {temperature} the character frequencies {np.round(observed, 3).tolist()} are "
            f"far from softmax(logits / T) = {np.round(expected, 3).tolist()}. Divide the logits by T, "
            "take a softmax, then draw one index with the rng."
        )
    again = _draw_many(sample_with_temperature, 1.0, seed=1)
    require(
        np.array_equal(again, frequencies[1.0]),
        "the same rng seed gave different draws: use the rng passed in (rng.choice, rng.random), not "
        "np.random or tf.random, so that a seeded run repeats itself.",
    )
    with np.errstate(all="ignore"):
        cold = [_one_index(sample_with_temperature, np.array([300.0, 0.0, -300.0]), 0.01, np.random.default_rng(s))
                for s in range(5)]
    require(
        cold == [0] * 5,
        f"for logits [300, 0, -300] at T = 0.01 expected always index 0, got {cold}: exp overflowed "
        "(inf / inf = nan). Subtract the largest logit before exp to keep the softmax stable.",
    )
    passed(f"draws follow softmax(logits / T) at T = {', '.join(map(str, _TEMPERATURES))} and use the rng given")


# --- bits per character -------------------------------------------------------------------------


def _reference_nats(logits, targets, axis=-1):
    """-log p(target) at each position, with the softmax taken along ``axis`` (the characters: -1)."""
    log_probs = log_softmax(logits, axis=axis)
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def check_bits_per_character(bits_per_character):
    """``bits_per_character(logits, targets)``: mean of -log2 p(target) over all characters."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, size=(3, 5, 7)).astype(np.float32)
    targets = rng.integers(0, 7, size=(3, 5))
    value = scalar_result(call_learner("bits_per_character failed on logits of shape (3, 5, 7) and targets of "
                                       "shape (3, 5)", bits_per_character, logits, targets), "bits_per_character")
    nats = _reference_nats(logits, targets)
    expected = float(nats.mean() / math.log(2))
    if math.isclose(value, expected, rel_tol=1e-4):
        uniform = scalar_result(call_learner("bits_per_character failed on equal logits of shape (2, 4, 64)",
                                             bits_per_character, np.zeros((2, 4, 64), np.float32),
                                             np.zeros((2, 4), np.int64)), "bits_per_character")
        require(
            math.isclose(uniform, 6.0, rel_tol=1e-4),
            f"equal logits over 64 characters should give log2(64) = 6 bits per character, got {uniform:.4g}.",
        )
        passed("bits per character = mean cross-entropy in nats / ln 2 (6 bits for a uniform guess over 64)")
        return
    require(
        math.isfinite(value),
        f"got {value}: a log of a negative number or zero. The inputs are LOGITS: turn them into "
        "log-probabilities with a log-softmax before picking the target's entry.",
    )
    mean_nats = float(nats.mean())
    target_probs = np.exp(-nats)
    mistakes = [
        (mean_nats, "this is the mean cross-entropy in NATS: divide by ln 2 to get bits (log2 x = ln x / ln 2)."),
        (mean_nats * math.log(2), "you multiplied by ln 2; divide by it instead (bits = nats / ln 2)."),
        (float(nats.sum() / math.log(2)), "this is the SUM over all characters; bits per character is the mean."),
        (float(-np.log2(target_probs.mean())),
         "you averaged the probabilities first and took log2 afterwards; take -log2 of each character's "
         "probability first, then average (the mean of logs is not the log of the mean)."),
        (float(np.log2(mean_nats)),
         "you took log2 of the averaged loss; the loss is already a log: convert it by dividing by ln 2."),
        (float(nats.mean() / math.log(10)), "you divided by ln 10; bits use base 2: divide by ln 2."),
        (ce_of_probabilities(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)) / math.log(2),
         "the cross-entropy treats the logits as probabilities: the model outputs logits, so use "
         "from_logits=True (or a log-softmax of the logits)."),
        (float(_reference_nats(softmax(logits), targets).mean() / math.log(2)),
         "you applied a softmax and then a cross-entropy with from_logits=True, which applies its own: pass "
         "the logits unchanged."),
        (float(_reference_nats(logits, targets, axis=1).mean() / math.log(2)),
         "the softmax runs over the positions (axis 1): it must run over the characters, the last axis."),
    ]
    for wrong, message in mistakes:
        require(not math.isclose(value, wrong, rel_tol=1e-4), f"got {value:.4g} instead of {expected:.4g}: {message}")
    raise CheckFailed(
        f"got {value:.4g} bits per character, expected {expected:.4g}: the mean over all characters of "
        "-log p(target) (from a log-softmax of the logits), divided by ln 2."
    )
