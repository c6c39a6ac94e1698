"""Checks for chapter 05: a DCGAN on SVHN (Radford et al. 2016)."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.checks._doubles import ConstantImage, RecordingOptimizer
from course_utils.checks._verdict import CheckFailed, passed, require

IMAGE_SHAPE = (32, 32, 3)


def check_scale_images(scale_images):
    """``scale_images(x)``: images in [0, 1] -> [-1, 1], the range of the generator's tanh."""
    x = np.array([0.0, 0.25, 0.5, 1.0], dtype=np.float32).reshape(1, 2, 2, 1)
    y = scale_images(x)
    require(y is not None, "scale_images returned None: did you forget `return`?")
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    require(y.shape == (4,), f"scale_images must keep the shape of its input; got {np.shape(y)}.")
    require(not np.allclose(y, [0.0, 0.5, 1.0, 2.0]),
            "you doubled the pixels but did not subtract 1: [0, 1] * 2 is [0, 2], not [-1, 1].")
    require(not np.allclose(y, [-0.5, -0.25, 0.0, 0.5]),
            "x - 0.5 gives [-0.5, 0.5]; the generator's tanh spans [-1, 1], so use 2 * x - 1.")
    require(not np.allclose(y, np.array([0.0, 0.25, 0.5, 1.0]) / 127.5 - 1, atol=1e-4),
            "these images are already in [0, 1] (the loader scaled them): do not divide by 255 "
            "or 127.5 again; use 2 * x - 1.")
    require(np.allclose(y, [-1.0, -0.5, 0.0, 1.0], atol=1e-6),
            f"expected 0 -> -1, 0.5 -> 0 and 1 -> 1; got {np.round(y, 3).tolist()} for "
            "[0, 0.25, 0.5, 1].")
    passed("images scaled from [0, 1] to [-1, 1], the range of tanh")


def _layers(model):
    """All layers of a model in order, nested models flattened."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "") if activation is not None else ""


def _output_dtype_under_mixed_precision(build, input_shape):
    """The dtype of a model's output when it is built under mixed precision (worked out, not run)."""
    with global_policy("mixed_bfloat16"):
        model = build()
    return model(keras.Input(input_shape)).dtype


def _require_float32_output(dtype, what, example):
    require(dtype == "float32",
            f"under mixed precision the {what} comes out in {dtype}: give the last layer dtype=\"float32\" "
            f"(e.g. {example}). accelerator.setup(mixed_precision=True) computes in 16 bits where that "
            "is faster; the output layer stays in float32 so that the loss, the metrics and the plots get "
            "full-precision numbers.")


@global_policy("float32")  # the shape and range checks below compute in float32 on every machine
def check_generator(build_generator, latent_dim=16):
    """``build_generator(latent_dim)``: noise (N, latent_dim) -> images (N, 32, 32, 3) in [-1, 1]."""
    generator = build_generator(latent_dim)
    require(isinstance(generator, keras.Model), "build_generator should return a keras Model.")
    z = np.random.default_rng(0).normal(size=(8, latent_dim)).astype(np.float32)
    images = np.asarray(generator(z, training=False))
    if images.shape[1:3] != IMAGE_SHAPE[:2]:
        hint = ""
        if images.ndim == 4 and images.shape[1] in (10, 22, 46, 11, 23):
            hint = (" Your sizes grow like 2*size + 2: that is padding='valid'. With "
                    "padding='same', a Conv2DTranspose with strides=2 exactly doubles height and width.")
        require(False, f"the generator should make 32x32 images; got shape {images.shape}. Start from "
                f"a 4x4 feature map and double it three times (4 -> 8 -> 16 -> 32) with "
                f"Conv2DTranspose(..., strides=2, padding='same').{hint}")
    require(images.shape == (8, *IMAGE_SHAPE),
            f"the generator should return (8, 32, 32, 3) for 8 noise vectors; got {images.shape}. "
            "The last Conv2DTranspose needs 3 filters, one per colour channel.")
    layers = _layers(generator)
    kinds = [type(layer).__name__ for layer in layers]
    require("Conv2DTranspose" in kinds,
            "use Conv2DTranspose (fractionally strided convolution) to grow the image: DCGAN's "
            "generator learns its own upsampling.")
    require("BatchNormalization" in kinds,
            "DCGAN puts BatchNormalization after the generator's hidden layers: it keeps each "
            "layer's inputs well scaled and helps the generator get started.")
    last_weighted = [layer for layer in layers if layer.weights][-1]
    require(not isinstance(last_weighted, keras.layers.BatchNormalization),
            "the generator's output layer is followed by BatchNormalization: leave it out there "
            "(Radford et al. 2016 found BN on the generator output made samples oscillate).")
    # Large noise drives the output layer into saturation and shows its activation.
    loud = np.asarray(generator(20.0 * z, training=False))
    require(loud.max() <= 1.0 + 1e-5 and loud.min() >= -1.0 - 1e-5,
            f"the generator's output reaches [{loud.min():.3g}, {loud.max():.3g}]: end it with a "
            "tanh activation, so that images lie in [-1, 1] like the scaled training data.")
    require(loud.min() < -0.05,
            "the generator's output is never negative: a sigmoid (or ReLU) output gives [0, 1], "
            "but the training images are scaled to [-1, 1]. End with activation='tanh'.")
    dtype = _output_dtype_under_mixed_precision(lambda: build_generator(latent_dim), (latent_dim,))
    _require_float32_output(dtype, "generator's image", 'Conv2DTranspose(3, ..., activation="tanh", dtype="float32")')
    passed(f"generator maps {latent_dim}-d noise to 32x32x3 images in [-1, 1] with transposed "
           "convolutions and batch norm")


@global_policy("float32")  # the shape checks below compute in float32 on every machine
def check_discriminator(build_discriminator):
    """``build_discriminator()``: images (N, 32, 32, 3) -> one logit per image, shape (N, 1)."""
    discriminator = build_discriminator()
    require(isinstance(discriminator, keras.Model), "build_discriminator should return a keras Model.")
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, *IMAGE_SHAPE)).astype(np.float32)
    logits = np.asarray(discriminator(x, training=False))
    require(logits.shape == (8, 1),
            f"the discriminator should give one number per image, shape (8, 1); got {logits.shape}. "
            "End with Flatten() and Dense(1).")
    layers = _layers(discriminator)
    kinds = [type(layer).__name__ for layer in layers]
    last = layers[-1]
    require(_activation_name(last) != "sigmoid",
            "the discriminator ends with a sigmoid: return the raw logit (no activation) and train "
            "with BinaryCrossentropy(from_logits=True), which is numerically safer.")
    convs = [i for i, kind in enumerate(kinds) if kind == "Conv2D"]
    require(convs, "the discriminator needs Conv2D layers (strided, to shrink 32 -> 16 -> 8 -> 4).")
    second_conv = convs[1] if len(convs) > 1 else len(kinds)
    require("BatchNormalization" not in kinds[:second_conv],
            "batch norm on the discriminator's first layer (or its input): DCGAN leaves it out "
            "there. It would normalise away the statistics of real vs generated images that the "
            "discriminator must see, and Radford et al. (2016) found it made training unstable.")
    require("BatchNormalization" in kinds,
            "DCGAN uses BatchNormalization in the discriminator's later conv layers (not the first).")
    require(not any(kind.startswith(("MaxPooling", "AveragePooling")) for kind in kinds),
            "DCGAN replaces pooling by strided convolutions (strides=2): the network learns how "
            "to downsample.")
    relu = [layer.name for layer in layers
            if isinstance(layer, keras.layers.ReLU) or _activation_name(layer) == "relu"]
    require(not relu,
            f"plain ReLU in the discriminator ({', '.join(relu)}): use LeakyReLU(0.2). A ReLU "
            "passes no gradient for negative inputs, and the generator learns only through the "
            "discriminator's gradients.")
    require("LeakyReLU" in kinds or any(_activation_name(layer) == "leaky_relu" for layer in layers),
            "use LeakyReLU(0.2) after the discriminator's convolutions.")
    dtype = _output_dtype_under_mixed_precision(build_discriminator, IMAGE_SHAPE)
    _require_float32_output(dtype, "discriminator's logit", 'Dense(1, kernel_initializer=INIT, dtype="float32")')
    passed("discriminator: strided convs, LeakyReLU, no BN on the first layer, one logit per image")


# --- train_step --------------------------------------------------------------------------------


def _tiny_gan(gan_class, latent_dim=4, shape=(4, 4, 1), n=6):
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, size=shape).astype(np.float32)
    generator = keras.Sequential([keras.Input((latent_dim,)), ConstantImage(image)], name="generator")
    discriminator = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)],
                                     name="discriminator")
    kernel = rng.normal(scale=0.5, size=(int(np.prod(shape)), 1)).astype(np.float32)
    # Bias chosen so that D(fake) = 1.0: the variants of the generator's loss then differ.
    bias = np.array([1.0 - float(image.reshape(-1) @ kernel[:, 0])], dtype=np.float32)
    discriminator.layers[-1].set_weights([kernel, bias])
    real = rng.uniform(-1, 1, size=(n, *shape)).astype(np.float32)
    gan = gan_class(generator, discriminator, latent_dim)
    return gan, generator, discriminator, real, image


def _flat(grads):
    return np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in grads])


def _expected_gradients(generator, discriminator, real, fake_image):
    """Gradients of the candidate losses (right ones and typical mistakes)."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    fake = tf.repeat(tf.constant(fake_image)[None], len(real), axis=0)
    with tf.GradientTape(persistent=True) as tape:
        real_logits = discriminator(real, training=True)
        fake_logits = discriminator(generator(tf.zeros((len(real), 4)), training=True), training=True)
        ones, zeros = tf.ones_like(real_logits), tf.zeros_like(real_logits)
        d_losses = {
            "right": bce(ones, real_logits) + bce(zeros, fake_logits),
            "smoothed": bce(0.9 * ones, real_logits) + bce(zeros, fake_logits),
            "swapped": bce(zeros, real_logits) + bce(ones, fake_logits),
            "plus_g": bce(ones, real_logits) + bce(zeros, fake_logits) + bce(ones, fake_logits),
            "real_only": bce(ones, real_logits),
            "fake_only": bce(zeros, fake_logits),
        }
    d_vars = discriminator.trainable_variables
    d_grads = {name: _flat(tape.gradient(loss, d_vars)) for name, loss in d_losses.items()}
    del tape, fake
    # The generator's gradient is (dLoss/dlogit) * dlogit/dimage; only the first factor differs.
    sigma = float(tf.sigmoid(fake_logits[0, 0]))
    g_factors = {"right": sigma - 1.0, "label0": sigma, "plus_d": 2.0 * sigma - 1.0, "saturating": -sigma}
    return d_grads, g_factors


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


@global_policy("float32")  # the test doubles compare gradients: no 16-bit arithmetic here
def check_train_step(gan_class):
    """``gan_class(generator, discriminator, latent_dim)`` with ``compile(d_optimizer, g_optimizer)``
    and a ``train_step(real_images)`` that takes one discriminator step and one generator step."""
    gan, generator, discriminator, real, fake_image = _tiny_gan(gan_class)
    d_opt, g_opt = RecordingOptimizer(), RecordingOptimizer()
    gan.compile(d_optimizer=d_opt, g_optimizer=g_opt)
    try:
        logs = gan.train_step(tf.constant(real))
    except RuntimeError as error:
        if "non-persistent" in str(error) or "once" in str(error):
            raise CheckFailed(
                "a GradientTape was asked for gradients twice: use one tape per network (one for "
                "the discriminator's loss, one for the generator's), each around its own forward "
                "pass.") from None
        raise
    require(isinstance(logs, dict) and {"d_loss", "g_loss"} <= set(logs),
            "train_step should return a dict with 'd_loss' and 'g_loss' (what fit prints).")

    d_got = _recorded_named(d_opt, "d", "discriminator", discriminator, "generator", generator)
    g_got = _recorded_named(g_opt, "g", "generator", generator, "discriminator", discriminator)
    d_want, g_factors = _expected_gradients(generator, discriminator, real, fake_image)

    d_match = {name: _cosine(d_got, grad) for name, grad in d_want.items()}
    best = max(d_match, key=d_match.get)
    d_messages = {
        "swapped": "the discriminator's labels are swapped: real images get label 1, fakes label 0.",
        "plus_g": "the discriminator also receives the gradient of the generator's loss (both "
                  "losses summed or taken from one tape): give each network its own loss and tape.",
        "real_only": "the discriminator's loss has only the real-image term: add the loss on the "
                     "fakes (label 0).",
        "fake_only": "the discriminator's loss has only the fake-image term: add the loss on the "
                     "real images (label 1).",
    }
    require(d_match[best] > 0.99,
            "the discriminator's gradient matches none of the losses we know. Expected "
            "bce(1, D(real)) + bce(0, D(G(z))) with BinaryCrossentropy(from_logits=True).")
    require(best not in d_messages, d_messages.get(best, ""))

    # Every fake is the same image, so the generator's gradient is one direction times a factor.
    direction = _generator_direction(generator, discriminator)
    require(abs(_cosine(g_got, direction)) > 0.99,
            "the generator's gradient does not come from the discriminator's verdict on its "
            "fakes: its loss should be bce(1, D(G(z))).")
    factor = float(g_got @ direction / (direction @ direction))
    ratios = {name: factor / value for name, value in g_factors.items()}
    # A variant matches when the factors agree up to the loss's reduction (mean or sum, halved).
    matches = {name for name, ratio in ratios.items()
               if any(np.isclose(ratio, k, rtol=2e-2) for k in (0.5, 1.0, 2.0, len(real)))}
    require("right" in matches, _generator_message(matches))
    passed("train_step: discriminator learns real=1/fake=0, generator learns to make D say 1, "
           "each with its own tape and optimizer")


def _recorded_named(optimizer, short, who, network, other, other_network):
    require(optimizer.calls, f"{short}_optimizer was never used: apply the {who}'s gradients with "
            f"self.{short}_optimizer.apply_gradients(zip(grads, self.{who}.trainable_variables)).")
    require(len(optimizer.calls) == 1,
            f"{short}_optimizer was applied {len(optimizer.calls)} times in one train_step; apply it once.")
    pairs = optimizer.calls[0]
    other_ids = {id(v) for v in other_network.trainable_variables}
    require(not any(id(v) in other_ids for _, v in pairs),
            f"{short}_optimizer received the {other}'s variables: each optimizer updates only its "
            f"own network (self.{who}.trainable_variables).")
    require({id(v) for _, v in pairs} == {id(v) for v in network.trainable_variables},
            f"{short}_optimizer should update exactly self.{who}.trainable_variables.")
    require(all(g is not None for g, _ in pairs),
            f"some of the {who}'s gradients are None: compute its loss inside the GradientTape "
            "(the forward pass must run while the tape records).")
    by_id = {id(v): g for g, v in pairs}
    return _flat([by_id[id(v)] for v in network.trainable_variables])


def _generator_direction(generator, discriminator):
    with tf.GradientTape() as tape:
        logit = discriminator(generator(tf.zeros((1, 4)), training=True), training=True)[0, 0]
    return _flat(tape.gradient(logit, generator.trainable_variables))


def _generator_message(matches):
    if "label0" in matches:
        return ("the generator is trained to make its fakes look fake: its loss uses label 0, or "
                "it receives the gradient of the discriminator's loss. The generator's loss is "
                "bce(1, D(G(z))): it wants the discriminator to say 'real'.")
    if "plus_d" in matches:
        return ("the generator also receives the gradient of the discriminator's loss (losses "
                "summed or one tape for both): give it only bce(1, D(G(z))).")
    if "saturating" in matches:
        return ("the generator minimises log(1 - D(G(z))) (the 'saturating' loss); it learns "
                "almost nothing while D rejects its fakes. Use bce(1, D(G(z))) instead "
                "(Goodfellow et al. 2014).")
    return "the generator's gradient has an unexpected size or sign: its loss should be bce(1, D(G(z)))."
