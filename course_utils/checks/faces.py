"""Checks for chapter 13: a DCGAN and a VAE on faces, and how to tell whether a generator copies.

Each check runs the learner's function on small inputs whose right answer is known and, when the answer
is wrong, compares it with the usual mistakes to name the likely one. The generator is built under a
float32 policy: mixed precision is the notebook's speed setting, not part of the lesson.
"""

import tracemalloc

import keras
import numpy as np
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.checks._learner import (final_activation, missing_activation_message, random_at_inference_message,
                                          run_traced_without_batch_size)
from course_utils.checks._numeric import close
from course_utils.checks._verdict import CheckFailed, call_learner, learner_array, passed, require
from course_utils.checks.vae import kl_reference

# --- exercise 1: a generator for any image size ----------------------------------------------------------


def _layers(model):
    """All layers of a model in order, nested models flattened."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]


def _generator_images(build_generator, latent_dim, image_size, width):
    """The generator that ``build_generator`` makes for ``image_size``, and its images for 4 noise vectors."""
    call = f"build_generator({latent_dim}, {image_size}, width={width})"
    generator = call_learner(f"{call} raised", build_generator, latent_dim, image_size, width=width)
    require(isinstance(generator, keras.Model),
            f"{call} should return a keras Model; got {type(generator).__name__}"
            + (": did you forget `return`?" if generator is None else "."))
    require(_built_with_output_shape(generator),
            f"{call} returns a model that is not built yet: a keras.Sequential with no input shape is built only "
            "when it is first called, so the chapter's next cell, which asks the new generator for count_params() "
            "and output_shape, fails. Start the Sequential with keras.Input((latent_dim,)).")
    z = np.random.default_rng(0).normal(size=(4, latent_dim)).astype(np.float32)
    images = learner_array(call_learner(f"the generator of {call} raised on noise of shape {z.shape}",
                                        generator, z, training=False), f"the generator of {call}")
    return generator, images


def _built_with_output_shape(model):
    """True if ``model`` knows its weights and its output shape before it is ever called."""
    try:
        return bool(model.built) and model.output_shape is not None
    except Exception:  # noqa: BLE001 - an unbuilt Sequential raises AttributeError, a subclassed model too
        return False


def _initializer_message(layers):
    """Why a Dense or convolution layer of ``layers`` does not start from DCGAN's N(0, 0.02^2) weights, or None."""
    for layer in layers:
        initializer = getattr(layer, "kernel_initializer", None)
        if initializer is None:
            continue
        try:
            config = initializer.get_config()
        except Exception:  # noqa: BLE001 - a plain function as initializer: it has no config to read
            config = {}
        normal = isinstance(initializer, keras.initializers.RandomNormal)
        if normal and np.isclose(config.get("stddev", -1), 0.02) and np.isclose(config.get("mean", -1), 0.0):
            continue
        name = type(initializer).__name__
        described = (f"RandomNormal(mean={config.get('mean')}, stddev={config.get('stddev')})" if normal
                     else name + (" (the default)" if name == "GlorotUniform" else ""))
        return (f"layer '{layer.name}' starts its weights from {described}: DCGAN starts every weight from "
                "N(0, 0.02^2) (Radford et al., 2016). Pass kernel_initializer=INIT (chapter 05's "
                "RandomNormal(stddev=0.02)) to every Dense and Conv2DTranspose, the output layer included.")
    return None


_RESHAPING = (keras.layers.Reshape, keras.layers.Flatten)


def _bias_message(layers):
    """Why the biases of ``layers`` (a plain chain, in order) are wrong, or None: a layer that batch norm follows
    (through reshaping only) has none, the output layer keeps its own."""
    weighted = [position for position, layer in enumerate(layers) if hasattr(layer, "kernel_initializer")]
    for position in weighted:
        layer = layers[position]
        following = next((after for after in layers[position + 1:] if not isinstance(after, _RESHAPING)), None)
        normalised = isinstance(following, keras.layers.BatchNormalization)
        if normalised and getattr(layer, "use_bias", False):
            return (f"layer '{layer.name}' has a bias and batch normalization comes right after it: batch norm "
                    "subtracts the batch mean, which removes the bias, and adds its own learned shift, so that bias "
                    "is a wasted weight. Pass use_bias=False to every Dense and Conv2DTranspose that bn() follows.")
        if position == weighted[-1] and not normalised and not getattr(layer, "use_bias", True):
            return (f"the output layer '{layer.name}' has no bias (use_bias=False): no batch norm follows it, so "
                    "nothing else shifts its output. use_bias=False goes only where bn() follows; the output layer "
                    "keeps its bias (the default).")
    return None


def _size_message(images, image_size, blocks):
    """Why the generator for ``image_size`` made images of another size, or None."""
    if images.ndim == 4 and images.shape[1:3] == (image_size, image_size):
        return None
    got = images.shape[1] if images.ndim == 4 else None
    if got in (10, 22, 46, 94, 11, 23, 47, 95):
        return (f"for image_size={image_size} your generator makes {got}x{got} images: sizes that grow like "
                "2*size + 2 come from padding='valid'. With padding='same' a Conv2DTranspose with strides=2 "
                "exactly doubles height and width.")
    if got is not None and got != image_size and got >= 4 and got & (got - 1) == 0:
        return (f"for image_size={image_size} your generator makes {got}x{got} images: from the 4x4 start it "
                f"needs log2({image_size} / 4) = {blocks} transposed convolutions that double the size, the "
                "number computed from image_size (a fixed number of layers fits one size only).")
    return (f"for image_size={image_size} the generator should return images of shape (4, {image_size}, "
            f"{image_size}, 3); got {images.shape}.")


@global_policy("float32")
def check_generator(build_generator, latent_dim=16, width=8):
    """``build_generator(latent_dim, image_size, width)``: noise -> (N, image_size, image_size, 3) in [-1, 1],
    with log2(image_size / 4) transposed convolutions whose filters halve down to ``width``, a model built before
    it is called, weights started from N(0, 0.02^2) and no bias where batch norm follows."""
    for image_size in (32, 64):
        blocks = int(np.log2(image_size // 4))
        generator, images = _generator_images(build_generator, latent_dim, image_size, width)
        message = _size_message(images, image_size, blocks)
        require(message is None, message)
        require(images.shape[-1] == 3,
                f"the generator makes images with {images.shape[-1]} channel(s): the last Conv2DTranspose "
                "needs 3 filters, one per colour channel.")
        layers = _layers(generator)
        transposed = [layer for layer in layers if isinstance(layer, keras.layers.Conv2DTranspose)]
        require(len(transposed) == blocks,
                f"for image_size={image_size} the generator has {len(transposed)} Conv2DTranspose layers; "
                f"it needs {blocks} (log2({image_size} / 4)), each doubling the size from the 4x4 start.")
        filters = [layer.filters for layer in transposed[:-1]]
        wanted = [width * 2 ** (blocks - 2 - i) for i in range(blocks - 1)]
        if filters == wanted[::-1] and filters != wanted:
            raise CheckFailed(f"the hidden Conv2DTranspose layers have {filters} filters, growing: a DCGAN "
                              f"generator starts wide and halves the filters as the image grows, down to "
                              f"width={width} before the output layer ({wanted} here).")
        require(filters == wanted,
                f"for image_size={image_size} and width={width} the hidden Conv2DTranspose layers should have "
                f"{wanted} filters (halving down to width); yours have {filters}.")
        random = random_at_inference_message(generator, np.zeros((2, latent_dim), np.float32), "your generator")
        require(random is None, random)
        kinds = [type(layer).__name__ for layer in layers]
        require(kinds.count("BatchNormalization") >= blocks,
                "put bn() after the dense layer and after every hidden Conv2DTranspose (before its ReLU): "
                f"the generator for image_size={image_size} has {kinds.count('BatchNormalization')} batch-norm "
                f"layers, it needs {blocks}.")
        last_weighted = [layer for layer in layers if layer.weights][-1]
        require(not isinstance(last_weighted, keras.layers.BatchNormalization),
                "the generator's output layer is followed by BatchNormalization: leave it out there "
                "(Radford et al. 2016 found batch norm on the generator's output made samples oscillate).")
        missing = missing_activation_message(generator, "Put a ReLU after each hidden layer (after its batch norm).")
        require(missing is None, missing)
        output = final_activation(generator)
        require(output in ("tanh", None),
                f"the generator ends with {output or 'no activation'}: the training faces are scaled to "
                "[-1, 1], so end with activation='tanh'.")
        z = 1e4 * np.random.default_rng(1).normal(size=(4, latent_dim)).astype(np.float32)  # saturates the output
        loud = learner_array(call_learner("your generator raised on large noise", generator, z, training=False),
                             "your generator")
        require(loud.min() >= -1.0 - 1e-5 and loud.max() <= 1.0 + 1e-5 and loud.min() < -0.05,
                f"the generator's output reaches [{loud.min():.3g}, {loud.max():.3g}] for large noise: end it "
                "with activation='tanh', so that faces lie in [-1, 1] like the scaled training faces.")
        for message in (_initializer_message(layers), _bias_message(layers)):
            require(message is None, message)
    passed("build_generator makes 32x32 and 64x64 faces in [-1, 1] with log2(image_size / 4) transposed "
           "convolutions, filters halving down to width")


# --- exercise 2: the negative ELBO with a Gaussian decoder ---------------------------------------------

_TOLERANCE = 1e-3


def check_negative_elbo(negative_elbo, sigma=0.1):
    """``negative_elbo(x, x_mean, mean, log_var, sigma)``: per image, the Gaussian negative log-likelihood
    ``sum((x - x_mean)^2 / (2 sigma^2) + log(2 pi sigma^2) / 2)`` over the pixels plus the KL to N(0, I)."""
    rng = np.random.default_rng(3)
    n, shape = 3, (8, 8, 3)
    x = rng.uniform(size=(n, *shape))
    x_mean = np.clip(x + rng.normal(0.0, 0.15, size=x.shape), 0.0, 1.0)
    mean = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0], [0.3, 2.0, -0.7, 1.2]])
    log_var = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [np.log(0.5), np.log(2.0), -1.5, 0.4]])
    pixels = int(np.prod(shape))
    squares = ((x - x_mean) ** 2).sum(axis=(1, 2, 3))
    constant = 0.5 * pixels * np.log(2 * np.pi * sigma**2)
    reconstruction, kl = squares / (2 * sigma**2) + constant, kl_reference(mean, log_var)
    tensors = [tf.constant(a, tf.float32) for a in (x, x_mean, mean, log_var)]
    got = learner_array(call_learner("negative_elbo(x, x_mean, mean, log_var, sigma) raised",
                                     negative_elbo, *tensors, sigma), "negative_elbo")
    require(np.all(np.isfinite(got)),
            "negative_elbo returns NaN or inf: is there a log of log_var, or a log of something that can be 0?")
    require(got.shape == (n,),
            f"negative_elbo returns shape {got.shape}; return one value per image, shape ({n},): sum over the "
            "pixels and the latent dimensions, and average over the batch only in the loss.")
    want = reconstruction + kl
    if close(got, want, _TOLERANCE):
        run_traced_without_batch_size(
            "inside tf.function with an unknown batch size (as in the VAE's train_step) negative_elbo failed",
            lambda *arrays: negative_elbo(*arrays, sigma), x, x_mean, mean, log_var)
        passed("negative_elbo = Gaussian reconstruction term (summed over the pixels, constant included) + KL, "
               "in nats per image")
        return
    mistakes = [
        (squares / (2 * sigma**2) + kl,
         "the constant sum of log(2 pi sigma^2) / 2 over the pixels is missing: it does not change the "
         "gradients, but without it the number is not -log p(x | z) in nats."),
        (squares / (2 * sigma**2) + n * constant + kl,
         f"the constant counts the values of the whole batch ({n} faces x {pixels} values, as tf.size(x) does): "
         "count the values per face, H x W x 3, not in the whole batch: tf.reduce_prod(tf.shape(x)[1:])."),
        (squares / (2 * sigma**2) + constant / shape[-1] + kl,
         "the constant counts the pixels but not the colour channels: count the values per face, H x W x 3 "
         "(tf.reduce_prod(tf.shape(x)[1:])), since the sum runs over all pixels AND channels."),
        ((squares + constant) / (2 * sigma**2) + kl, "the constant got divided by 2 sigma^2 too: only the squared "
                                                      "error is divided by 2 sigma^2."),
        (squares / (2 * sigma) + 0.5 * pixels * np.log(2 * np.pi * sigma) + kl,
         "you used sigma where the formula has the variance sigma^2: divide the squared error by 2 * sigma**2 "
         "and take log(2 pi sigma^2)."),
        (squares / (2 * sigma) + constant + kl,
         "the squared error is divided by 2 * sigma; a Gaussian's log-density divides it by 2 * sigma**2 "
         "(the variance)."),
        (squares / sigma**2 + constant + kl, "the squared error is divided by sigma^2, not 2 sigma^2: the "
                                            "factor 1/2 of the Gaussian's exponent is missing."),
        (squares + kl, "the reconstruction term is a plain sum of squared errors: divide it by 2 sigma^2 (and add "
                       "the constant). sigma is the decoder's noise level; it sets how much a pixel error costs "
                       "against the KL term."),
        (squares / pixels + kl, "your reconstruction term is a mean squared error (averaged over the pixels, no "
                                "sigma): sum the squared errors over all pixels and channels, divide by 2 sigma^2 "
                                "and add the constant, so that it is -log p(x | z) in nats."),
        (squares / pixels / (2 * sigma**2) + kl, "your reconstruction term is AVERAGED over the pixels: sum it "
                                                 "over all pixels and channels (and add the constant)."),
        (reconstruction / pixels + kl, "your reconstruction term is AVERAGED over the pixels (e.g. a mean squared "
                                       "error): sum it over all pixels, so the loss is in nats per image and not "
                                       "swamped by the KL term."),
        (reconstruction + kl / mean.shape[1], "the KL term is averaged over the latent dimensions: sum it."),
        (reconstruction - kl, "the KL term is subtracted: the negative ELBO is the reconstruction term PLUS KL."),
        (reconstruction, "the KL term is missing: add 0.5 * sum(mean^2 + exp(log_var) - log_var - 1)."),
        (kl - reconstruction, "the reconstruction term has the wrong sign: -log p(x | z) is a cost to ADD."),
        (reconstruction + 0.5 * np.sum(mean**2 + np.exp(2 * log_var) - 2 * log_var - 1.0, axis=-1),
         "your KL treats log_var as the log of the standard deviation: it is the log of the VARIANCE, so the "
         "variance is exp(log_var)."),
        (reconstruction + 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var, axis=-1),
         "the '- 1' inside the KL sum is missing: the KL of N(0, 1) to N(0, 1) must be 0."),
    ]
    for wrong, message in mistakes:
        if close(got, wrong, _TOLERANCE):
            raise CheckFailed(message)
    raise CheckFailed(f"for these inputs (sigma={sigma}) the negative ELBO per image is {want.round(2)}; yours is "
                      f"{got.round(2)}. Use sum((x - x_mean)^2 / (2 sigma^2) + log(2 pi sigma^2) / 2) over the "
                      "pixels plus the KL term.")


# --- exercise 3: spherical interpolation ---------------------------------------------------------------


def _slerp(z0, z1, t):
    omega = np.arccos(np.clip(np.dot(z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)), -1.0, 1.0))
    t = t[:, None]
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def check_slerp(slerp):
    """``slerp(z0, z1, t)``: for vectors (d,) and fractions t (steps,), the points (steps, d) on the great
    circle arc from z0 to z1 (Shoemake 1985; White 2016 for latent spaces)."""
    rng = np.random.default_rng(0)
    d = 64
    z0, z1 = rng.normal(size=d), 2.0 * rng.normal(size=d)  # unequal lengths: the answer is not a unit vector
    t = np.linspace(0.0, 1.0, 7)
    got = learner_array(call_learner("slerp(z0, z1, t) raised", slerp, z0.astype(np.float32),
                                     z1.astype(np.float32), t.astype(np.float32)), "slerp")
    require(np.all(np.isfinite(got)),
            "slerp returns NaN or inf: the angle is arccos of the dot product of the two UNIT vectors "
            "z0 / |z0| and z1 / |z1| (a raw dot product lies outside [-1, 1], where arccos is NaN).")
    if got.shape == (d, len(t)):
        raise CheckFailed(f"slerp returns shape {got.shape}: one ROW per fraction t, shape ({len(t)}, {d}); "
                          "put t on the first axis (t[:, None] * z0 broadcasts that way).")
    require(got.shape == (len(t), d),
            f"for z0, z1 of shape ({d},) and {len(t)} fractions t, slerp should return shape ({len(t)}, {d}); "
            f"got {got.shape}.")
    want = _slerp(z0, z1, t)
    if close(got, want, _TOLERANCE):
        passed("slerp follows the arc from z0 (t = 0) to z1 (t = 1), keeping the length of the codes")
        return
    unit0, unit1 = z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)
    omega = np.arccos(np.dot(unit0, unit1))
    mistakes = [
        ((1 - t[:, None]) * z0 + t[:, None] * z1,
         "that is the straight line (1 - t) z0 + t z1, not the arc: in the middle its points are shorter than "
         "any code the prior draws. Use sin((1 - t) omega) / sin(omega) * z0 + sin(t omega) / sin(omega) * z1."),
        (_slerp(z1, z0, t), "your path runs from z1 to z0: at t = 0 slerp must return z0, at t = 1 z1 (swap the "
                            "weights sin((1 - t) omega) and sin(t omega))."),
        (_slerp(unit0, unit1, t), "your points have length 1: you interpolated the directions z0 / |z0| and "
                                  "z1 / |z1|. Use them only for the angle omega; weight z0 and z1 themselves."),
        ((np.cos((1 - t[:, None]) * omega) * z0 + np.cos(t[:, None] * omega) * z1) / np.sin(omega),
         "the weights use cos where the formula has sin: sin((1 - t) omega) / sin(omega) and sin(t omega) / "
         "sin(omega)."),
        (np.sin((1 - t[:, None]) * omega) * z0 + np.sin(t[:, None] * omega) * z1,
         "the division by sin(omega) is missing: without it the end points are not z0 and z1."),
    ]
    degrees = np.degrees(omega)
    mistakes.append(((np.sin((1 - t[:, None]) * degrees) * z0 + np.sin(t[:, None] * degrees) * z1) / np.sin(degrees),
                     "the angle is in degrees: np.sin and np.arccos work in radians; leave out np.degrees."))
    for wrong, message in mistakes:
        if close(got, wrong, _TOLERANCE):
            raise CheckFailed(message)
    if not close(got[[0, -1]], np.stack([z0, z1]), _TOLERANCE):
        raise CheckFailed("slerp(z0, z1, t) should return z0 at t = 0 and z1 at t = 1; yours does not.")
    raise CheckFailed("slerp's points between the ends are not on the arc: with omega = arccos(z0 . z1 / "
                      "(|z0| |z1|)), return (sin((1 - t) omega) z0 + sin(t omega) z1) / sin(omega).")


# --- exercise 4: the nearest training faces ------------------------------------------------------------

_MEMORY_LIMIT_MB = 40
"""Peak NumPy memory allowed for 50 queries against 4,000 references of 128 features: the distance
matrix takes 1.6 MB; the (50, 4000, 128) array of all differences would take 205 MB."""


def _shape(part):
    """The shape of one array the learner returned, or None for something that has none (a ragged list)."""
    try:
        return np.shape(part)
    except Exception:  # noqa: BLE001 - learner_array names what it is
        return None


def _learner_neighbours(nearest, queries, references, k):
    """The learner's (distances, indices) for these inputs, each as an array of shape (n, k)."""
    result = call_learner(f"nearest_training(queries, references, k={k}) raised", nearest, queries, references, k)
    require(isinstance(result, (tuple, list)) and len(result) == 2,
            "nearest_training should return two arrays, (distances, indices); it returned "
            f"{type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            + ".")
    n, m = len(queries), len(references)
    shapes = [_shape(part) for part in result]
    hint = f"One row per query, one column for each of its k={k} nearest references."
    if (k, n) in shapes:
        hint = f"Your arrays are transposed: one ROW per query ({n} rows), one column per neighbour."
    elif (k, m) in shapes:
        hint = ("That is one column per REFERENCE: you took the k smallest along axis 0 (np.argsort(distances, "
                "axis=0)[:k]), the k nearest queries of each reference. Take them in each ROW of the (queries, "
                "references) distance matrix: np.argsort(distances, axis=1)[:, :k].")
    elif any(shape[:1] == (m,) for shape in shapes if shape is not None):
        hint = ("You took the k smallest along axis 0 (over the queries): take them in each ROW of the "
                "(queries, references) distance matrix, along axis=1.")
    arrays = []
    for part, name in zip(result, ("distances", "indices")):
        require(part is not None, f"nearest_training returned None as its {name}: return (distances, indices).")
        array = learner_array(part, f"nearest_training (its {name})")
        require(array.shape == (n, k), f"nearest_training should return {name} of shape ({n}, {k}) for {n} queries "
                                       f"and k={k}; its {name} have shape {array.shape}. {hint}")
        arrays.append(array)
    return tuple(arrays)


def check_nearest_training(nearest_training):
    """``nearest_training(queries, references, k)``: per query, the Euclidean distances (ascending) to its
    ``k`` nearest references and their indices, both (n, k), without the (n, m, d) array of all differences."""
    rng = np.random.default_rng(7)
    n, m, d, k = 6, 40, 16, 3
    # Large, float32 features like a network's, and two queries equal to a reference: rounding then makes
    # some squared distances computed as |q|^2 + |r|^2 - 2 q.r slightly negative.
    references = (30.0 + 5.0 * rng.normal(size=(m, d))).astype(np.float32)
    queries = (30.0 + 5.0 * rng.normal(size=(n, d))).astype(np.float32)
    queries[1], queries[4] = references[17], references[3]
    full = np.sqrt(((queries[:, None, :].astype(np.float64) - references[None]) ** 2).sum(-1))
    order = np.argsort(full, axis=1, kind="stable")
    want_indices, want = order[:, :k], np.take_along_axis(full, order[:, :k], axis=1)
    distances, indices = _learner_neighbours(nearest_training, queries, references, k)
    require(np.all(np.isfinite(distances)),
            "some distances are NaN: for a query equal to a reference, |q|^2 + |r|^2 - 2 q.r comes out slightly "
            "negative by rounding, and the square root of a negative number is NaN. Clip at 0 first: "
            "np.sqrt(np.maximum(squared, 0)).")
    require(np.allclose(indices, np.round(indices)) and indices.min() >= 0 and indices.max() < m,
            f"the indices should be row numbers of references (0..{m - 1}); yours span "
            f"{indices.min():.3g}..{indices.max():.3g}.")
    indices = indices.astype(np.int64)
    farthest = np.argsort(-full, axis=1, kind="stable")[:, :k]
    require(not np.array_equal(indices, farthest),
            "you return the FARTHEST references: sort the distances ascending (np.argsort(distances)[:, :k]), "
            "not descending.")
    require(not np.allclose(distances, want**2, rtol=1e-3, atol=1e-2) or np.allclose(want, want**2),
            "the distances are squared: take the square root (the Euclidean distance), so that they are in "
            "the units of the features and comparable with the histograms in the chapter.")
    require(17 in indices[1] and 3 in indices[4],
            "a query equal to a reference must find it first, at distance 0; yours does not. Computed as "
            "|q|^2 + |r|^2 - 2 q.r, that squared distance comes out slightly negative by rounding, its square "
            "root is NaN, and sorting puts NaN last. Clip at 0 first: np.sqrt(np.maximum(squared, 0)).")
    same_set = np.sort(indices, axis=1)
    require(np.array_equal(same_set, np.sort(want_indices, axis=1)),
            "these are not the k nearest references of each query. Compute all distances between queries "
            "(rows) and references (columns), then take the k smallest in each ROW (axis=1).")
    require(np.array_equal(indices, want_indices),
            "the right neighbours, but not sorted nearest first: np.argpartition does not sort; sort the k by "
            "distance (np.argsort) so that column 0 is the nearest.")
    require(np.allclose(distances, want, rtol=1e-3, atol=2e-2),
            f"the distances do not belong to the indices: for query 0 the nearest distances are "
            f"{want[0].round(3)}, yours {distances[0].round(3)}. Return np.take_along_axis(distances, indices, 1).")
    _require_small_memory(nearest_training, rng)
    passed("nearest_training returns the k nearest references of each query, nearest first, with their "
           "Euclidean distances, in little memory")


def _require_small_memory(nearest_training, rng):
    """The learner's function does not build the (n, m, d) array of all differences (NumPy memory only)."""
    queries = rng.normal(size=(50, 128)).astype(np.float32)
    references = rng.normal(size=(4000, 128)).astype(np.float32)
    tracemalloc.start()
    try:
        call_learner("nearest_training raised on 50 queries and 4,000 references of 128 features",
                     nearest_training, queries, references, 5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    require(peak < _MEMORY_LIMIT_MB * 1e6,
            f"for 50 queries and 4,000 references of 128 features your function needed {peak / 1e6:.0f} MB: it "
            "builds the array of all differences (n, m, d). For the chapter's thousands of faces that is "
            "gigabytes. Use |q - r|^2 = |q|^2 + |r|^2 - 2 q.r, whose largest array is the (n, m) matrix "
            "(queries @ references.T).")
