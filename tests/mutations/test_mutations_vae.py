"""Chapter 03 checks, tried as an examiner would: wrong answers learners write, correct ones written differently."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import vae as checks
from tests.mutations.harness import check_tests


def eps_like(mean):
    return tf.random.normal(tf.shape(mean))


def kl_divergence(mean, log_var):
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_var) - log_var - 1.0, axis=-1)


def bce(x, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)


def pixels_sum(per_pixel):
    return tf.reduce_sum(per_pixel, axis=[1, 2, 3])


# --- exercise 1: reparameterize -------------------------------------------------------------------

REPARAMETERIZE_WRONG = {
    "no_noise": (lambda m, lv: m, "noise is missing"),
    "log_var_as_std": (lambda m, lv: m + lv * eps_like(m), "log-variance as the standard deviation"),
    "variance_as_std": (lambda m, lv: m + tf.exp(lv) * eps_like(m), "VARIANCE"),
    "quarter_exponent": (lambda m, lv: m + tf.exp(0.25 * lv) * eps_like(m), r"exp\(0.25"),
    "mean_forgotten": (lambda m, lv: tf.exp(0.5 * lv) * eps_like(m), "add the mean"),
    "uniform_eps": (lambda m, lv: m + tf.exp(0.5 * lv) * (tf.random.uniform(tf.shape(m)) * 3.46 - 1.73), "uniform"),
    "numpy_eps": (lambda m, lv: m + tf.exp(0.5 * lv) * np.random.standard_normal(m.shape).astype("float32"),
                  "same z every call"),
    "stop_gradient": (lambda m, lv: tf.stop_gradient(m + tf.exp(0.5 * lv) * eps_like(m)), "no gradient"),
    "returns_numpy": (lambda m, lv: (m + tf.exp(0.5 * lv) * eps_like(m)).numpy(), "no gradient"),
    "one_eps_for_the_batch": (lambda m, lv: m + tf.exp(0.5 * lv) * tf.random.normal(tf.shape(m)[1:]), "whole batch"),
    "one_eps_per_example": (lambda m, lv: m + tf.exp(0.5 * lv) * tf.random.normal([tf.shape(m)[0], 1]),
                            "move together"),
    "static_shape": (lambda m, lv: m + tf.exp(0.5 * lv) * tf.random.normal(m.shape), r"tf\.shape\(x\)"),
    "sqrt_of_log_var": (lambda m, lv: m + tf.sqrt(lv) * eps_like(m), "NaN"),
    "returns_z_and_eps": (lambda m, lv: (m + tf.exp(0.5 * lv) * eps_like(m), eps_like(m)), "shape"),
    "returns_none": (lambda m, lv: None, "returned None"),
}

REPARAMETERIZE_RIGHT = {
    "sqrt_of_variance": lambda m, lv: m + tf.sqrt(tf.exp(lv)) * eps_like(m),
    "keras_ops": lambda m, lv: m + keras.ops.exp(lv / 2) * keras.random.normal(keras.ops.shape(m)),
    "minus_noise": lambda m, lv: m - tf.exp(0.5 * lv) * tf.random.normal(tf.shape(lv)),
}


test_reparameterize_rejects, test_reparameterize_accepts = check_tests(
    checks.check_reparameterize, REPARAMETERIZE_WRONG, REPARAMETERIZE_RIGHT)


# --- exercise 2: kl_divergence --------------------------------------------------------------------

KL_WRONG = {
    "wrong_sign": (lambda m, lv: -kl_divergence(m, lv), "wrong sign"),
    "mean_over_latent_dims": (lambda m, lv: 0.5 * tf.reduce_mean(m**2 + tf.exp(lv) - lv - 1.0, axis=-1),
                              "averaged over the latent dimensions"),
    "not_reduced": (lambda m, lv: 0.5 * (m**2 + tf.exp(lv) - lv - 1.0), "sum over the latent"),
    "reduced_over_the_batch_too": (lambda m, lv: tf.reduce_mean(kl_divergence(m, lv)), "one KL per example"),
    "summed_over_the_batch_axis": (lambda m, lv: 0.5 * tf.reduce_sum(m**2 + tf.exp(lv) - lv - 1.0, axis=0),
                                   "one KL per example"),
    "half_missing": (lambda m, lv: 2 * kl_divergence(m, lv), "factor 0.5"),
    "log_var_as_log_std": (lambda m, lv: 0.5 * tf.reduce_sum(m**2 + tf.exp(2 * lv) - 2 * lv - 1.0, axis=-1),
                           "log of the standard deviation"),
    "minus_one_missing": (lambda m, lv: 0.5 * tf.reduce_sum(m**2 + tf.exp(lv) - lv, axis=-1), "- 1"),
    "mean_term_missing": (lambda m, lv: 0.5 * tf.reduce_sum(tf.exp(lv) - lv - 1.0, axis=-1), "mean\\^2 term"),
    "log_of_log_var": (lambda m, lv: 0.5 * tf.reduce_sum(m**2 + lv - tf.math.log(lv) - 1.0, axis=-1), "NaN"),
    "other_formula": (lambda m, lv: tf.reduce_sum(m**2 + lv**2, axis=-1), "Use 0.5"),
    "returns_none": (lambda m, lv: None, "returned None"),
    "raises": (lambda m, lv: tf.reduce_sum(m**2 + tf.exp(lv), axis=2), "raised"),
}

KL_RIGHT = {
    "textbook_sign": lambda m, lv: -0.5 * tf.reduce_sum(1.0 + lv - tf.square(m) - tf.exp(lv), axis=-1),
    "keras_ops": lambda m, lv: 0.5 * keras.ops.sum(m**2 + keras.ops.exp(lv) - lv - 1, axis=1),
    "split_sums": lambda m, lv: 0.5 * tf.reduce_sum(m**2, -1) + 0.5 * tf.reduce_sum(tf.exp(lv) - lv - 1, -1),
}


test_kl_divergence_rejects, test_kl_divergence_accepts = check_tests(checks.check_kl_divergence, KL_WRONG, KL_RIGHT)


# --- exercise 3: negative_elbo --------------------------------------------------------------------

ELBO_WRONG = {
    "reconstruction_averaged": (lambda x, lo, m, lv: tf.reduce_mean(bce(x, lo), axis=[1, 2, 3]) + kl_divergence(m, lv),
                                "AVERAGED over the pixels"),
    "kl_subtracted": (lambda x, lo, m, lv: pixels_sum(bce(x, lo)) - kl_divergence(m, lv), "subtracted"),
    "kl_missing": (lambda x, lo, m, lv: pixels_sum(bce(x, lo)), "KL term is missing"),
    "kl_twice": (lambda x, lo, m, lv: pixels_sum(bce(x, lo)) + 2 * kl_divergence(m, lv), "counted twice"),
    "mean_over_the_batch": (lambda x, lo, m, lv: tf.reduce_mean(pixels_sum(bce(x, lo)) + kl_divergence(m, lv)),
                            "shape"),
    "summed_over_last_axis_only": (lambda x, lo, m, lv: tf.reduce_sum(bce(x, lo), axis=-1) + 0.0, "shape"),
    "sigmoid_around_the_logits": (lambda x, lo, m, lv: pixels_sum(bce(x, tf.sigmoid(lo))) + kl_divergence(m, lv),
                                  "applied a sigmoid"),
    "from_logits_missing": (lambda x, lo, m, lv: tf.reduce_sum(keras.losses.binary_crossentropy(x, lo), axis=[1, 2])
                            + kl_divergence(m, lv), "from_logits"),
    "labels_and_logits_swapped": (lambda x, lo, m, lv: pixels_sum(bce(lo, x)) + kl_divergence(m, lv), "swapped"),
    "squared_error": (lambda x, lo, m, lv: pixels_sum((x - tf.sigmoid(lo)) ** 2) + kl_divergence(m, lv),
                      "squared error"),
    "reconstruction_sign": (lambda x, lo, m, lv: kl_divergence(m, lv) - pixels_sum(bce(x, lo)), "wrong sign"),
    "returns_none": (lambda x, lo, m, lv: None, "returned None"),
}

ELBO_RIGHT = {
    "keras_from_logits": lambda x, lo, m, lv: (
        tf.reduce_sum(keras.losses.binary_crossentropy(x, lo, from_logits=True), axis=[1, 2]) + kl_divergence(m, lv)),
    "log_sigmoid": lambda x, lo, m, lv: (
        -pixels_sum(x * tf.math.log_sigmoid(lo) + (1 - x) * tf.math.log_sigmoid(-lo)) + kl_divergence(m, lv)),
    "softplus": lambda x, lo, m, lv: pixels_sum(tf.nn.softplus(lo) - x * lo) + kl_divergence(m, lv),
}


test_negative_elbo_rejects, test_negative_elbo_accepts = check_tests(checks.check_negative_elbo, ELBO_WRONG, ELBO_RIGHT)


# --- exercise 4: causal_mask ----------------------------------------------------------------------


def causal_mask(size):
    mask = np.zeros((size, size), "float32")
    mask[: size // 2, :] = 1.0
    mask[size // 2, : size // 2] = 1.0
    return mask


def edited(size, row, columns, value):
    mask = causal_mask(size)
    mask[row(size), columns(size)] = value
    return mask


def float_index(size):
    mask = np.zeros((size, size))
    mask[: size / 2, :] = 1.0
    return mask


CAUSAL_WRONG = {
    "centre_included": (lambda s: edited(s, lambda s: s // 2, lambda s: s // 2, 1.0), "see ITSELF"),
    "column_order": (lambda s: causal_mask(s).T, "column by column"),
    "future_pixels": (lambda s: causal_mask(s)[::-1, ::-1], "AFTER the centre"),
    "right_of_centre": (lambda s: edited(s, lambda s: s // 2, lambda s: slice(s // 2 + 1, None), 1.0),
                        "RIGHT of the centre"),
    "left_part_missing": (lambda s: edited(s, lambda s: s // 2, lambda s: slice(None), 0.0), "left in the centre row"),
    "inverted": (lambda s: 1.0 - causal_mask(s), "inverted"),
    "all_ones": (lambda s: np.ones((s, s)), "hides nothing"),
    "all_zeros": (lambda s: np.zeros((s, s)), "hides everything"),
    "kernel_shape": (lambda s: causal_mask(s)[:, :, None, None], "shape"),
    "fixed_size": (lambda s: causal_mask(7), "shape"),
    "float_index": (float_index, r"raised.*TypeError"),
    "text": (lambda s: str(causal_mask(s)), "should return numbers"),
    "returns_none": (lambda s: None, "returned None"),
}

CAUSAL_RIGHT = {
    "raster_index": lambda s: (np.arange(s * s) < s * s // 2).reshape(s, s),
    "tensorflow": lambda s: tf.reshape(tf.cast(tf.range(s * s) < (s * s) // 2, tf.float32), (s, s)),
    "nested_lists": lambda s: [[1 if (r, c) < (s // 2, s // 2) else 0 for c in range(s)] for r in range(s)],
}


test_causal_mask_rejects, test_causal_mask_accepts = check_tests(checks.check_causal_mask, CAUSAL_WRONG, CAUSAL_RIGHT)
