"""NumPy references the checks compare a learner's TensorFlow code with (float64, stable), and the
comparisons they use."""

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


# --- comparing a learner's numbers with a reference ----------------------------------------------------
# Give these arrays that passed ``learner_array`` (or references): they never raise on a shape mismatch.


def close(a, b, tol=1e-4, atol=None):
    """True when ``a`` and ``b`` have the same shape and agree within ``tol``, relative, and ``atol`` (``tol``
    when not given), absolute."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol if atol is None else atol))


def flat(arrays):
    """Arrays (e.g. the gradients of a model's variables) joined into one float64 vector."""
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def close_in_norm(a, b, tol=1e-3):
    """True when vectors ``a`` and ``b`` have the same shape and ``|a - b| <= tol * |b|`` (for gradients,
    whose entries vary too much in size for an entrywise tolerance)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.linalg.norm(a - b) <= tol * max(np.linalg.norm(b), 1e-6))


def cosine(a, b):
    """The cosine of the angle between vectors ``a`` and ``b`` (0 when their shapes differ)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return 0.0
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))
