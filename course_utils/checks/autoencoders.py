"""Checks for chapter 01: dense and convolutional autoencoders."""

import keras
import numpy as np

from course_utils.checks._learner import (final_activation, missing_activation_message, pixel_output_message,
                                          random_at_inference_message)
from course_utils.checks._verdict import (call_learner, learner_array, match_named_mistake, passed, require,
                                          scalar_result)

MNIST_SHAPE = (28, 28, 1)


def _ratio(compression_ratio, image_shape, latent_dim):
    """The learner's ratio for one case, as a float."""
    what = f"compression_ratio({image_shape}, {latent_dim})"
    return scalar_result(call_learner(f"{what} raised", compression_ratio, image_shape, latent_dim), what, hint="")


def check_compression_ratio(compression_ratio):
    """``compression_ratio(image_shape, latent_dim)``: numbers in the image per number in the code."""
    rounded = ("the fraction was dropped (integer division //, int() or round()): 784 / 32 is 24.5, "
               "not {:g}. Use / and keep the fraction.")
    value = _ratio(compression_ratio, (28, 28, 1), 32)
    match_named_mistake(value, 24.5, [
        (32 / 784, "you divided the code size by the image size; the ratio is image size / code size "
                   "(how many times smaller the code is), so it should be larger than 1."),
        (24.0, rounded.format(24)),
        (25.0, rounded.format(25)),
        (1 - 32 / 784, "that is the share of the size saved (1 - code / image); the ratio is image size / "
                       "code size, 24.5 here."),
        ((28 + 28 + 1) / 32, "you added the dimensions of image_shape (28 + 28 + 1): the number of values in "
                             "an image is their PRODUCT, e.g. np.prod(image_shape)."),
    ], "for a 28x28x1 image and a 32-number code the ratio is 24.5")
    colour = _ratio(compression_ratio, (32, 32, 3), 64)
    match_named_mistake(colour, 48.0, [
        (32 * 32 / 64, "a colour image has 3 numbers per pixel: multiply all of image_shape (height x width x "
                       "channels), e.g. with np.prod(image_shape)."),
        (784 / 64, "for a 32x32x3 image you give 784 / 64: the image size is fixed at 28 x 28 in your code. "
                   "Compute it from image_shape, e.g. np.prod(image_shape)."),
    ], "for a 32x32x3 image and a 64-number code the ratio is 48")
    passed(f"a 28x28 digit squeezed into 32 numbers is {value:g}x smaller")


def _build(build, latent_dim):
    """The learner's (autoencoder, encoder, decoder) for ``latent_dim``."""
    built = call_learner(f"building the models with latent_dim={latent_dim} raised", build, latent_dim)
    require(built is not None, "your function returned None: end it with `return autoencoder, encoder, decoder`.")
    require(isinstance(built, (tuple, list)) and len(built) == 3,
            "return three models: (autoencoder, encoder, decoder).")
    for model, name in zip(built, ("autoencoder", "encoder", "decoder")):
        require(isinstance(model, keras.Model),
                f"the {name} you return is a {type(model).__name__}, not a keras.Model: return the models "
                "(autoencoder, encoder, decoder), not layers or outputs.")
    return built


def _check_models(build, latent_dim, image_shape):
    """Shared checks for (autoencoder, encoder, decoder) triples: shapes, what the layers compute, sharing."""
    autoencoder, encoder, decoder = _build(build, latent_dim)
    rng = np.random.default_rng(0)
    x = rng.random((4, *image_shape), dtype=np.float32)
    code = learner_array(call_learner(
        f"the encoder (the second model you return) failed on a batch of images of shape {x.shape}; "
        "return the models in the order (autoencoder, encoder, decoder)", encoder, x), "the encoder")
    require(code.shape == (4, latent_dim),
            f"the encoder should map a batch of {len(x)} images to codes of shape (4, {latent_dim}); "
            f"got {code.shape}. Is the last encoder layer Dense(latent_dim) (after Flatten)?")
    code_activation = final_activation(encoder)
    require(code_activation in (None, "linear"),
            f"the encoder's last layer applies '{code_activation}': a code may be any number, so leave "
            "Dense(latent_dim) without activation. (A relu code is never negative, and a dimension stuck "
            "at 0 carries nothing; a sigmoid or tanh squeezes every code into a narrow range.)")

    # Codes far from 0 drive the last decoder layer into both tails of its activation.
    codes = np.concatenate([rng.normal(size=(8, latent_dim)), 30 * rng.normal(size=(8, latent_dim))]).astype(np.float32)
    decoded = learner_array(call_learner(
        f"the decoder (the third model you return) failed on codes of shape {codes.shape}", decoder, codes),
        "the decoder")
    require(decoded.shape == codes.shape[:1] + image_shape,
            f"the decoder should give back images of shape {codes.shape[:1] + image_shape}; got {decoded.shape}. "
            "End with a layer that has the image's shape (Reshape, or a Conv2D with 1 filter).")
    message = pixel_output_message(decoder, decoded, "the decoder")
    require(message is None, message)

    for model, name, inputs in ((encoder, "encoder", x), (decoder, "decoder", codes), (autoencoder, "autoencoder", x)):
        message = random_at_inference_message(model, inputs, f"the {name}")
        require(message is None, message)
        message = missing_activation_message(model, f"Give the hidden layers of the {name} activation='relu'.")
        require(message is None, message)
    reconstructed = learner_array(call_learner("the autoencoder failed on a batch of images", autoencoder, x),
                                  "the autoencoder")
    require(reconstructed.shape == x.shape and np.allclose(reconstructed, decoder(encoder(x)), atol=1e-5),
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
