"""Chapter 13 checks, tried as an examiner would: wrong answers learners write, correct ones written differently."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_utils.chapters.ch05 import INIT
from course_utils.checks import faces as checks
from tests.mutations.harness import check_tests

# --- exercise 1: build_generator(latent_dim, image_size, width) ------------------------------------------


def generator(latent_dim, image_size, width=8, blocks=None, growing=False, output="tanh", padding="same",
              channels=3, bn_on_output=False, relu=True, norm=True, input_layer=True, init=INIT, output_init=INIT,
              hidden_bias=False, output_bias=True):
    """The solution's generator, with one mistake switched on by a keyword."""
    blocks = int(np.log2(image_size // 4)) if blocks is None else blocks
    filters = [width * 2 ** (blocks - 2 - i) for i in range(blocks - 1)]
    filters = filters[::-1] if growing else filters
    start = filters[0] * 2 if filters else width
    hidden = (lambda: [layers.BatchNormalization()] if norm else [])
    act = (lambda: [layers.ReLU()] if relu else [])
    stack = [keras.Input((latent_dim,))] if input_layer else []
    stack += [layers.Dense(4 * 4 * start, use_bias=hidden_bias, kernel_initializer=init), *hidden(), layers.ReLU(),
              layers.Reshape((4, 4, start))]
    for f in filters:
        stack += [layers.Conv2DTranspose(f, 4, strides=2, padding=padding, use_bias=hidden_bias,
                                         kernel_initializer=init), *hidden(), *act()]
    stack.append(layers.Conv2DTranspose(channels, 4, strides=2, padding=padding, activation=output,
                                        use_bias=output_bias, kernel_initializer=output_init))
    if bn_on_output:
        stack.append(layers.BatchNormalization())
    return keras.Sequential(stack)


def fixed_three_blocks(latent_dim, image_size, width=8):
    return generator(latent_dim, image_size, width, blocks=3)


def one_block_too_many(latent_dim, image_size, width=8):
    return generator(latent_dim, image_size, width, blocks=int(np.log2(image_size // 4)) + 1)


def upsampling_generator(latent_dim, image_size, width=8):
    """UpSampling2D + Conv2D in place of transposed convolutions: the exercise asks for Conv2DTranspose."""
    blocks = int(np.log2(image_size // 4))
    stack = [keras.Input((latent_dim,)), layers.Dense(4 * 4 * width), layers.BatchNormalization(), layers.ReLU(),
             layers.Reshape((4, 4, width))]
    for _ in range(blocks):
        stack += [layers.UpSampling2D(), layers.Conv2D(width, 3, padding="same"), layers.BatchNormalization(),
                  layers.ReLU()]
    stack.append(layers.Conv2D(3, 3, padding="same", activation="tanh"))
    return keras.Sequential(stack)


def functional_generator(latent_dim, image_size, width=8):
    """Right, written with the functional API, a while loop over the size and an Activation layer."""
    init = keras.initializers.RandomNormal(mean=0.0, stddev=0.02)
    z = keras.Input((latent_dim,))
    channels = width * image_size // 8
    h = layers.Reshape((4, 4, channels))(layers.Dense(16 * channels, use_bias=False, kernel_initializer=init)(z))
    h = layers.ReLU()(layers.BatchNormalization()(h))
    size = 4
    while size < image_size // 2:
        channels //= 2
        h = layers.Conv2DTranspose(channels, 4, 2, "same", use_bias=False, kernel_initializer=init)(h)
        h = layers.Activation("relu")(layers.BatchNormalization()(h))
        size *= 2
    return keras.Model(z, layers.Conv2DTranspose(3, 4, 2, "same", activation="tanh", kernel_initializer=init)(h))


def separate_tanh_generator(latent_dim, image_size, width=8):
    """Right, with the output's tanh as a layer of its own."""
    model = generator(latent_dim, image_size, width, output=None)
    model.add(layers.Activation("tanh"))
    return model


def initializer_per_layer(latent_dim, image_size, width=8):
    """Right, grown with model.add, with a seeded RandomNormal(0.0, 0.02) of its own for every layer."""
    blocks = int(np.log2(image_size // 4))
    normal = lambda seed: keras.initializers.RandomNormal(0.0, 0.02, seed=seed)  # noqa: E731
    start = width * 2 ** (blocks - 1)
    model = keras.Sequential([keras.Input((latent_dim,)),
                              layers.Dense(4 * 4 * start, use_bias=False, kernel_initializer=normal(0))])
    model.add(layers.BatchNormalization())
    model.add(layers.ReLU())
    model.add(layers.Reshape((4, 4, start)))
    for i in range(1, blocks):
        model.add(layers.Conv2DTranspose(start // 2**i, 4, 2, padding="same", use_bias=False,
                                         kernel_initializer=normal(i)))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
    model.add(layers.Conv2DTranspose(3, 4, 2, padding="same", activation="tanh", kernel_initializer=normal(blocks)))
    return model


GENERATOR_WRONG = {
    "fixed_three_blocks": (fixed_three_blocks, r"log2\(64 / 4\) = 4"),
    "one_block_too_many": (one_block_too_many, "log2"),
    "filters_growing": (lambda d, s, width=8: generator(d, s, width, growing=True), "halves the filters"),
    "sigmoid_output": (lambda d, s, width=8: generator(d, s, width, output="sigmoid"), "tanh"),
    "no_output_activation": (lambda d, s, width=8: generator(d, s, width, output=None), "tanh"),
    "valid_padding": (lambda d, s, width=8: generator(d, s, width, padding="valid"), "padding='valid'"),
    "grey_output": (lambda d, s, width=8: generator(d, s, width, channels=1), "3 filters"),
    "bn_on_output": (lambda d, s, width=8: generator(d, s, width, bn_on_output=True), "output layer is followed"),
    "no_relu_in_hidden_blocks": (lambda d, s, width=8: generator(d, s, width, relu=False), "no activation"),
    "no_batch_norm": (lambda d, s, width=8: generator(d, s, width, norm=False), "bn\\(\\)"),
    "upsampling_instead": (upsampling_generator, "Conv2DTranspose"),
    "forgot_return": (lambda d, s, width=8: None, "forget `return`"),
    "ignores_width_keyword": (lambda d, s: generator(d, s), "raised"),
    "no_input_layer": (lambda d, s, width=8: generator(d, s, width, input_layer=False),
                       r"not built yet.*keras\.Input\(\(latent_dim,\)\)"),
    "default_initializer": (lambda d, s, width=8: generator(d, s, width, init="glorot_uniform",
                                                            output_init="glorot_uniform"),
                            r"GlorotUniform \(the default\).*kernel_initializer=INIT"),
    "init_missing_on_the_output": (lambda d, s, width=8: generator(d, s, width, output_init="glorot_uniform"),
                                   "the output layer included"),
    "random_normal_by_name": (lambda d, s, width=8: generator(d, s, width, init="random_normal",
                                                              output_init="random_normal"), r"stddev=0\.05.*0\.02"),
    "stddev_0_2": (lambda d, s, width=8: generator(d, s, width, init=keras.initializers.RandomNormal(stddev=0.2),
                                                   output_init=INIT), r"stddev=0\.2\).*N\(0, 0\.02\^2\)"),
    "bias_before_batch_norm": (lambda d, s, width=8: generator(d, s, width, hidden_bias=True),
                               "use_bias=False to every Dense and Conv2DTranspose that bn"),
    "no_bias_on_the_output": (lambda d, s, width=8: generator(d, s, width, output_bias=False),
                              "output layer keeps its bias"),
}
GENERATOR_RIGHT = {
    "sequential_loop": generator,
    "functional_while_loop": functional_generator,
    "separate_tanh_layer": separate_tanh_generator,
    "initializer_per_layer": initializer_per_layer,
}

test_generator_rejects, test_generator_accepts = check_tests(checks.check_generator, GENERATOR_WRONG, GENERATOR_RIGHT)


# --- exercise 2: negative_elbo(x, x_mean, mean, log_var, sigma) -------------------------------------------


def kl(m, lv):
    return 0.5 * tf.reduce_sum(m**2 + tf.exp(lv) - lv - 1.0, axis=-1)


def pixel_sum(per_pixel):
    return tf.reduce_sum(per_pixel, axis=[1, 2, 3])


def squares(x, xm):
    return pixel_sum(tf.square(x - xm))


def constant(x, sigma):
    return 0.5 * tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32) * tf.math.log(2 * np.pi * sigma**2)


ELBO_WRONG = {
    "constant_missing": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + kl(m, lv), "constant"),
    "sigma_not_squared": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s) + constant(x, s) + kl(m, lv),
                          r"2 \* sigma\*\*2"),
    "half_missing": (lambda x, xm, m, lv, s: squares(x, xm) / s**2 + constant(x, s) + kl(m, lv), "factor 1/2"),
    "plain_mse_plus_kl": (lambda x, xm, m, lv, s: squares(x, xm) + kl(m, lv), "plain sum of squared errors"),
    "keras_mse": (lambda x, xm, m, lv, s: tf.reduce_mean(keras.losses.mean_squared_error(x, xm), axis=[1, 2])
                  / (2 * s**2) + 0.5 * np.log(2 * np.pi * s**2) + kl(m, lv), "AVERAGED over the pixels"),
    "mse_plus_kl": (lambda x, xm, m, lv, s: tf.reduce_mean(tf.square(x - xm), axis=[1, 2, 3]) + kl(m, lv),
                    "mean squared error"),
    "kl_subtracted": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + constant(x, s) - kl(m, lv), "subtracted"),
    "kl_missing": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + constant(x, s), "KL term is missing"),
    "mean_over_the_batch": (lambda x, xm, m, lv, s: tf.reduce_mean(squares(x, xm) / (2 * s**2) + constant(x, s)
                                                                   + kl(m, lv)), "one value per image"),
    "kl_log_std": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + constant(x, s)
                   + 0.5 * tf.reduce_sum(m**2 + tf.exp(2 * lv) - 2 * lv - 1.0, axis=-1), "VARIANCE"),
    "absolute_error": (lambda x, xm, m, lv, s: pixel_sum(tf.abs(x - xm)) / (2 * s**2) + constant(x, s) + kl(m, lv),
                       "yours is"),
    "log_of_log_var": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + kl(m, tf.math.log(lv)), "NaN"),
    "returns_none": (lambda x, xm, m, lv, s: None, "returned None"),
    "numpy_inside": (lambda x, xm, m, lv, s: np.sum(np.square(np.asarray(x) - np.asarray(xm)), axis=(1, 2, 3))
                     / (2 * s**2) + 0.5 * 192 * np.log(2 * np.pi * s**2) + np.asarray(kl(m, lv)), "tf.function"),
    "static_batch_size": (lambda x, xm, m, lv, s: tf.reshape(squares(x, xm), [x.shape[0]]) / (2 * s**2)
                          + constant(x, s) + kl(m, lv), "tf.function"),
    "constant_of_tf_size": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + kl(m, lv)
                            + 0.5 * tf.cast(tf.size(x), tf.float32) * tf.math.log(2 * np.pi * s**2),
                            "per face, H x W x 3, not in the whole batch"),
    "constant_of_whole_shape": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + kl(m, lv)
                                + 0.5 * tf.cast(tf.reduce_prod(tf.shape(x)), tf.float32) * np.log(2 * np.pi * s**2),
                                "not in the whole batch"),
    "constant_without_channels": (lambda x, xm, m, lv, s: squares(x, xm) / (2 * s**2) + kl(m, lv)
                                  + 0.5 * x.shape[1] * x.shape[2] * np.log(2 * np.pi * s**2), "colour channels"),
}
ELBO_RIGHT = {
    "per_pixel_then_sum": lambda x, xm, m, lv, s: pixel_sum(tf.square(x - xm) / (2 * s**2)
                                                           + 0.5 * tf.math.log(2 * np.pi * s**2)) + kl(m, lv),
    "textbook_kl_and_log_sigma": lambda x, xm, m, lv, s: (
        tf.reduce_sum(0.5 * ((x - xm) / s) ** 2 + tf.math.log(s) + 0.5 * np.log(2 * np.pi), axis=[1, 2, 3])
        - 0.5 * tf.reduce_sum(1.0 + lv - m**2 - tf.exp(lv), axis=-1)),
    "flattened_keras_ops": lambda x, xm, m, lv, s: (
        keras.ops.sum(keras.ops.square(keras.ops.reshape(x - xm, (keras.ops.shape(x)[0], -1))), axis=1) / (2 * s * s)
        + 8 * 8 * 3 * 0.5 * np.log(2 * np.pi * s * s) + kl(m, lv)),
}

test_negative_elbo_rejects, test_negative_elbo_accepts = check_tests(checks.check_negative_elbo, ELBO_WRONG,
                                                                     ELBO_RIGHT)


# --- exercise 3: slerp(z0, z1, t) ------------------------------------------------------------------------


def angle(z0, z1):
    return np.arccos(np.clip(np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1)), -1.0, 1.0))


def slerp(z0, z1, t, swap=False, unit=False, trig=np.sin, divide=True, degrees=False, transpose=False):
    """The solution's slerp, with one mistake switched on by a keyword."""
    omega = angle(z0, z1)
    omega = np.degrees(omega) if degrees else omega
    a, b = (z1, z0) if swap else (z0, z1)
    if unit:
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    t = np.asarray(t)[:, None]
    path = trig((1 - t) * omega) * a + trig(t * omega) * b
    path = path / np.sin(omega) if divide else path
    return path.T if transpose else path


SLERP_WRONG = {
    "linear": (lambda z0, z1, t: (1 - t[:, None]) * z0 + t[:, None] * z1, "straight line"),
    "reversed": (lambda z0, z1, t: slerp(z0, z1, t, swap=True), "from z1 to z0"),
    "unit_vectors": (lambda z0, z1, t: slerp(z0, z1, t, unit=True), "length 1"),
    "cosines": (lambda z0, z1, t: slerp(z0, z1, t, trig=np.cos), "cos"),
    "no_division": (lambda z0, z1, t: slerp(z0, z1, t, divide=False), "division by sin"),
    "degrees": (lambda z0, z1, t: slerp(z0, z1, t, degrees=True), "degrees"),
    "transposed": (lambda z0, z1, t: slerp(z0, z1, t, transpose=True), "one ROW per fraction"),
    "raw_dot_product": (lambda z0, z1, t: (np.sin((1 - t[:, None]) * np.arccos(np.dot(z0, z1))) * z0
                                           + np.sin(t[:, None] * np.arccos(np.dot(z0, z1))) * z1)
                        / np.sin(np.arccos(np.dot(z0, z1))), "UNIT vectors"),
    "one_point": (lambda z0, z1, t: slerp(z0, z1, t)[len(t) // 2], "shape"),
    "quarter_circle_weights": (lambda z0, z1, t: (np.cos(t[:, None] * np.pi / 2) * z0
                                                  + np.sin(t[:, None] * np.pi / 2) * z1), "not on the arc"),
    "same_point_every_step": (lambda z0, z1, t: [slerp(z0, z1, np.array([0.5]))[0] for _ in t], "z0 at t = 0"),
}
SLERP_RIGHT = {
    "solution_style": slerp,
    "tensorflow": lambda z0, z1, t: (
        lambda omega: (tf.sin((1 - t[:, None]) * omega) * z0 + tf.sin(t[:, None] * omega) * z1) / tf.sin(omega))(
        tf.acos(tf.clip_by_value(tf.reduce_sum(tf.nn.l2_normalize(z0) * tf.nn.l2_normalize(z1)), -1.0, 1.0))),
    "list_of_points": lambda z0, z1, t: np.stack([slerp(z0, z1, np.array([v]))[0] for v in t]),
}

test_slerp_rejects, test_slerp_accepts = check_tests(checks.check_slerp, SLERP_WRONG, SLERP_RIGHT)


# --- exercise 4: nearest_training(queries, references, k) -------------------------------------------------


def squared(q, r):
    return (q**2).sum(1)[:, None] + (r**2).sum(1)[None] - 2 * q @ r.T


def nearest(q, r, k):
    d = np.sqrt(np.maximum(squared(q, r), 0))
    idx = np.argsort(d, axis=1)[:, :k]
    return np.take_along_axis(d, idx, axis=1), idx


def broadcast_all_differences(q, r, k):
    d = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    idx = np.argsort(d, axis=1)[:, :k]
    return np.take_along_axis(d, idx, axis=1), idx


def no_clipping(q, r, k):
    d = np.sqrt(squared(q, r))
    idx = np.argsort(d, axis=1)[:, :k]
    return np.take_along_axis(d, idx, axis=1), idx


def argpartition_unsorted(q, r, k):
    d = np.sqrt(np.maximum(squared(q, r), 0))
    idx = np.argpartition(d, k, axis=1)[:, :k][:, ::-1]
    return np.take_along_axis(d, idx, axis=1), idx


NEAREST_WRONG = {
    "all_differences_in_memory": (broadcast_all_differences, "MB"),
    "square_root_of_negative": (no_clipping, "Clip at 0"),
    "squared_distances": (lambda q, r, k: (lambda d, i: (d**2, i))(*nearest(q, r, k)), "squared"),
    "farthest": (lambda q, r, k: (lambda d: (np.take_along_axis(d, np.argsort(-d, 1)[:, :k], 1),
                                             np.argsort(-d, 1)[:, :k]))(np.sqrt(np.maximum(squared(q, r), 0))),
                 "FARTHEST"),
    "sorted_along_the_wrong_axis": (lambda q, r, k: (lambda d: (np.sort(d, 0)[:k].T, np.argsort(d, 0)[:k].T))(
        np.sqrt(np.maximum(squared(q, r), 0))), "axis=1|transposed|indices should be"),
    "transposed": (lambda q, r, k: tuple(a.T for a in nearest(q, r, k)), "transposed"),
    "argpartition_unsorted": (argpartition_unsorted, "not sorted"),
    "indices_only": (lambda q, r, k: nearest(q, r, k)[1], "two arrays"),
    "distances_of_unsorted_rows": (lambda q, r, k: (np.sqrt(np.maximum(squared(q, r), 0))[:, :k], nearest(q, r, k)[1]),
                                   "do not belong"),
    "cosine_distance": (lambda q, r, k: (lambda d: (np.take_along_axis(d, np.argsort(d, 1)[:, :k], 1),
                                                    np.argsort(d, 1)[:, :k]))(
        1 - (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (r / np.linalg.norm(r, axis=1, keepdims=True)).T),
                        "not the k nearest|distance 0|do not belong"),
    "raises": (lambda q, r, k: np.argsort(q @ r, 1), "raised"),
    "top_k_along_axis_0": (lambda q, r, k: (lambda d: (np.sort(d, axis=0)[:k], np.argsort(d, axis=0)[:k]))(
        np.sqrt(np.maximum(squared(q, r), 0))), r"shape \(3, 40\).*along axis 0.*axis=1\)\[:, :k\]"),
    "one_neighbour_too_many": (lambda q, r, k: nearest(q, r, k + 1),
                               r"should return distances of shape \(6, 3\).*have shape \(6, 4\)"),
    "none_for_the_distances": (lambda q, r, k: (None, nearest(q, r, k)[1]), "None as its distances"),
}
NEAREST_RIGHT = {
    "solution_style": nearest,
    "chunks_of_queries": lambda q, r, k: (lambda parts: (np.concatenate([p[0] for p in parts]),
                                                             np.concatenate([p[1] for p in parts])))(
        [nearest(q[i:i + 4], r, k) for i in range(0, len(q), 4)]),
    "tensorflow_top_k": lambda q, r, k: (lambda top: (-top.values.numpy(), top.indices.numpy()))(
        tf.math.top_k(-tf.sqrt(tf.maximum(tf.constant(squared(q.astype(np.float64), r.astype(np.float64))), 0.0)), k)),
}

test_nearest_training_rejects, test_nearest_training_accepts = check_tests(checks.check_nearest_training,
                                                                           NEAREST_WRONG, NEAREST_RIGHT)
