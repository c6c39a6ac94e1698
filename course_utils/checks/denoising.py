"""Checks for chapter 02, denoising autoencoders.

Each check runs the learner's function on small synthetic batches and either prints one
``PASSED`` line or raises ``CheckFailed`` naming the most likely mistake. Noise is checked on
batches of identical grey images: its statistics over 50,176 pixels are decisive, and its
structure (one value per pixel and per image) is tested directly.
"""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks._learner import (missing_activation_message, pixel_output_message, random_at_inference_message,
                                          run_compiled_twice, run_traced_without_batch_size, take_bounded)
from course_utils.checks._verdict import call_learner, learner_array, passed, require

_SHAPE = (64, 28, 28, 1)  # 50,176 pixels: enough to measure noise statistics to about 1%

_FROZEN = ("random numbers from NumPy (or Python's random) are drawn once, when the function is traced, and "
           "a stateless op with a fixed seed gives the same numbers every time. Draw with tf.random.normal / "
           "tf.random.uniform.")


def _run(fn, images, *args):
    """Call ``fn`` on a float32 tensor and return a NumPy array, explaining a crash."""
    out = call_learner(f"calling your function on a batch of shape {images.shape} failed",
                       fn, tf.constant(images, tf.float32), *args)
    out = learner_array(out, "your function")
    require(
        out.shape == images.shape,
        f"the output has shape {out.shape} but the input has shape {images.shape}: noise must "
        "keep the shape (add one noise value per pixel, e.g. tf.random.normal(tf.shape(images))).",
    )
    return out


def _require_per_image_and_pixel(change, what):
    """``change``, what the function did to a batch of identical images, must differ between images and pixels."""
    flat = change.reshape(len(change), -1)
    require(not np.all(flat == flat[:1]),
            f"every image of the batch gets the same {what}: it was drawn for ONE image (e.g. with the shape "
            "tf.shape(images)[1:]) and broadcast over the batch. Draw it with the shape of the whole batch, "
            "tf.shape(images), so each image gets its own.")
    require(not np.all(flat == flat[:, :1]),
            f"all pixels of an image get the same {what}: one random number per image (shape (batch, 1, 1, 1)) "
            "was broadcast over its pixels. Draw one per pixel, with the shape tf.shape(images).")


def _require_fresh_in_graph(fn, images, *args, noise_of=lambda output: output):
    """``fn`` compiled by tf.function (as tf.data's map runs it) must give new noise on every call, and must
    run with an unknown batch size (as after ``.batch``). ``noise_of(output)`` is the part that must change."""
    first, second = run_compiled_twice("inside tf.function (as in a tf.data map) your function failed",
                                       lambda x: fn(x, *args), tf.constant(images))
    require(not np.array_equal(noise_of(first), noise_of(second)),
            "your function returns the SAME noise on every call once it runs inside tf.function (which is how "
            "tf.data's map runs it): " + _FROZEN)
    run_traced_without_batch_size(
        "inside tf.function with an unknown batch size (as in a tf.data map after .batch) your function failed",
        lambda x: fn(x, *args), images)


def check_add_gaussian_noise(add_gaussian_noise):
    """``add_gaussian_noise(images, stddev)``: x + stddev * N(0, 1), clipped to [0, 1]."""
    grey = np.full(_SHAPE, 0.5, np.float32)
    changes = {stddev: _run(add_gaussian_noise, grey, stddev) - grey for stddev in (0.05, 0.1)}
    for stddev, change in changes.items():
        require(change.std() > 1e-4,
                f"with stddev={stddev} the output equals the input: no noise was added. (A keras GaussianNoise "
                "layer adds noise only when called with training=True.)")
        _require_per_image_and_pixel(change, "noise")
    std = {stddev: change.std() for stddev, change in changes.items()}
    require(abs(std[0.1] / std[0.05] - 1) > 0.2,
            f"the noise has the same strength ({std[0.05]:.3f}) for stddev=0.05 and stddev=0.1: multiply "
            "standard normal noise by stddev.")
    for stddev, change in changes.items():
        require(
            abs(std[stddev] - stddev**2) > 0.2 * stddev**2 or abs(std[stddev] - stddev) < 0.1 * stddev,
            f"with stddev={stddev} the noise has standard deviation {std[stddev]:.4f} = stddev**2: "
            "you scaled by the variance. Multiply standard normal noise by stddev itself.",
        )
        require(
            abs(std[stddev] - stddev) < 0.1 * stddev,
            f"with stddev={stddev} the added noise has standard deviation {std[stddev]:.4f}; it should be "
            f"{stddev}. Add stddev * tf.random.normal(tf.shape(images)) to the images.",
        )
        require(
            abs(change.mean()) < 0.1 * stddev,
            f"the noise has mean {change.mean():.4f}; Gaussian noise should have mean 0 "
            "(use tf.random.normal, not tf.random.uniform).",
        )

    black = np.zeros(_SHAPE, np.float32)
    noisy = _run(add_gaussian_noise, black, 0.5)
    require(
        noisy.max() > 0.1,
        "on a black image (all zeros) the output stays black: you multiplied the images by the "
        "noise instead of adding it.",
    )
    require(
        noisy.min() >= 0.0 and _run(add_gaussian_noise, black + 1.0, 0.5).max() <= 1.0,
        f"the noisy images have values in [{noisy.min():.2f}, ...] outside [0, 1]: the noise is not "
        "clipped. Pixel intensities live in [0, 1]; finish with tf.clip_by_value(noisy, 0.0, 1.0).",
    )
    _require_fresh_in_graph(add_gaussian_noise, grey, 0.1)
    passed("add_gaussian_noise adds zero-mean noise of the right strength, clipped to [0, 1], fresh on every call")


def check_add_salt_and_pepper(add_salt_and_pepper):
    """``add_salt_and_pepper(images, fraction)``: a fraction of pixels set to 0 or 1, half each."""
    grey = np.full(_SHAPE, 0.5, np.float32)
    for fraction in (0.1, 0.3):
        noisy = _run(add_salt_and_pepper, grey, fraction)
        changed = noisy != 0.5
        share = changed.mean()
        require(share > 0, f"with fraction={fraction} no pixel changed: no noise was added.")
        require(
            np.all(np.isin(noisy[changed], (0.0, 1.0))),
            "pixels that changed should become exactly 0 (pepper) or 1 (salt); yours take other "
            f"values, e.g. {noisy[changed & ~np.isin(noisy, (0.0, 1.0))][:3]}. Replace the chosen "
            "pixels, do not add noise to them.",
        )
        _require_per_image_and_pixel(noisy - grey, "corruption")
        # With 784 pixels an image, a share of 0 or 1 never happens by chance (0.9 ** 784 < 1e-35).
        per_image = changed.mean(axis=(1, 2, 3))
        require(
            np.all((per_image > 0) & (per_image < 1)),
            "some images have all their pixels corrupted and others none: whether to corrupt was drawn once "
            "per image (shape (batch, 1, 1, 1)). Draw it per pixel: tf.random.uniform(tf.shape(images)) < fraction.",
        )
        salt = (noisy[changed] == 1.0).mean()
        require(
            salt > 0.02,
            "every changed pixel became 0: you only added pepper. Set half of the chosen pixels to "
            "1 (salt) and half to 0 (pepper), e.g. with a second uniform draw < 0.5. (If you built "
            "two masks from the same random draw, the pepper mask may overwrite the salt mask.)",
        )
        require(
            salt < 0.98,
            "every changed pixel became 1: you only added salt. Set half of the chosen pixels to 0 "
            "(pepper) and half to 1 (salt).",
        )
        # About 5,000 changed pixels, 78 or more per image: each image must hold both kinds.
        both_kinds = np.any(noisy == 1.0, axis=(1, 2, 3)) & np.any(noisy == 0.0, axis=(1, 2, 3))
        require(
            both_kinds.all(),
            "some images got only salt or only pepper: the choice between 0 and 1 was drawn once per image. "
            "Draw it per pixel, e.g. tf.random.uniform(tf.shape(images)) < 0.5.",
        )
        require(
            abs(share - (1 - fraction)) > 0.1 * fraction,
            f"with fraction={fraction}, {share:.3f} of the pixels changed, that is 1 - fraction: the comparison "
            "is the wrong way round. Corrupt the pixels where tf.random.uniform(...) < fraction.",
        )
        require(
            abs(share - fraction / 2) > 0.1 * fraction,
            f"with fraction={fraction} only {share:.3f} of the pixels changed, half of what was "
            "asked: `fraction` is the share of ALL corrupted pixels (salt and pepper together).",
        )
        require(
            abs(share - (2 * fraction - fraction**2)) > 0.1 * fraction,
            f"with fraction={fraction}, {share:.3f} of the pixels changed, about twice the fraction: "
            "you probably drew two independent masks (one for salt, one for pepper) with "
            "probability `fraction` each. Draw ONE mask (uniform < fraction) for which pixels "
            "change, then choose salt or pepper for those.",
        )
        require(
            abs(share - fraction) < 0.1 * fraction,
            f"with fraction={fraction}, {share:.3f} of the pixels changed; it should be {fraction}.",
        )
        require(
            abs(salt - 0.5) < 0.05,
            f"{salt:.0%} of the changed pixels are salt (1) and {1 - salt:.0%} pepper (0); they "
            "should be equally often salt and pepper.",
        )
    _require_fresh_in_graph(add_salt_and_pepper, grey, 0.1, noise_of=lambda output: output != 0.5)
    passed("add_salt_and_pepper corrupts the right fraction of pixels, half salt and half pepper, fresh on every call")


def _identifiable_images(n):
    """``n`` constant images with distinct grey values, so a batch can be matched to its sources."""
    values = np.linspace(0.3, 0.7, n, dtype=np.float32)
    return np.broadcast_to(values[:, None, None, None], (n, 28, 28, 1)).copy(), values


def _require_usable_noise_fn(noise_fn):
    """The noise function handed to the dataset check must give fresh noise in a graph: else that exercise
    is at fault, not the dataset."""
    grey = np.full((16, 28, 28, 1), 0.5, np.float32)
    first, second = run_traced_without_batch_size(
        "the noise function you pass to the check failed inside tf.function (fix it first: the checks of "
        "add_gaussian_noise and add_salt_and_pepper say how)", noise_fn, grey)
    first, second = learner_array(first, "the noise function"), learner_array(second, "the noise function")
    require(first.shape == grey.shape and not np.array_equal(first, second),
            "the noise function you pass to the check does not give fresh noise of the batch's shape inside "
            "tf.function, so no dataset can draw fresh noise with it: fix add_gaussian_noise and "
            "add_salt_and_pepper first (their checks say how), then run this check again.")


def check_denoising_dataset(make_denoising_dataset, noise_fn):
    """``make_denoising_dataset(images, noise_fn, batch_size)`` yields (noisy input, clean target)."""
    _require_usable_noise_fn(noise_fn)
    images, values = _identifiable_images(128)  # 8 batches: shuffling them alone repeats an order 1 time in 40,320
    dataset = call_learner("make_denoising_dataset failed", make_denoising_dataset, images, noise_fn, 16)
    require(isinstance(dataset, tf.data.Dataset),
            f"make_denoising_dataset should return a tf.data.Dataset, got {type(dataset).__name__}.")

    def epoch():
        pairs = []
        for element in take_bounded(dataset, len(images), "reading your dataset failed"):
            require(
                isinstance(element, tuple) and len(element) == 2,
                "each element of the dataset must be a pair (noisy_batch, clean_batch), the "
                "(input, target) that model.fit expects.",
            )
            noisy, clean = (np.asarray(part) for part in element)
            require(clean.ndim == 4,
                    f"an element of your dataset holds a clean part of shape {clean.shape}, one image: batch "
                    "the dataset (.batch(batch_size)) so that model.fit gets batches.")
            require(noisy.shape == clean.shape,
                    f"a noisy batch has shape {noisy.shape} but its clean batch {clean.shape}: noise_fn "
                    "expects a BATCH of images (N, 28, 28, 1), so map it after .batch(...).")
            pairs.append((noisy, clean))
        return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs]), pairs

    inputs, targets, pairs = epoch()
    require(pairs[0][0].shape[0] == 16,
            f"the first batch has {pairs[0][0].shape[0]} images; batch the dataset with batch_size=16 as asked.")
    require(len(inputs) == len(images),
            f"one pass over the dataset gave {len(inputs)} images for {len(images)} inputs: use every image once per epoch.")
    require(
        not np.array_equal(inputs, targets),
        "the inputs equal the targets: the model would learn clean -> clean (or noisy -> noisy). "
        "Add noise to the INPUT only: map each batch to (noise_fn(clean), clean).",
    )
    target_is_clean = np.all(targets == targets[:, :1, :1, :], axis=(1, 2, 3)) & np.isin(targets[:, 0, 0, 0], values)
    require(
        target_is_clean.all(),
        "the targets are noisy: the model would learn noisy -> noisy. The target must be the clean "
        "image: map each batch to (noise_fn(clean), clean), not (noisy, noisy).",
    )
    require(
        sorted(targets[:, 0, 0, 0]) == sorted(values),
        "one pass over the dataset does not return each clean image exactly once.",
    )
    inputs_again, targets_again, pairs_again = epoch()
    first = inputs[np.argsort(targets[:, 0, 0, 0])]
    second = inputs_again[np.argsort(targets_again[:, 0, 0, 0])]
    # Order first: with a global seed set, unshuffled batches also repeat their noise.
    require(
        not np.array_equal(targets[:, 0, 0, 0], targets_again[:, 0, 0, 0]),
        "two epochs give the batches in the same order: shuffle the images (.shuffle(...)) before batching.",
    )
    # Two full shuffles of 128 images into batches of 16 give the same batches with probability below 1e-20.
    batches, batches_again = ({frozenset(clean[:, 0, 0, 0]) for _, clean in run} for run in (pairs, pairs_again))
    require(
        batches != batches_again,
        "every epoch puts the same images together in a batch, only the order of the batches changes: you "
        "shuffle AFTER batching. Shuffle the images first, then batch: .shuffle(n).batch(batch_size).",
    )
    require(
        not np.array_equal(first, second),
        "every epoch sees the same noisy images: the noise was drawn once (e.g. before .cache(), or "
        "with NumPy before building the dataset). Add the noise in a .map() AFTER .cache(), so each "
        "epoch draws fresh noise and the model cannot memorise it.",
    )
    passed("the dataset yields (noisy, clean) pairs, shuffled, with fresh noise every epoch")


def _all_layers(model):
    """The model's layers, including those inside nested models."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def check_denoiser(model):
    """``build_denoiser()``: a conv net mapping (N, 28, 28, 1) images to (N, 28, 28, 1) in [0, 1]."""
    require(isinstance(model, keras.Model), f"build_denoiser should return a keras.Model, got {type(model).__name__}.")
    batch = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
    out = learner_array(call_learner("the model failed on a batch of shape (4, 28, 28, 1)", model, batch), "the model")
    require(
        out.shape == (4, 28, 28, 1),
        f"the model maps (4, 28, 28, 1) to {out.shape}; a denoiser returns an image of the input's "
        "shape. Check the strides and paddings (padding='same') so that 28 -> 14 -> 7 goes back "
        "to 7 -> 14 -> 28, and end with a 1-channel layer.",
    )
    # Inputs far outside [0, 1] drive the last layer into both tails of its activation.
    extreme = learner_array(call_learner("the model failed on a batch of large values", model, batch * 200.0 - 100.0),
                            "the model")
    message = pixel_output_message(model, np.concatenate([out, extreme]), "the model")
    require(message is None, message)
    message = random_at_inference_message(model, batch, "the model")
    require(message is None, message)
    message = missing_activation_message(model, "Give each hidden layer activation='relu'.")
    require(message is None, message)
    require(any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model)), "the model has no Conv2D layer: build a convolutional denoiser (Conv2D / Conv2DTranspose).")
    require(
        model.count_params() < 1_000_000,
        f"the model has {model.count_params():,} parameters; a few tens of thousands are enough "
        "for MNIST and train much faster on a CPU.",
    )
    passed(f"the denoiser maps (N, 28, 28, 1) to (N, 28, 28, 1) in [0, 1] with {model.count_params():,} parameters")
