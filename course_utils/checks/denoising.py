"""Checks for chapter 02, denoising autoencoders.

Each check runs the learner's function on small synthetic batches and either prints one
``PASSED`` line or raises ``CheckFailed`` naming the most likely mistake.
"""

import numpy as np

from course_utils.checks._verdict import CheckFailed, call_learner, passed, require

_SHAPE = (64, 28, 28, 1)  # 50,176 pixels: enough to measure noise statistics to about 1%


def _run(fn, images, *args):
    """Call ``fn`` on a float32 tensor and return a NumPy array, explaining a crash."""
    import tensorflow as tf

    out = call_learner(f"calling your function on a batch of shape {images.shape} failed",
                       fn, tf.constant(images, tf.float32), *args)
    out = np.asarray(out, dtype=np.float64)
    require(
        out.shape == images.shape,
        f"the output has shape {out.shape} but the input has shape {images.shape}: noise must "
        "keep the shape (add one noise value per pixel, e.g. tf.random.normal(tf.shape(images))).",
    )
    return out


def _fresh_in_graph(fn, images, *args):
    """Two calls of ``fn`` compiled by tf.function (as in a tf.data pipeline) must differ."""
    import tensorflow as tf

    graph_fn = tf.function(lambda x: fn(x, *args))
    x = tf.constant(images, tf.float32)
    first, second = np.asarray(graph_fn(x)), np.asarray(graph_fn(x))
    require(
        not np.array_equal(first, second),
        "your function returns the SAME noise on every call once it runs inside tf.function "
        "(which is how tf.data's map runs it). NumPy's random numbers are drawn once, when the "
        "function is traced; draw the noise with tf.random (tf.random.normal / tf.random.uniform).",
    )


def check_add_gaussian_noise(add_gaussian_noise):
    """``add_gaussian_noise(images, stddev)``: x + stddev * N(0, 1), clipped to [0, 1]."""
    grey = np.full(_SHAPE, 0.5, np.float32)
    for stddev in (0.05, 0.1):
        noisy = _run(add_gaussian_noise, grey, stddev)
        std = (noisy - grey).std()
        require(std > 1e-4, f"with stddev={stddev} the output equals the input: no noise was added.")
        require(
            abs(std - stddev**2) > 0.2 * stddev**2 or abs(std - stddev) < 0.1 * stddev,
            f"with stddev={stddev} the noise has standard deviation {std:.4f} = stddev**2: "
            "you scaled by the variance. Multiply standard normal noise by stddev itself.",
        )
        require(
            abs(std - stddev) < 0.1 * stddev,
            f"with stddev={stddev} the added noise has standard deviation {std:.4f}; it should be "
            f"{stddev}. Add stddev * tf.random.normal(tf.shape(images)) to the images.",
        )
        require(
            abs((noisy - grey).mean()) < 0.1 * stddev,
            f"the noise has mean {(noisy - grey).mean():.4f}; Gaussian noise should have mean 0 "
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
    _fresh_in_graph(add_gaussian_noise, grey, 0.1)
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
    _fresh_in_graph(add_salt_and_pepper, grey, 0.1)
    passed("add_salt_and_pepper corrupts the right fraction of pixels, half salt and half pepper, fresh on every call")


def _identifiable_images(n):
    """``n`` constant images with distinct grey values, so a batch can be matched to its sources."""
    values = np.linspace(0.3, 0.7, n, dtype=np.float32)
    return np.broadcast_to(values[:, None, None, None], (n, 28, 28, 1)).copy(), values


def check_denoising_dataset(make_denoising_dataset, noise_fn):
    """``make_denoising_dataset(images, noise_fn, batch_size)`` yields (noisy input, clean target)."""
    import tensorflow as tf

    images, values = _identifiable_images(48)
    dataset = call_learner("make_denoising_dataset failed", make_denoising_dataset, images, noise_fn, 16)
    require(isinstance(dataset, tf.data.Dataset),
            f"make_denoising_dataset should return a tf.data.Dataset, got {type(dataset).__name__}.")

    def epoch():
        pairs = []
        for element in dataset:
            require(
                isinstance(element, tuple) and len(element) == 2,
                "each element of the dataset must be a pair (noisy_batch, clean_batch), the "
                "(input, target) that model.fit expects.",
            )
            pairs.append(tuple(np.asarray(part) for part in element))
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
    inputs_again, targets_again, _ = epoch()
    first = inputs[np.argsort(targets[:, 0, 0, 0])]
    second = inputs_again[np.argsort(targets_again[:, 0, 0, 0])]
    # Order first: with a global seed set, unshuffled batches also repeat their noise.
    require(
        not np.array_equal(targets[:, 0, 0, 0], targets_again[:, 0, 0, 0]),
        "two epochs give the batches in the same order: shuffle the images (.shuffle(...)) before batching.",
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
    import keras

    require(isinstance(model, keras.Model), f"build_denoiser should return a keras.Model, got {type(model).__name__}.")
    batch = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
    try:
        out = np.asarray(model(batch))
    except Exception as error:
        raise CheckFailed(
            f"the model failed on a batch of shape (4, 28, 28, 1): {type(error).__name__}: {error}"
        ) from error
    require(
        out.shape == (4, 28, 28, 1),
        f"the model maps (4, 28, 28, 1) to {out.shape}; a denoiser returns an image of the input's "
        "shape. Check the strides and paddings (padding='same') so that 28 -> 14 -> 7 goes back "
        "to 7 -> 14 -> 28, and end with a 1-channel layer.",
    )
    extreme = np.asarray(model(batch * 200.0 - 100.0))
    require(
        extreme.min() >= 0.0 and extreme.max() <= 1.0,
        f"on large inputs the output spans [{extreme.min():.3g}, {extreme.max():.3g}], outside [0, 1]: "
        "the last layer needs activation='sigmoid', so the output is a valid pixel intensity.",
    )
    require(any(isinstance(layer, keras.layers.Conv2D) for layer in _all_layers(model)), "the model has no Conv2D layer: build a convolutional denoiser (Conv2D / Conv2DTranspose).")
    require(
        model.count_params() < 1_000_000,
        f"the model has {model.count_params():,} parameters; a few tens of thousands are enough "
        "for MNIST and train much faster on a CPU.",
    )
    passed(f"the denoiser maps (N, 28, 28, 1) to (N, 28, 28, 1) in [0, 1] with {model.count_params():,} parameters")
