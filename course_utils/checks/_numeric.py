"""NumPy references the checks compare a learner's TensorFlow code with (float64, stable)."""

import numpy as np


def logsumexp(logits, axis=-1, keepdims=False):
    """log sum exp(logits) along ``axis``, without overflow for large logits."""
    return np.logaddexp.reduce(np.asarray(logits, dtype=np.float64), axis=axis, keepdims=keepdims)


def log_softmax(logits, axis=-1):
    """log softmax(logits) along ``axis``, without overflow for large logits."""
    logits = np.asarray(logits, dtype=np.float64)
    return logits - logsumexp(logits, axis=axis, keepdims=True)


def softmax(logits, axis=-1):
    """softmax(logits) along ``axis``."""
    return np.exp(log_softmax(logits, axis))


# What Keras' cross-entropies compute with from_logits=False: the value a loss gives when a learner passes
# logits where probabilities belong. Keras clips the probabilities to [eps, 1 - eps] (in float32) before the log.
_KERAS_EPSILON = 1e-7


def _clipped_probabilities(values):
    clipped = np.clip(np.asarray(values, dtype=np.float32), np.float32(_KERAS_EPSILON), np.float32(1 - _KERAS_EPSILON))
    return clipped.astype(np.float64)


def bce_of_probabilities(values, target):
    """Mean binary cross-entropy of ``values`` read as probabilities, against the constant ``target``."""
    p = _clipped_probabilities(values)
    return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))


def ce_of_probabilities(values, labels):
    """Mean sparse categorical cross-entropy of rows of ``values`` read as probabilities (renormalised)."""
    log_p = log_softmax(np.log(_clipped_probabilities(values)))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))
