"""Checks for chapter 01: dense and convolutional autoencoders."""

import numpy as np

from course_utils.checks._verdict import passed, require

MNIST_SHAPE = (28, 28, 1)


def check_compression_ratio(compression_ratio):
    """``compression_ratio(image_shape, latent_dim)``: numbers in the image per number in the code."""
    value = compression_ratio((28, 28, 1), 32)
    require(value is not None, "compression_ratio returned None: did you forget `return`?")
    require(not np.isclose(value, 32 / 784),
            "you divided the code size by the image size; the ratio is image size / code size "
            "(how many times smaller the code is), so it should be larger than 1.")
    require(value != 784 // 32,
            "integer division (//) drops the fraction: 784 // 32 is 24 but the ratio is 24.5. Use /.")
    require(np.isclose(value, 24.5), f"for a 28x28x1 image and a 32-number code expected 24.5, got {value}.")
    colour = compression_ratio((32, 32, 3), 64)
    require(not np.isclose(colour, 32 * 32 / 64),
            "a colour image has 3 numbers per pixel: multiply all of image_shape (height x width x "
            "channels), e.g. with np.prod(image_shape).")
    require(np.isclose(colour, 48.0), f"for a 32x32x3 image and a 64-number code expected 48, got {colour}.")
    passed(f"a 28x28 digit squeezed into 32 numbers is {value:g}x smaller")


def _check_models(build, latent_dim, image_shape):
    """Shared structural checks for (autoencoder, encoder, decoder) triples."""
    built = build(latent_dim)
    require(isinstance(built, (tuple, list)) and len(built) == 3,
            "return three models: (autoencoder, encoder, decoder).")
    autoencoder, encoder, decoder = built
    x = np.random.default_rng(0).random((4, *image_shape), dtype=np.float32)
    code = np.asarray(encoder(x))
    require(code.shape == (4, latent_dim),
            f"the encoder should map a batch of {len(x)} images to codes of shape (4, {latent_dim}); "
            f"got {code.shape}. Is the last encoder layer Dense(latent_dim) (after Flatten)?")
    decoded = np.asarray(decoder(code))
    require(decoded.shape == x.shape,
            f"the decoder should give back images of shape {x.shape}; got {decoded.shape}. "
            "End with a layer that has the image's shape (Reshape, or a Conv2D with 1 filter).")
    require(decoded.min() >= 0.0 and decoded.max() <= 1.0,
            "decoded pixels leave [0, 1]: pixel values are in [0, 1], so end the decoder with a "
            "sigmoid activation (and train with binary cross-entropy).")
    reconstructed = np.asarray(autoencoder(x))
    require(np.allclose(reconstructed, decoded, atol=1e-5),
            "autoencoder(x) differs from decoder(encoder(x)): build the autoencoder by calling the "
            "decoder on the encoder's output, so the three models share their layers.")
    weights = {id(w) for w in autoencoder.weights}
    require(all(id(w) in weights for w in encoder.weights + decoder.weights),
            "the encoder and decoder must share weights with the autoencoder (build it from them), "
            "otherwise training the autoencoder does not train them.")
    return autoencoder, encoder


def check_dense_autoencoder(build_dense_autoencoder):
    """``build_dense_autoencoder(latent_dim) -> (autoencoder, encoder, decoder)`` of Dense layers."""
    autoencoder, _ = _check_models(build_dense_autoencoder, 8, MNIST_SHAPE)
    _check_models(build_dense_autoencoder, 3, MNIST_SHAPE)
    kinds = {type(layer).__name__ for layer in autoencoder._flatten_layers()}
    require("Dense" in kinds, "this autoencoder should be made of Dense layers.")
    passed("dense autoencoder: shapes, [0, 1] output and shared weights are right")


def check_conv_autoencoder(build_conv_autoencoder):
    """``build_conv_autoencoder(latent_dim) -> (autoencoder, encoder, decoder)`` with convolutions."""
    autoencoder, encoder = _check_models(build_conv_autoencoder, 16, MNIST_SHAPE)
    encoder_kinds = {type(layer).__name__ for layer in encoder._flatten_layers()}
    require("Conv2D" in encoder_kinds,
            "the encoder has no Conv2D layer: use strided convolutions to shrink 28x28 to 7x7.")
    kinds = {type(layer).__name__ for layer in autoencoder._flatten_layers()}
    require(kinds & {"Conv2DTranspose", "UpSampling2D"},
            "the decoder needs Conv2DTranspose (or UpSampling2D + Conv2D) to grow 7x7 back to 28x28.")
    passed("convolutional autoencoder: shapes, [0, 1] output and shared weights are right")
