"""Checks for chapter 15, normalizing flows and flow matching.

Part 1 (RealNVP): the dequantisation and logit transform with its log-determinant, an affine coupling
layer with its inverse and log-determinant, and the negative log-likelihood in bits per dimension.
Part 2 (flow matching): the regression loss on the straight path from noise to data, the Euler and
Heun samplers, and the classifier-free guidance mix of two velocities.

Every check runs the learner's code on small made-up inputs, compares the answer with a NumPy
reference and, when it differs, with the answers that the usual mistakes give, to name the most
likely one. A coupling layer is probed from outside: for inputs that differ only in the part it
transforms, the change of the output reveals its scales exp(s), so the check needs no access to
the layer's internals.
"""

import numpy as np

from course_utils.checks._learner import guidance_labels_verdict, guidance_mistakes, run_compiled_twice
from course_utils.checks._numeric import close
from course_utils.checks._verdict import (CheckFailed, call_learner, call_with_stand_ins, learner_array, learner_tuple,
                                          name_mistake, passed, require, scalar_result)

NULL_LABEL = 10
"""The label that means "no label" (the unconditional branch of classifier-free guidance)."""

LOG2 = np.log(2.0)


# --- exercise 1: dequantisation and the logit transform ------------------------------------------


def logit_reference(x, u, alpha):
    """z and the per-example log-determinant of v = x + u in [0, 256) -> z (NumPy, float64)."""
    y = (np.asarray(x, np.float64) + u) / 256.0
    s = alpha + (1.0 - 2.0 * alpha) * y
    z = np.log(s) - np.log1p(-s)
    per_value = -np.log(256.0) + np.log(1.0 - 2.0 * alpha) - np.log(s) - np.log1p(-s)
    return z, per_value.reshape(len(x), -1).sum(axis=1)


def _logit_candidates(x, u, alpha):
    """(wrong z, wrong log_det, message) for the usual mistakes."""
    flat = lambda a: a.reshape(len(x), -1)  # noqa: E731 - a one-line reshaping
    y = (x + u) / 256.0
    s = alpha + (1.0 - 2.0 * alpha) * y
    z, log_det = logit_reference(x, u, alpha)
    d = flat(x).shape[1]
    z_of = lambda v: np.log(alpha + (1 - 2 * alpha) * v) - np.log1p(-(alpha + (1 - 2 * alpha) * v))  # noqa: E731
    return [
        (z_of(x / 256.0), log_det,
         "z does not depend on the noise u: dequantise first, y = (x + u) / 256, so that the flow models a "
         "density over [0, 256) and not a few spikes at the 256 grey levels."),
        (z_of((x + u) / 255.0), log_det,
         "you divide by 255: x + u lies in [0, 256), so y = (x + u) / 256 lies in [0, 1)."),
        (z_of(x / 255.0), log_det,
         "z ignores the noise u and divides by 255: dequantise, y = (x + u) / 256."),
        (np.log(y) - np.log1p(-y), log_det,
         f"z is the logit of y itself: squeeze y into [alpha, 1 - alpha] first, s = alpha + (1 - 2 alpha) y "
         f"(alpha = {alpha}), or the pixels at 0 go to minus infinity."),
        (z, log_det + d * np.log(256.0),
         "the log-determinant misses the scaling y = (x + u) / 256: it contributes -log 256 per value "
         "(dy/dv = 1/256). Without it the bits/dim are of y in [0, 1), not of the pixels in [0, 256)."),
        (z, log_det - d * np.log(1 - 2 * alpha),
         "the log-determinant misses the squeeze s = alpha + (1 - 2 alpha) y: it contributes log(1 - 2 alpha) "
         "per value."),
        (z, log_det + flat(np.log1p(-s)).sum(axis=1),
         "the log-determinant of the logit is -log s - log(1 - s) per value (its derivative is "
         "1 / (s (1 - s))); yours misses the -log(1 - s) term."),
        (z, -log_det,
         "the log-determinant has the wrong sign: the map from pixels to z, v -> z, has derivative "
         "(1 - 2 alpha) / (256 s (1 - s)) per value; its log is log(1 - 2 alpha) - log 256 - log s - log(1 - s)."),
        (z, d * (np.log(1 - 2 * alpha) - np.log(256.0)) + flat(np.log(s) + np.log1p(-s)).sum(axis=1),
         "the logit's log-determinant has the wrong sign: its derivative is 1 / (s (1 - s)), whose log is "
         "-log s - log(1 - s)."),
        (z, log_det / d,
         "you average the log-determinant over the values of an image: it is a SUM over all of them (the "
         "Jacobian is diagonal, its log-determinant the sum of the logs of its diagonal)."),
        (z, log_det + d * np.log(256.0) - d * np.log(255.0),
         "the scaling's log-determinant uses 255: y = (x + u) / 256 contributes -log 256 per value."),
    ]


def check_dequantize_logit(dequantize_logit, alpha=0.05):
    """``dequantize_logit(x, u, alpha)``: z = logit(alpha + (1 - 2 alpha) (x + u) / 256) and the
    per-example log-determinant of the map from x + u in [0, 256) to z."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 4, 4, 1)).astype(np.float64)
    x[0, 0, 0, 0], x[0, 0, 1, 0] = 0.0, 255.0  # both ends of the range
    u = rng.uniform(size=x.shape)
    what = f"calling dequantize_logit(x, u, alpha={alpha}) on pixels of shape {x.shape}"
    result = learner_tuple(call_learner(what, dequantize_logit, tf.constant(x, tf.float32), tf.constant(u, tf.float32),
                                        alpha), "dequantize_logit", ("z", "log_det"))
    z, log_det = learner_array(result[0], "dequantize_logit's z"), learner_array(result[1], "its log_det")
    require(z.shape == x.shape, f"z has shape {z.shape} for pixels of shape {x.shape}: the transform acts on "
                                "every value, so z has the shape of x.")
    require(log_det.shape == (len(x),),
            f"log_det has shape {log_det.shape}; it should be one number per image, shape ({len(x)},): sum the "
            "log-derivatives over all values of an image (axis=[1, 2, 3]), not over the batch.")
    require(np.all(np.isfinite(z)) and np.all(np.isfinite(log_det)),
            "z or log_det holds NaN or infinity: take the logit of s = alpha + (1 - 2 alpha) y, which stays "
            "inside (0, 1) even for black (0) and white (255) pixels.")
    want_z, want_log_det = logit_reference(x, u, alpha)
    candidates = _logit_candidates(x, u, alpha)
    name_mistake(z, want_z, [(wrong_z, message) for wrong_z, _, message in candidates],
                 f"z differs from logit(alpha + (1 - 2 alpha) (x + u) / 256) (largest difference "
                 f"{np.max(np.abs(z - want_z)):.3g}).")
    name_mistake(log_det, want_log_det, [(wrong, message) for _, wrong, message in candidates],
                 f"z is right; the log-determinant is not: expected {np.round(want_log_det, 2)}, got "
                 f"{np.round(log_det, 2)}. Per value it is -log 256 + log(1 - 2 alpha) - log s - log(1 - s).")
    passed("dequantize_logit: z = logit(alpha + (1 - 2 alpha) (x + u) / 256), log-det summed per image with its "
           "-log 256, log(1 - 2 alpha) and -log s - log(1 - s) terms")


# --- exercise 2: the affine coupling layer ---------------------------------------------------------


def checkerboard_mask(height, width, channels, parity=0):
    """(height, width, channels) float32: 1 on the squares where (row + column) % 2 == parity."""
    board = (np.add.outer(np.arange(height), np.arange(width)) % 2 == parity).astype("float32")
    return np.repeat(board[:, :, None], channels, axis=2)


def channel_mask(height, width, channels, parity=0):
    """(height, width, channels) float32: 1 on the first half of the channels (parity 0) or the second."""
    mask = np.zeros((height, width, channels), "float32")
    half = channels // 2
    mask[..., :half] = 1.0
    return mask if parity == 0 else 1.0 - mask


def _forward(layer, x, what="forward"):
    """The layer's forward(x) as (y, log_det) NumPy arrays, with shapes checked."""
    import tensorflow as tf

    result = learner_tuple(call_learner(f"calling layer.{what}(x) on x of shape {x.shape}", layer.forward,
                                        tf.constant(x, tf.float32)), "forward", ("y", "log_det"))
    y, log_det = learner_array(result[0], "forward's y"), learner_array(result[1], "forward's log_det")
    require(y.shape == x.shape, f"forward returns y of shape {y.shape} for x of shape {x.shape}: a flow keeps "
                                "the shape of its input.")
    require(log_det.shape == (len(x),),
            f"forward returns log_det of shape {log_det.shape}; it should be one number per example, shape "
            f"({len(x)},): sum s over all values of an example (axis=[1, 2, 3]), not over the batch.")
    return y, log_det


def _require_scales_can_learn(layer, x):
    """At initialisation the log-determinant must have a non-zero gradient for some weight."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        result = learner_tuple(call_learner("calling layer.forward(x)", layer.forward, tf.constant(x, tf.float32)),
                               "forward", ("y", "log_det"))
        total = tf.reduce_sum(result[1])
    weights = layer.trainable_variables
    require(len(weights) > 0,
            "the layer has no trainable weights after a call: create its network and its scale factor in "
            "__init__ (self.net = ..., self.scale = self.add_weight(...)) so that Keras tracks them.")
    try:
        gradients = tape.gradient(total, weights)
    except Exception as error:  # noqa: BLE001 - a log-det that is not a tensor of the weights
        raise CheckFailed(f"the log-determinant cannot be differentiated with respect to the layer's weights "
                          f"({type(error).__name__}): compute it with TensorFlow ops from s.") from error
    largest = max((float(tf.reduce_max(tf.abs(g))) for g in gradients if g is not None), default=0.0)
    require(largest > 0.0,
            "at initialisation the log-determinant has a zero gradient with respect to every weight, so training "
            "can never change the scales: s stays 0 and the flow can only shift, never scale (its bits/dim stall "
            "far above a working flow's). Typically the scale factor AND the last convolution both start at zero: "
            "each one's gradient is multiplied by the other. Start one of them elsewhere (the scale factor at "
            "ones, the last convolution at zero).")


def _randomise(layer, rng):
    """Move every trainable weight by a random amount, so that s and t are far from 0."""
    for weight in layer.trainable_variables:
        shape = tuple(weight.shape)
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        spread = 0.6 / np.sqrt(fan_in) if len(shape) > 1 else 0.3
        weight.assign(weight.numpy() + rng.normal(0.0, spread, size=shape).astype(weight.dtype))


def _coupling_verdict(layer, mask, rng):
    """Probe a coupling layer with random weights: pass-through part, affine form, log-det, inverse."""
    import tensorflow as tf

    n = 3
    x = rng.normal(size=(n, *mask.shape))
    keep, change = mask[None].astype(np.float64), 1.0 - mask[None]
    y, log_det = _forward(layer, x)
    require(np.allclose(y * keep, x * keep, atol=1e-5),
            "the part of x where the mask is 1 changes: it must pass through unchanged (y = b*x + ...), since "
            "the inverse needs it to recompute s and t. Did you transform b*x, or swap b and 1 - b?")
    require(not np.allclose(y, x, atol=1e-4),
            "with random weights forward still returns x unchanged: apply y = b*x + (1 - b)*(x*exp(s) + t) with "
            "s and t from the network.")
    x2 = x + change * rng.normal(size=x.shape)  # the same conditioning part, another transformed part
    x3 = x + change * rng.normal(size=x.shape)
    y2, log_det2 = _forward(layer, x2)
    y3, _ = _forward(layer, x3)
    inside = change[0] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio2 = ((y2 - y) / (x2 - x))[:, inside]
        ratio3 = ((y3 - y) / (x3 - x))[:, inside]
    require(np.allclose(ratio2, ratio3, rtol=1e-3, atol=1e-4) and np.allclose(log_det, log_det2, atol=1e-3),
            "s and t depend on the part the layer transforms: the network must see only the part that passes "
            "through, net(b*x), or the layer cannot be inverted (the inverse does not know that part yet).")
    require(np.all(ratio2 > 0), "the transformed part is scaled by a negative factor somewhere: the scale is "
                                "exp(s), always positive, so that the map is invertible.")
    scales = np.ones_like(x)
    scales[:, inside] = ratio2
    shifts = y - x * scales
    log_scales = np.log(scales)
    want = log_scales.reshape(n, -1).sum(axis=1)
    d = int(np.prod(mask.shape))
    name_mistake(log_det, want, [
        (-want, "the log-determinant has the wrong sign: y = x*exp(s) + t has derivative exp(s), so log|det| = "
                "+sum(s) over the transformed part."),
        (want / d, "you average s over the values of an example: the log-determinant is its SUM over the "
                   "transformed part (the Jacobian is triangular, its log-determinant the sum of the log-diagonal)."),
        (want / max(int((1 - mask).sum()), 1),
         "you average s over the transformed values: the log-determinant is their SUM."),
        (scales.reshape(n, -1).sum(axis=1) - int(mask.sum()),
         "your log-determinant sums exp(s): the derivative of x*exp(s) + t is exp(s), whose LOG is s; sum s."),
    ], f"the log-determinant should be the sum of s over the transformed part, {np.round(want, 3)} for these "
       f"inputs; yours is {np.round(log_det, 3)}. (Values where the mask is 1 add nothing: multiply s by 1 - b.)")

    back = learner_array(call_learner("calling layer.inverse(y)", layer.inverse, tf.constant(y, tf.float32)),
                         "inverse")
    require(back.shape == x.shape, f"inverse returns shape {back.shape} for y of shape {y.shape}.")
    name_mistake(back, x, [
        ((y - shifts) * scales * change + y * keep,
         "inverse multiplies by exp(s): undo the scaling by DIVIDING, x = (y - t) * exp(-s)."),
        ((y * np.exp(-log_scales) - shifts) * change + y * keep,
         "inverse undoes the steps in the wrong order: forward scales THEN shifts, so the inverse removes the "
         "shift first, x = (y - t) * exp(-s)."),
        ((y + shifts) / scales * change + y * keep,
         "inverse adds the shift: forward added t, so the inverse subtracts it, x = (y - t) * exp(-s)."),
    ], f"inverse(forward(x)) differs from x by up to {np.max(np.abs(back - x)):.3g}: compute s and t from the "
       "unchanged part b*y (it equals b*x) and solve y = x*exp(s) + t for x.", tol=1e-3)

    compiled = tf.function(lambda v: layer.inverse(layer.forward(v)[0]))
    first, _ = run_compiled_twice("forward and inverse, compiled by tf.function as in training, raised",
                                  compiled, tf.constant(x, tf.float32))
    require(close(first, x, 1e-3), "compiled with tf.function (as in training) inverse(forward(x)) is not x: "
                                    "use TensorFlow ops, not NumPy, inside forward and inverse.")


def check_affine_coupling(AffineCoupling):  # noqa: N803 - the learner's class
    """``AffineCoupling(mask)``: a Keras layer with ``forward(x) -> (y, log_det)`` and ``inverse(y) -> x``,
    y = b*x + (1 - b)*(x*exp(s(b*x)) + t(b*x)), b the mask (1: passes unchanged)."""
    rng = np.random.default_rng(3)
    for mask, name in ((checkerboard_mask(4, 4, 2), "a checkerboard mask"),
                       (channel_mask(4, 4, 4), "a channel mask")):
        layer = call_learner(f"creating AffineCoupling(mask) with {name} of shape {mask.shape}", AffineCoupling,
                             mask)
        x = rng.normal(size=(2, *mask.shape))
        _require_scales_can_learn(layer, x)
        _randomise(layer, rng)
        _coupling_verdict(layer, mask, rng)
    passed("AffineCoupling: b*x passes unchanged, the rest is scaled by exp(s) and shifted by t computed from b*x; "
           "log_det = sum of s over the transformed part; inverse undoes it; the scales can learn from the start")


# --- exercise 3: bits per dimension ----------------------------------------------------------------


def bits_per_dim_reference(z, log_det):
    """Mean over the batch of -(log N(z; 0, I) + log_det) / (D log 2) (NumPy, float64)."""
    z = np.asarray(z, np.float64).reshape(len(z), -1)
    log_prior = np.sum(-0.5 * z**2 - 0.5 * np.log(2 * np.pi), axis=1)
    return float(np.mean(-(log_prior + log_det)) / (z.shape[1] * LOG2))


def check_bits_per_dim(bits_per_dim):
    """``bits_per_dim(z, log_det)``: the negative log-likelihood in bits per dimension, mean over the batch."""
    import tensorflow as tf

    rng = np.random.default_rng(4)
    z = rng.normal(0.0, 1.3, size=(5, 4, 4, 2))
    log_det = rng.normal(-150.0, 20.0, size=5)
    what = f"calling bits_per_dim(z, log_det) with z of shape {z.shape} and log_det of shape {log_det.shape}"
    value = scalar_result(call_learner(what, bits_per_dim, tf.constant(z, tf.float32),
                                       tf.constant(log_det, tf.float32)), "bits_per_dim")
    want = bits_per_dim_reference(z, log_det)
    flat = z.reshape(len(z), -1)
    d, n = flat.shape[1], len(z)
    log_prior = np.sum(-0.5 * flat**2 - 0.5 * np.log(2 * np.pi), axis=1)
    nats = -(log_prior + log_det)
    candidates = [
        (np.mean(nats) / d, "your value is in nats per dimension: divide by log(2) to get bits."),
        (np.mean(nats) / LOG2, "your value is bits per IMAGE: divide by the number of dimensions D (the number "
                               "of values per example, here " f"{d})."),
        (np.mean(-(log_prior - log_det)) / (d * LOG2),
         "log_det has the wrong sign: log p(x) = log N(z) + log|det dz/dx|, so the NLL is -(log N(z) + log_det)."),
        (np.mean(-log_prior) / (d * LOG2), "log_det is missing: the change of variables adds log|det dz/dx| "
                                           "to log N(z)."),
        (np.mean(np.sum(0.5 * flat**2, axis=1) - log_det) / (d * LOG2),
         "the constant of the Gaussian is missing: log N(z; 0, 1) = -z^2 / 2 - log(2 pi) / 2 per value."),
        (np.sum(nats) / (d * LOG2), "you sum over the batch: take the MEAN over the examples, so the number "
                                    "does not depend on the batch size."),
        (np.mean(nats) / (n * d * LOG2), "you divide by the batch size as well as by D after averaging: the "
                                         "mean over the batch already divides by it once."),
        (np.mean(-(log_prior + log_det)) / (d * np.log(10.0)), "you divide by log(10): bits need log(2)."),
        (-np.mean(nats) / (d * LOG2), "the sign is wrong: bits/dim is the NEGATIVE log-likelihood, a positive "
                                      "number for a poor model."),
    ]
    for wrong, message in candidates:
        if not np.isclose(wrong, want, rtol=1e-4) and np.isclose(value, wrong, rtol=1e-4):
            raise CheckFailed(message)
    require(np.isclose(value, want, rtol=1e-4),
            f"expected {want:.5g} bits/dim for these inputs, got {value:.5g}: -(log N(z; 0, I) + log_det) / "
            "(D log 2), averaged over the batch.")
    first, second = run_compiled_twice("bits_per_dim, compiled by tf.function as in training, raised",
                                       bits_per_dim, tf.constant(z, tf.float32), tf.constant(log_det, tf.float32))
    require(np.isclose(float(first), want, rtol=1e-4), "compiled with tf.function (as in training) bits_per_dim "
                                                       "gives another value: use TensorFlow ops, not NumPy.")
    passed("bits_per_dim = mean over the batch of -(log N(z; 0, I) + log_det) / (D log 2)")


# --- exercise 4: the flow matching loss ------------------------------------------------------------


class SpyVelocity:
    """Stands in for the velocity network: records what it is given and predicts the true velocity
    x1 - x0 plus ``offset``. It knows the data batch ``x1``, so it can read x0 back from x_t and t
    (assuming the path x_t = (1 - t) x0 + t x1); the loss of a correct answer is exactly ``offset ** 2``."""

    def __init__(self, x1, offset):
        self.x1, self.offset = x1, offset
        self.calls = []

    def implied_noise(self, x_t, t):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x_t - t[:, None] * self.x1) / (1.0 - t[:, None])

    def __call__(self, *inputs, training=None):
        import tensorflow as tf

        require(len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and len(inputs[0]) == 3,
                "call the network with ONE list of three inputs: velocity_net([x_t, t, labels], training=True).")
        x_t, t, labels = (np.asarray(value) for value in inputs[0])
        self.calls.append({"x_t": x_t.astype(np.float64), "t": t.astype(np.float64), "labels": labels,
                           "training": training})
        require(x_t.shape == self.x1.shape, f"the network got x_t of shape {x_t.shape} for data of shape "
                                            f"{self.x1.shape}: x_t has the shape of x1.")
        require(t.shape == (len(self.x1),),
                f"the network got t of shape {t.shape}; give it one time per example, shape ({len(self.x1)},) "
                "(reshape a copy of t to broadcast over x1 for the path, but pass t itself to the network).")
        require(np.issubdtype(t.dtype, np.floating),
                f"the times t you give the network are {t.dtype}: draw real numbers in [0, 1), "
                "tf.random.uniform([n]).")
        velocity = self.x1 - self.implied_noise(x_t.astype(np.float64), t.astype(np.float64))
        return tf.constant(np.nan_to_num(velocity) + self.offset, tf.float32)


def _path_verdict(spy, call):
    """Name what is wrong with the times and the noisy points the loss gave the network."""
    t, x_t = call["t"], call["x_t"]
    require(len(np.unique(t)) > 1, "every example got the same t: draw one time per example, "
                                   "tf.random.uniform([n]) with n the batch size.")
    require(t.min() >= 0.0 and t.max() <= 1.0,
            f"your t runs from {t.min():.3g} to {t.max():.3g}: the path goes from noise at t = 0 to data at "
            "t = 1, so draw t uniformly from [0, 1): tf.random.uniform([n]).")
    require(abs(t.mean() - 0.5) < 0.05 and abs(t.std() - np.sqrt(1 / 12)) < 0.05,
            f"your t has mean {t.mean():.2f} and standard deviation {t.std():.2f}: draw it UNIFORMLY from [0, 1) "
            "(mean 0.5, standard deviation 0.29), tf.random.uniform([n]).")
    inner = t < 0.9  # near t = 1 the read-back divides by a small 1 - t
    noise = spy.implied_noise(x_t, t)[inner]
    if abs(noise.mean()) < 0.1 and abs(noise.std() - 1) < 0.1:
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        swapped = ((x_t - (1 - t[:, None]) * spy.x1) / t[:, None])[t > 0.1]
    require(not (abs(swapped.mean()) < 0.1 and abs(swapped.std() - 1) < 0.1),
            "the path runs the wrong way: at t = 0 it should be pure noise and at t = 1 the data, "
            "x_t = (1 - t) * x0 + t * x1 with x0 the noise and x1 the data.")
    require(not np.allclose(x_t, spy.x1), "x_t is the data itself: mix it with noise, x_t = (1 - t) x0 + t x1.")
    raise CheckFailed(
        f"x_t is not (1 - t) * x0 + t * x1 with standard normal noise x0 (the noise read back from x_t has mean "
        f"{noise.mean():.2f} and standard deviation {noise.std():.2f}): draw x0 = tf.random.normal(tf.shape(x1)) "
        "and reshape t to (N, 1) so that each example's time scales its own row.")


def check_flow_matching_loss(flow_matching_loss):
    """``flow_matching_loss(velocity_net, x1, labels)``: the conditional flow matching loss (Lipman et al.
    2023) on the straight path x_t = (1 - t) x0 + t x1, velocity target x1 - x0."""
    import tensorflow as tf

    n, dim, offset = 4000, 3, 0.5
    rng = np.random.default_rng(5)
    x1 = rng.uniform(-1.0, 1.0, size=(n, dim))
    labels = np.arange(n) % 10
    spy = SpyVelocity(x1, offset)
    loss = call_with_stand_ins("calling flow_matching_loss(velocity_net, x1, labels)", flow_matching_loss, spy,
                               tf.constant(x1, tf.float32), tf.constant(labels, tf.int32))
    require(len(spy.calls) > 0, "flow_matching_loss never called the network: predict the velocity with "
                                "velocity_net([x_t, t, labels], training=True).")
    require(len(spy.calls) == 1, f"flow_matching_loss called the network {len(spy.calls)} times; once is enough.")
    call = spy.calls[0]
    _path_verdict(spy, call)
    require(np.array_equal(call["labels"], labels),
            "the network did not get the labels it was given: pass `labels` unchanged (the training step already "
            "replaced some of them by the 'no label' class).")
    require(call["training"] is True, "call the network with training=True inside the loss: it is the training "
                                      "step's forward pass.")
    value = scalar_result(loss, "flow_matching_loss")
    noise = spy.implied_noise(call["x_t"], call["t"])
    velocity = x1 - noise
    prediction = velocity + offset
    want = offset**2
    candidates = [
        (np.mean((-velocity - prediction) ** 2),
         "the velocity target has the wrong sign: the path moves from the noise x0 to the data x1, so its "
         "velocity d x_t / dt is x1 - x0."),
        (np.mean((x1 - prediction) ** 2), "your target is the data x1: the network predicts the VELOCITY of the "
                                          "path, x1 - x0."),
        (np.mean((noise - prediction) ** 2), "your target is the noise x0: the network predicts the VELOCITY of "
                                             "the path, x1 - x0."),
        (np.mean((call["x_t"] - prediction) ** 2), "your target is x_t: the network predicts the velocity x1 - x0."),
        (np.sum((velocity - prediction) ** 2), "your loss is a SUM of squared errors: take the mean "
                                               "(tf.reduce_mean)."),
        (np.mean(np.abs(velocity - prediction)), "your loss is a mean ABSOLUTE error: flow matching regresses "
                                                 "with the mean SQUARED error."),
        (np.mean(np.sum((velocity - prediction) ** 2, axis=1)),
         "your loss sums over the dimensions before averaging: take the mean over every value."),
    ]
    for wrong, message in candidates:
        if not np.isclose(wrong, want, rtol=1e-3) and np.isclose(value, wrong, rtol=1e-3):
            raise CheckFailed(message)
    require(np.isclose(value, want, rtol=1e-3),
            f"with predictions that miss the velocity by {offset} everywhere the loss should be {want:g}; yours is "
            f"{value:.4g}. Return tf.reduce_mean(tf.square(velocity_net([x_t, t, labels], training=True) - "
            "(x1 - x0))).")
    _fresh_randomness_verdict(flow_matching_loss)
    passed("flow_matching_loss: t ~ U[0, 1) and x0 ~ N(0, I) per example, x_t = (1 - t) x0 + t x1, mean squared "
           "error against the velocity x1 - x0")


def _fresh_randomness_verdict(flow_matching_loss):
    """Inside tf.function (as in train_step) two calls must draw different t and noise."""
    import tensorflow as tf

    def zero_net(inputs, training=None):
        return tf.zeros_like(inputs[0])

    x1 = tf.zeros((64, 3))
    labels = tf.zeros((64,), tf.int32)
    first, second = run_compiled_twice("flow_matching_loss, compiled by tf.function as in train_step, raised",
                                       lambda data: flow_matching_loss(zero_net, data, labels), x1)
    require(float(first) != float(second),
            "inside tf.function (as in train_step) your loss draws the same t and noise on every call: draw them "
            "with tf.random.uniform and tf.random.normal, not with NumPy.")


# --- exercise 5: the Euler and Heun samplers -------------------------------------------------------


def toy_velocity(x, t):
    """A made-up velocity field whose solvers' answers differ clearly: v(x, t) = x cos(3t) + t^2 - 0.5."""
    return x * np.cos(3.0 * t) + t**2 - 0.5


def euler_reference(velocity, x0, steps):
    """x at t = 1 from x0 at t = 0, ``steps`` Euler steps of size 1 / steps."""
    x, dt = np.asarray(x0, np.float64), 1.0 / steps
    for k in range(steps):
        x = x + dt * velocity(x, k * dt)
    return x


def heun_reference(velocity, x0, steps):
    """x at t = 1 from x0 at t = 0, ``steps`` Heun steps (Euler predictor, trapezoidal corrector)."""
    x, dt = np.asarray(x0, np.float64), 1.0 / steps
    for k in range(steps):
        t = k * dt
        v = velocity(x, t)
        v_next = velocity(x + dt * v, t + dt)
        x = x + dt * 0.5 * (v + v_next)
    return x


class CountingVelocity:
    """Stands in for the velocity: ``toy_velocity`` on NumPy or TensorFlow inputs, counting its calls."""

    def __init__(self):
        self.times = []

    def __call__(self, x, t):
        import tensorflow as tf

        times = np.unique(np.asarray(t, np.float64))
        require(times.size == 1, "call the velocity with one time t for the whole batch (a number).")
        self.times.append(float(times[0]))
        return tf.constant(toy_velocity(np.asarray(x, np.float64), float(times[0])), tf.float32)


def _sampler_candidates(x0, steps, heun):
    """(wrong result, message) for the usual mistakes of a sampler."""
    v = toy_velocity
    dt = 1.0 / steps
    run = heun_reference if heun else euler_reference
    backwards = lambda x, t: -v(x, 1.0 - t)  # noqa: E731 - integrating the field from t = 1 down to 0
    candidates = [
        (run(v, x0, steps + 1), f"you take {steps + 1} steps for steps={steps}: take exactly `steps` steps of "
                                "size 1 / steps, at t = 0, 1/steps, ..., (steps - 1)/steps."),
        (run(v, x0, steps - 1) if steps > 1 else x0,
         f"you take {steps - 1} steps for steps={steps}: take exactly `steps` steps of size 1 / steps."),
        (run(backwards, x0, steps), "you integrate from t = 1 down to 0: here the noise sits at t = 0 and the "
                                    "data at t = 1, so the sampler starts at t = 0 and moves forwards, "
                                    "x <- x + dt * v(x, t)."),
        (run(lambda x, t: -v(x, t), x0, steps), "you move against the velocity: x <- x + dt * v(x, t), with a plus."),
        (run(lambda x, t: v(x, t + dt), x0, steps),
         "you read the velocity at the END of each step (t + dt): an explicit step uses the current time t_k = "
         "k / steps, starting at 0."),
        (run(lambda x, t: v(x, 0.0), x0, steps), "the time never advances: call the velocity at t_k = k / steps."),
    ]
    if heun:
        x_euler = euler_reference(v, x0, steps)
        x, no_half, end_only, same_time = (np.asarray(x0, np.float64) for _ in range(4))
        for k in range(steps):
            t = k * dt
            first = v(no_half, t)
            no_half = no_half + dt * (first + v(no_half + dt * first, t + dt))
            first = v(end_only, t)
            end_only = end_only + dt * v(end_only + dt * first, t + dt)
            first = v(same_time, t)
            same_time = same_time + dt * 0.5 * (first + v(same_time + dt * first, t))
        candidates += [
            (x_euler, "this is Euler's method: Heun corrects each step with the velocity at its end point, "
                      "x <- x + dt * (v(x, t) + v(x + dt * v(x, t), t + dt)) / 2."),
            (no_half, "the two velocities are added, not averaged: Heun's step is dt * (v1 + v2) / 2."),
            (end_only, "you step with the end point's velocity alone: Heun averages the two, dt * (v1 + v2) / 2."),
            (same_time, "the second velocity is read at time t: it belongs to the end of the step, t + dt."),
        ]
    return candidates


def _check_sampler(sampler, name, heun):
    import tensorflow as tf

    rng = np.random.default_rng(6)
    x0 = rng.normal(size=(4, 3))
    for steps in (5, 1):
        velocity = CountingVelocity()
        result = call_with_stand_ins(f"calling {name}(velocity, x0, steps={steps})", sampler, velocity,
                                     tf.constant(x0, tf.float32), steps)
        got = learner_array(result, name)
        require(got.shape == x0.shape, f"{name} returns shape {got.shape} for x0 of shape {x0.shape}: return the "
                                       "final x (at t = 1) only, not the whole trajectory.")
        calls = 2 * steps if heun else steps
        reference = heun_reference if heun else euler_reference
        want = reference(toy_velocity, x0, steps)
        count = (f"{name} calls the velocity {len(velocity.times)} times for steps={steps}, at t = "
                 f"{np.round(velocity.times, 3).tolist()}; it needs {calls} calls "
                 f"({'two per step' if heun else 'one per step'}), at t = 0, 1/steps, ..., (steps - 1)/steps"
                 f"{' and at the end of each step' if heun else ''}: take exactly `steps` steps of size 1 / steps.")
        name_mistake(got, want, _sampler_candidates(x0, steps, heun),
                     count if len(velocity.times) != calls else
                     f"with steps={steps} the result differs from the reference (largest difference "
                     f"{np.max(np.abs(got - want)):.3g}); your velocity calls were at t = "
                     f"{np.round(velocity.times, 3).tolist()}.", tol=1e-3)
        require(len(velocity.times) == calls, count)


def check_euler_sample(euler_sample):
    """``euler_sample(velocity, x0, steps)``: x at t = 1, ``steps`` Euler steps from x0 at t = 0."""
    _check_sampler(euler_sample, "euler_sample", heun=False)
    passed("euler_sample: steps of x <- x + dt * v(x, t) at t = 0, 1/steps, ..., one velocity call per step")


def check_heun_sample(heun_sample):
    """``heun_sample(velocity, x0, steps)``: x at t = 1, ``steps`` Heun steps from x0 at t = 0."""
    _check_sampler(heun_sample, "heun_sample", heun=True)
    passed("heun_sample: an Euler predictor, then x <- x + dt * (v(x, t) + v(x_pred, t + dt)) / 2, two calls "
           "per step")


# --- exercise 6: classifier-free guidance of the velocity ------------------------------------------


class LabelEcho:
    """Stands in for the velocity network: predicts a 'velocity' that says which label it was given.

    Label y gives the value y + 1 everywhere, the 'no label' class gives ``UNCONDITIONAL``. It records
    the labels of every call.
    """

    UNCONDITIONAL = -2.0

    def __init__(self):
        self.label_calls = []

    def __call__(self, *inputs, training=None):
        import tensorflow as tf

        require(len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and len(inputs[0]) == 3,
                "call the network with ONE list of three inputs: velocity_net([x_t, t, labels], training=False).")
        x_t, _, labels = inputs[0]
        x_t, labels = tf.convert_to_tensor(x_t, tf.float32), tf.convert_to_tensor(labels)
        self.label_calls.append(np.asarray(labels))
        values = tf.where(labels == NULL_LABEL, self.UNCONDITIONAL, tf.cast(labels, tf.float32) + 1.0)
        return tf.zeros_like(x_t) + tf.reshape(values, [-1] + [1] * (len(x_t.shape) - 1))


def check_guided_velocity(guided_velocity):
    """``guided_velocity(velocity_net, x_t, t, labels, scale)``: v_uncond + scale * (v_cond - v_uncond)."""
    import tensorflow as tf

    labels = np.array([3, 7, 0, 9])
    x_t = np.zeros((len(labels), 3))
    t = np.full(len(labels), 0.4)
    conditional = np.broadcast_to((labels + 1.0)[:, None], x_t.shape)
    unconditional = np.full(x_t.shape, LabelEcho.UNCONDITIONAL)
    for scale in (3.0, 0.0, 1.0):
        echo = LabelEcho()
        result = call_with_stand_ins(f"calling guided_velocity(velocity_net, x_t, t, labels, scale={scale})",
                                     guided_velocity, echo, tf.constant(x_t, tf.float32), tf.constant(t, tf.float32),
                                     tf.constant(labels, tf.int32), scale)
        got = learner_array(result, "guided_velocity")
        require(got.shape == x_t.shape,
                f"for x_t of shape {x_t.shape} you return shape {got.shape}: one guided velocity per example (if "
                "you ran both branches in one batch of 2N, split it back into two halves).")
        guidance_labels_verdict(echo.label_calls, labels, NULL_LABEL, "network")
        want = unconditional + scale * (conditional - unconditional)
        name_mistake(got, want, guidance_mistakes(conditional, unconditional, scale, "v", "velocity"),
                     f"with scale = {scale}, v_cond = {conditional[:, 0]} and v_uncond = {LabelEcho.UNCONDITIONAL} "
                     f"the guided velocity should be {want[:, 0]}; yours is {got[:, 0].round(4)}.")
    passed("guided_velocity = v_uncond + scale * (v_cond - v_uncond), the unconditional branch with NULL_LABEL")
