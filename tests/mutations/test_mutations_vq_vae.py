"""Chapter 14's checks against wrong answers a learner writes, and correct answers written differently."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import vq_vae as checks
from tests.mutations.harness import check_tests

# --- exercise 1: nearest_codes -------------------------------------------------------------------


def squared_distances(z, codebook):
    return (tf.reduce_sum(tf.square(z), axis=1, keepdims=True) - 2.0 * tf.matmul(z, codebook, transpose_b=True)
            + tf.reduce_sum(tf.square(codebook), axis=1)[None, :])


def python_loop_over_vectors(z, codebook):
    return tf.stack([tf.argmin(tf.reduce_sum(tf.square(codebook - z[i]), axis=1)) for i in range(z.shape[0])])


def len_loop_over_vectors(z, codebook):
    return tf.stack([tf.argmin(tf.reduce_sum(tf.square(codebook - z[i]), axis=1)) for i in range(len(z))])


def python_loop_over_codes(z, codebook):
    columns = [tf.reduce_sum(tf.square(z - codebook[k]), axis=1) for k in range(codebook.shape[0])]
    return tf.argmin(tf.stack(columns, axis=1), axis=1)


def map_fn_over_vectors(z, codebook):
    return tf.map_fn(lambda row: tf.argmin(tf.reduce_sum(tf.square(codebook - row), axis=1)), z,
                     fn_output_signature=tf.int64)


def numpy_distances(z, codebook):
    z, codebook = np.asarray(z), np.asarray(codebook)
    return np.argmin(((z[:, None] - codebook[None]) ** 2).sum(-1), axis=1)


NEAREST_MISTAKES = {
    "argmax": (lambda z, e: tf.argmax(squared_distances(z, e), axis=1), "FARTHEST"),
    "largest_dot_product": (lambda z, e: tf.argmax(tf.matmul(z, e, transpose_b=True), axis=1), "dot product"),
    "no_code_norms": (lambda z, e: tf.argmin(tf.reduce_sum(z ** 2, 1, keepdims=True)
                                             - 2 * tf.matmul(z, e, transpose_b=True), axis=1), "leave \\|e\\|\\^2 out"),
    "plus_cross_term": (lambda z, e: tf.argmin(tf.reduce_sum(e ** 2, 1)[None] + 2 * tf.matmul(z, e, transpose_b=True),
                                               axis=1), "wrong sign"),
    "no_factor_two": (lambda z, e: tf.argmin(tf.reduce_sum(e ** 2, 1)[None] - tf.matmul(z, e, transpose_b=True),
                                             axis=1), "factor 2"),
    "l1_distance": (lambda z, e: tf.argmin(tf.reduce_sum(tf.abs(z[:, None] - e[None]), -1), axis=1), "L1"),
    "argmin_over_vectors": (lambda z, e: tf.argmin(squared_distances(z, e), axis=0), "axis 0"),
    "returns_distances": (squared_distances, "the distances themselves"),
    "returns_vectors": (lambda z, e: tf.gather(e, tf.argmin(squared_distances(z, e), axis=1)), "VECTORS"),
    "float_indices": (lambda z, e: tf.cast(tf.argmin(squared_distances(z, e), axis=1), tf.float32), "integers"),
    "forgot_return": (lambda z, e: None, "returned None"),
    "python_loop_over_vectors": (python_loop_over_vectors, "Python loop over the rows"),
    "len_loop_over_vectors": (len_loop_over_vectors, "Python loop over the rows"),
    "python_loop_over_codes": (python_loop_over_codes, "loops over the codes in Python"),
    "map_fn": (map_fn_over_vectors, "loops over the vectors"),
    "numpy": (numpy_distances, "NumPy"),
}


def broadcast_differences(z, codebook):
    return tf.argmin(tf.reduce_sum(tf.square(z[:, None, :] - codebook[None, :, :]), axis=-1), axis=-1)


def keras_ops_without_z_norm(z, codebook):
    scores = keras.ops.sum(codebook ** 2, axis=1) - 2 * keras.ops.matmul(z, keras.ops.transpose(codebook))
    return keras.ops.argmin(scores, axis=1)


def einsum_distances(z, codebook):
    distances = (tf.einsum("nd,nd->n", z, z)[:, None] - 2 * tf.einsum("nd,kd->nk", z, codebook)
                 + tf.einsum("kd,kd->k", codebook, codebook))
    return tf.argmin(distances, axis=1, output_type=tf.int32)


test_nearest_mistake_is_rejected, test_nearest_written_differently_is_accepted = check_tests(
    checks.check_nearest_codes, NEAREST_MISTAKES, [broadcast_differences, keras_ops_without_z_norm, einsum_distances])


# --- exercise 2: straight_through_and_losses -------------------------------------------------------

sg = tf.stop_gradient


def losses(z_e, z_q):
    return tf.reduce_mean(tf.square(sg(z_e) - z_q)), tf.reduce_mean(tf.square(z_e - sg(z_q)))


def with_decoder_input(make_z):
    def straight_through_and_losses(z_e, z_q):
        return (make_z(z_e, z_q), *losses(z_e, z_q))
    return straight_through_and_losses


def with_losses(codebook_loss, commitment_loss):
    def straight_through_and_losses(z_e, z_q):
        return z_e + sg(z_q - z_e), codebook_loss(z_e, z_q), commitment_loss(z_e, z_q)
    return straight_through_and_losses


RIGHT_CODEBOOK = lambda z_e, z_q: tf.reduce_mean(tf.square(sg(z_e) - z_q))  # noqa: E731
RIGHT_COMMITMENT = lambda z_e, z_q: tf.reduce_mean(tf.square(z_e - sg(z_q)))  # noqa: E731

STRAIGHT_THROUGH_MISTAKES = {
    "returns_z_q": (with_decoder_input(lambda z_e, z_q: z_q), "no gradient reaches the encoder"),
    "returns_z_e": (with_decoder_input(lambda z_e, z_q: z_e), "equals the encoder's output"),
    "no_stop_gradient": (with_decoder_input(lambda z_e, z_q: z_e + (z_q - z_e)), "reaches z_q instead"),
    "stop_gradient_on_z_q": (with_decoder_input(lambda z_e, z_q: sg(z_q)), "no gradient reaches the encoder"),
    "stop_gradient_on_z_q_alone": (with_decoder_input(lambda z_e, z_q: z_e + sg(z_q) - z_e),
                                   r"no gradient reaches the encoder.*not around z_q alone.*cancel\)\. The straight"),
    "reversed": (with_decoder_input(lambda z_e, z_q: z_q + sg(z_e - z_q)), "equals the encoder's output"),
    "also_to_codes": (with_decoder_input(lambda z_e, z_q: z_e + z_q - sg(z_e)), "also reaches z_q"),
    "swapped_losses": (with_losses(RIGHT_COMMITMENT, RIGHT_CODEBOOK), "swapped"),
    "no_stop_gradient_in_losses": (with_losses(lambda a, b: tf.reduce_mean(tf.square(a - b)),
                                               lambda a, b: tf.reduce_mean(tf.square(a - b))), "both z_e and z_q"),
    "both_stopped": (with_losses(lambda a, b: tf.reduce_mean(tf.square(sg(a) - sg(b))), RIGHT_COMMITMENT),
                     "no gradient anywhere"),
    "summed": (with_losses(lambda a, b: tf.reduce_sum(tf.square(sg(a) - b)), RIGHT_COMMITMENT), "SUM"),
    "beta_inside": (with_losses(RIGHT_CODEBOOK, lambda a, b: 0.25 * RIGHT_COMMITMENT(a, b)), "without beta"),
    "absolute": (with_losses(lambda a, b: tf.reduce_mean(tf.abs(sg(a) - b)), RIGHT_COMMITMENT), "ABSOLUTE"),
    "not_squared": (with_losses(RIGHT_CODEBOOK, lambda a, b: tf.reduce_mean(a - sg(b))), "not squared"),
    "summed_over_the_code_only": (with_losses(RIGHT_CODEBOOK, lambda a, b: tf.reduce_mean(
        tf.reduce_sum(tf.square(a - sg(b)), axis=-1))), "sums the squares over the 4 numbers of each vector"),
    "per_vector": (with_losses(lambda a, b: tf.reduce_mean(tf.square(sg(a) - b), axis=-1), RIGHT_COMMITMENT),
                   "one number"),
    "numpy_losses": (lambda z_e, z_q: (z_e + sg(z_q - z_e), float(np.mean((z_e.numpy() - z_q.numpy()) ** 2)),
                                       float(np.mean((z_e.numpy() - z_q.numpy()) ** 2))), "NumPy"),
    "two_values": (lambda z_e, z_q: (z_e + sg(z_q - z_e), RIGHT_CODEBOOK(z_e, z_q) + RIGHT_COMMITMENT(z_e, z_q)),
                   "3 things"),
    "decoder_input_flattened": (with_decoder_input(lambda z_e, z_q: tf.reshape(z_e + sg(z_q - z_e), [-1])),
                                "shape of z_e"),
    "forgot_return": (lambda z_e, z_q: None, "returned None"),
}


def with_keras_ops(z_e, z_q):
    ops = keras.ops
    z = z_e + ops.stop_gradient(z_q - z_e)
    return z, ops.mean((ops.stop_gradient(z_e) - z_q) ** 2), ops.mean((z_e - ops.stop_gradient(z_q)) ** 2)


def with_mse(z_e, z_q):
    mse = keras.losses.MeanSquaredError()
    frozen_e, frozen_q = sg(z_e), sg(z_q)
    return z_e - sg(z_e) + frozen_q, mse(frozen_e, z_q), mse(z_e, frozen_q)


def with_mse_per_vector_then_mean(z_e, z_q):
    per_vector = keras.losses.mean_squared_error  # the mean over the D numbers of each vector
    return (z_e + sg(z_q - z_e), tf.reduce_mean(per_vector(sg(z_e), z_q)),
            tf.reduce_mean(per_vector(z_e, sg(z_q))))


test_straight_through_mistake_is_rejected, test_straight_through_written_differently_is_accepted = check_tests(
    checks.check_straight_through, STRAIGHT_THROUGH_MISTAKES, [with_keras_ops, with_mse, with_mse_per_vector_then_mean])


# --- exercise 3: codebook_usage ------------------------------------------------------------------


def usage_with(perplexity_of, dead_of=lambda counts: int(np.sum(counts == 0)), counts_of=None):
    def codebook_usage(indices, num_codes):
        counts = (np.bincount(np.ravel(indices), minlength=num_codes) if counts_of is None
                  else counts_of(indices, num_codes))
        return perplexity_of(counts, num_codes), dead_of(counts)
    return codebook_usage


def entropy_of(counts):
    p = counts[counts > 0] / counts.sum()
    return -np.sum(p * np.log(p))


def perplexity_with_zero_log_zero(counts):
    p = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf, 0 * -inf = NaN: the mistake tried
        return np.exp(-np.sum(p * np.log(p)))


USAGE_MISTAKES = {
    "entropy": (usage_with(lambda c, k: entropy_of(c)), "the entropy"),
    "exp_of_bits": (usage_with(lambda c, k: np.exp(entropy_of(c) / np.log(2))), "same base"),
    "two_to_nats": (usage_with(lambda c, k: 2 ** entropy_of(c)), "same base"),
    "codes_in_use": (usage_with(lambda c, k: float(np.sum(c > 0))), "number of codes in use"),
    "divided_by_num_codes": (usage_with(lambda c, k: np.exp(-np.sum((c / k)[c > 0] * np.log((c / k)[c > 0])))),
                             "divide the counts by their total"),
    "zero_log_zero": (usage_with(lambda c, k: perplexity_with_zero_log_zero(c)), "NaN"),
    "dead_are_used": (usage_with(lambda c, k: np.exp(entropy_of(c)), dead_of=lambda c: int(np.sum(c > 0))),
                      "IN USE"),
    "no_minlength": (usage_with(lambda c, k: np.exp(entropy_of(c)), counts_of=lambda i, k: np.bincount(np.ravel(i))),
                     "minlength"),
    "not_flattened": (usage_with(lambda c, k: np.exp(entropy_of(c)), counts_of=lambda i, k: np.bincount(i, minlength=k)),
                      "flatten"),
    "dead_as_list": (usage_with(lambda c, k: np.exp(entropy_of(c)), dead_of=lambda c: np.flatnonzero(c == 0)),
                     "one number"),
    "one_value": (lambda indices, num_codes: 3.0, "2 things"),
}


def usage_with_unique(indices, num_codes):
    _, counts = np.unique(np.asarray(indices).reshape(-1), return_counts=True)
    p = counts / counts.sum()
    return 2 ** -(p * np.log2(p)).sum(), num_codes - len(counts)


def usage_in_tensorflow(indices, num_codes):
    counts = tf.math.bincount(tf.reshape(tf.constant(indices, tf.int32), [-1]), minlength=num_codes, dtype=tf.float64)
    p = counts / tf.reduce_sum(counts)
    entropy = -tf.reduce_sum(tf.math.multiply_no_nan(tf.math.log(p), p))
    return tf.exp(entropy), tf.reduce_sum(tf.cast(counts == 0, tf.int32))


def usage_with_epsilon(indices, num_codes):
    counts = np.bincount(np.asarray(indices).flatten(), minlength=num_codes)
    p = counts / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p + 1e-12)))), int((counts == 0).sum())


test_usage_mistake_is_rejected, test_usage_written_differently_is_accepted = check_tests(
    checks.check_codebook_usage, USAGE_MISTAKES, [usage_with_unique, usage_in_tensorflow, usage_with_epsilon])


# --- exercise 4: prior_sequences -----------------------------------------------------------------


def sequences_with(order="C", offset=0, shift=True, token_first=True, swap=False):
    def prior_sequences(code_grids, labels, num_codes):
        codes = np.asarray(code_grids).reshape(len(code_grids), -1, order=order) if order == "C" else \
            np.transpose(code_grids, (0, 2, 1)).reshape(len(code_grids), -1)
        tokens = (num_codes + offset + np.asarray(labels))[:, None]
        full = np.concatenate([tokens, codes] if token_first else [codes, tokens], axis=1)
        inputs, targets = (full[:, :-1], full[:, 1:]) if shift else (full[:, :-1], full[:, :-1])
        return (targets, inputs) if swap else (inputs, targets)
    return prior_sequences


SEQUENCE_MISTAKES = {
    "column_order": (sequences_with(order="F"), "column by column"),
    "label_as_token": (sequences_with(offset=-9), "label itself"),
    "off_by_one": (sequences_with(offset=-1), "off by one"),
    "swapped": (sequences_with(swap=True), "swapped"),
    "no_shift": (sequences_with(shift=False), "copy"),
    "token_last": (sequences_with(token_first=False), "at the end"),
    "keeps_last_code": (lambda g, y, k: (np.concatenate([(k + y)[:, None], g.reshape(len(g), -1)], axis=1),
                                         g.reshape(len(g), -1)), "leave out the last code"),
    "no_class_token": (lambda g, y, k: (g.reshape(len(g), -1), g.reshape(len(g), -1)), "no class token"),
    "float_tokens": (lambda g, y, k: tuple(a.astype(np.float32) for a in sequences_with()(g, y, k)), "integers"),
    "flattened_batch": (lambda g, y, k: (np.concatenate([[k + y[0]], g.ravel()[:-1]]), g.ravel()), "shape"),
    "forgot_return": (lambda g, y, k: None, "returned None"),
}


def sequences_in_tensorflow(code_grids, labels, num_codes):
    codes = tf.reshape(code_grids, [tf.shape(code_grids)[0], -1])
    class_tokens = tf.expand_dims(tf.cast(labels, codes.dtype) + num_codes, 1)
    return tf.concat([class_tokens, codes[:, :-1]], axis=1), codes


def sequences_by_slicing(code_grids, labels, num_codes):
    n, h, w = code_grids.shape
    full = np.empty((n, h * w + 1), dtype=np.int64)
    full[:, 0] = labels + num_codes
    full[:, 1:] = code_grids.reshape(n, h * w)
    return full[:, :-1], full[:, 1:]


test_sequences_mistake_is_rejected, test_sequences_written_differently_is_accepted = check_tests(
    checks.check_prior_sequences, SEQUENCE_MISTAKES, [sequences_in_tensorflow, sequences_by_slicing])
