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
