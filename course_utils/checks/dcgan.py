"""Checks for chapter 05: a DCGAN on SVHN (Radford et al. 2016).

The checks build the learner's models under a float32 policy: mixed precision is the notebook's speed
setting, not part of the lesson, so an output layer needs no ``dtype="float32"`` to pass.
"""

import keras
import numpy as np
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.checks._doubles import ConstantImage, RecordingOptimizer
from course_utils.checks._learner import (NoiseSpy, TrainingSpy, call_training_step, final_activation,
                                          missing_activation_message, output_activation_message,
                                          random_at_inference_message, require_fresh_noise_when_compiled,
                                          require_noise_per_image)
from course_utils.checks._numeric import cosine, flat
from course_utils.checks._verdict import call_learner, learner_array, passed, require

IMAGE_SHAPE = (32, 32, 3)


def check_scale_images(scale_images):
    """``scale_images(x)``: images in [0, 1] -> [-1, 1], the range of the generator's tanh."""
    # Two images whose pixels stay inside (0, 1), so that rescaling by the batch's min and max shows.
    x = np.array([0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 0.9], dtype=np.float32).reshape(2, 2, 2, 1)
    y = learner_array(call_learner("scale_images(x) raised", scale_images, x.copy()), "scale_images", shape=x.shape,
                      hint="Keep the shape of the input: scale every pixel.")
    mistakes = {
        "you doubled the pixels but did not subtract 1: [0, 1] * 2 is [0, 2], not [-1, 1].": 2 * x,
        "x - 0.5 gives [-0.5, 0.5]; the generator's tanh spans [-1, 1], so use 2 * x - 1.": x - 0.5,
        "these images are already in [0, 1] (the loader scaled them): do not divide by 255 or 127.5 "
        "again; use 2 * x - 1.": x / 127.5 - 1,
        "these images are already in [0, 1] (the loader scaled them): dividing by 255 again makes them "
        "almost black. Use 2 * x - 1.": x / 255,
        "the scale is inverted (1 - 2 * x): white would become -1 and black +1. Use 2 * x - 1.": 1 - 2 * x,
        "you rescaled by the batch's min and max: then the same pixel value maps to different numbers in "
        "different batches (a dark batch gets brightened). Use the fixed map 2 * x - 1.":
            2 * (x - x.min()) / (x.max() - x.min()) - 1,
        "you standardised the images (mean 0, standard deviation 1): that does not map them to the "
        "range [-1, 1] of the generator's tanh. Use 2 * x - 1.": (x - x.mean()) / x.std(),
    }
    for message, wrong in mistakes.items():
        require(not np.allclose(y, wrong, atol=1e-4), message)
    require(np.allclose(y, 2 * x - 1, atol=1e-6),
            f"expected 2 * x - 1 (0 -> -1, 0.5 -> 0, 1 -> 1); for {x.reshape(-1).tolist()} got "
            f"{np.round(y.reshape(-1), 3).tolist()}.")
    passed("images scaled from [0, 1] to [-1, 1], the range of tanh")


def _layers(model):
    """All layers of a model in order, nested models flattened."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]


def _activation_name(layer):
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    return getattr(getattr(layer, "activation", None), "__name__", "")


def _declared_input_shape(model):
    """The input shape ``model`` was built for (without the batch axis), or None if it does not say."""
    try:
        return tuple(model.inputs[0].shape[1:])
    except Exception:  # a subclassed model, or one not built yet: it does not say
        return None


def _built_model(build, what, *args):
    """The learner's ``build(*args)``, required to be a Keras model."""
    model = call_learner(f"{what}({', '.join(map(str, args))}) raised", build, *args)
    require(isinstance(model, keras.Model),
            f"{what} should return a keras Model; got {type(model).__name__}"
            + (": did you forget `return`?" if model is None else "."))
    return model


@global_policy("float32")  # the learner's model is built and run in float32 on every machine
def check_generator(build_generator, latent_dim=16):
    """``build_generator(latent_dim)``: noise (N, latent_dim) -> images (N, 32, 32, 3) in [-1, 1]."""
    generator = _built_model(build_generator, "build_generator", latent_dim)
    declared = _declared_input_shape(generator)
    require(declared in (None, (latent_dim,)),
            f"build_generator({latent_dim}) built a generator for noise of shape {declared}: use the "
            "latent_dim argument in keras.Input((latent_dim,)), not a fixed number.")
    z = np.random.default_rng(0).normal(size=(8, latent_dim)).astype(np.float32)
    images = learner_array(call_learner(f"calling your generator on noise of shape {z.shape} raised",
                                        generator, z, training=False), "your generator")
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
    random = random_at_inference_message(generator, z, "your generator")
    require(random is None, random)
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
    missing = missing_activation_message(generator, "Put a ReLU after each hidden layer (after its batch norm).")
    require(missing is None, missing)
    # The last activation is read from the model where it can be (whatever the starting weights); large
    # noise drives the output layer into saturation and shows an activation the model does not reveal.
    output = final_activation(generator)
    never_negative = (f"the generator's output is never negative (its last activation: {output or 'unknown'}): "
                      "a sigmoid, softmax or ReLU output lies in [0, 1] or above, but the training images are "
                      "scaled to [-1, 1]. End with activation='tanh'.")
    require(output not in ("sigmoid", "softmax", "relu"), never_negative)
    unbounded = output_activation_message(generator, "tanh", "the generator", "its values are not held in "
                                          "[-1, 1], the range the training images are scaled to.")
    require(unbounded is None, unbounded)
    loud = learner_array(call_learner("calling your generator on large noise raised", generator, 20.0 * z,
                                      training=False), "your generator")
    require(loud.min() < -0.05, never_negative)
    require(loud.max() <= 1.0 + 1e-5 and loud.min() >= -1.0 - 1e-5,
            f"the generator's output reaches [{loud.min():.3g}, {loud.max():.3g}]: end it with a "
            "tanh activation, so that images lie in [-1, 1] like the scaled training data.")
    passed(f"generator maps {latent_dim}-d noise to 32x32x3 images in [-1, 1] with transposed "
           "convolutions and batch norm")


_LOGIT_ADVICE = ("Return the raw logit (no activation on the last layer): BinaryCrossentropy(from_logits=True) "
                 "applies the sigmoid itself, in a numerically safer way.")
_OUTPUT_ACTIVATION = {
    "sigmoid": "the discriminator ends with a sigmoid: return the raw logit (no activation) and train "
               "with BinaryCrossentropy(from_logits=True), which is numerically safer.",
    "relu": "the discriminator ends with a ReLU: its output can never be negative, so it can never say "
            "'fake' with confidence, and passes no gradient below 0. " + _LOGIT_ADVICE,
    "tanh": "the discriminator ends with tanh: a logit in [-1, 1] means it can never be more than 73% sure. "
            + _LOGIT_ADVICE,
    "softmax": "the discriminator ends with a softmax: over a single unit it is always 1, whatever the "
               "image. " + _LOGIT_ADVICE,
}


def _is_raw_logit(discriminator, last_weighted, x):
    """Whether the output is a linear function of the last weighted layer's kernel, as a raw logit is:
    with the bias at 0, negating the kernel negates the output and scaling it by 1000 scales the output."""
    weights = last_weighted.get_weights()
    kernel, rest = weights[0], [np.zeros_like(w) for w in weights[1:]]
    outputs = []
    for factor in (1.0, -1.0, 1000.0):
        last_weighted.set_weights([factor * kernel, *rest])
        outputs.append(np.asarray(discriminator(x, training=False), dtype=np.float64))
    base, negated, scaled = outputs
    scale = np.abs(base).max()
    return scale == 0 or (np.allclose(negated, -base, atol=1e-3 * scale)
                          and np.allclose(scaled, 1000 * base, rtol=1e-2, atol=1e-3 * scale))


@global_policy("float32")  # the learner's model is built and run in float32 on every machine
def check_discriminator(build_discriminator):
    """``build_discriminator()``: images (N, 32, 32, 3) -> one logit per image, shape (N, 1)."""
    discriminator = _built_model(build_discriminator, "build_discriminator")
    declared = _declared_input_shape(discriminator)
    require(declared in (None, IMAGE_SHAPE),
            f"your discriminator is built for inputs of shape {declared}; SVHN images are {IMAGE_SHAPE}: "
            f"start with keras.Input({IMAGE_SHAPE}).")
    x = np.random.default_rng(0).uniform(-1, 1, size=(8, *IMAGE_SHAPE)).astype(np.float32)
    logits = learner_array(call_learner("calling your discriminator on images of shape (8, 32, 32, 3) raised",
                                        discriminator, x, training=False), "your discriminator")
    require(logits.shape == (8, 1),
            f"the discriminator should give one number per image, shape (8, 1); got {logits.shape}. "
            "End with Flatten() and Dense(1).")
    random = random_at_inference_message(discriminator, x, "your discriminator")
    require(random is None, random)
    layers = _layers(discriminator)
    kinds = [type(layer).__name__ for layer in layers]
    output = final_activation(discriminator)
    require(output in (None, "linear"), _OUTPUT_ACTIVATION.get(
        output, f"the discriminator's output goes through {output}. " + _LOGIT_ADVICE))
    weighted = [layer for layer in layers if getattr(layer, "kernel", None) is not None]
    require(not weighted or _is_raw_logit(discriminator, weighted[-1], x),
            "the discriminator's output is not a raw logit: scaling the weights of its last layer does not "
            "scale its output in proportion, so something bends it after that layer (an activation, a "
            "Lambda). " + _LOGIT_ADVICE)
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
    relu = [layer.name for layer in layers if _activation_name(layer) == "relu"]
    require(not relu,
            f"plain ReLU in the discriminator ({', '.join(relu)}): use LeakyReLU(0.2). A ReLU "
            "passes no gradient for negative inputs, and the generator learns only through the "
            "discriminator's gradients.")
    require(any(_activation_name(layer) == "leaky_relu" for layer in layers),
            "use LeakyReLU(0.2) after the discriminator's convolutions.")
    missing = missing_activation_message(
        discriminator, "Put LeakyReLU(0.2) after each convolution (after its batch norm where it has one).")
    require(missing is None, missing)
    passed("discriminator: strided convs, LeakyReLU, no BN on the first layer, one logit per image")


# --- train_step --------------------------------------------------------------------------------


_LATENT_DIM = 8


def _tiny_gan(gan_class, latent_dim=_LATENT_DIM, shape=(4, 4, 1), n=64):
    """The learner's GAN around a generator that draws one learnable image whatever its noise and a linear
    discriminator, with spies on the noise and the training flags; ``n`` real images (enough to judge
    the noise's spread)."""
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, size=shape).astype(np.float32)
    spies = {"noise": NoiseSpy(name="noise_spy"), "g": TrainingSpy(name="g_spy"), "d": TrainingSpy(name="d_spy")}
    generator = keras.Sequential([keras.Input((latent_dim,)), spies["noise"], ConstantImage(image), spies["g"]],
                                 name="generator")
    discriminator = keras.Sequential([keras.Input(shape), spies["d"], keras.layers.Flatten(), keras.layers.Dense(1)],
                                     name="discriminator")
    kernel = rng.normal(scale=0.5, size=(int(np.prod(shape)), 1)).astype(np.float32)
    # Bias chosen so that D(fake) = 1.0: the variants of the generator's loss then differ.
    bias = np.array([1.0 - float(image.reshape(-1) @ kernel[:, 0])], dtype=np.float32)
    discriminator.layers[-1].set_weights([kernel, bias])
    real = rng.uniform(-1, 1, size=(n, *shape)).astype(np.float32)
    gan = call_learner(f"{gan_class.__name__}(generator, discriminator, latent_dim) raised",
                       gan_class, generator, discriminator, latent_dim)
    spies["g"].flags.clear()  # forget the calls Keras made while building the models
    spies["d"].flags.clear()
    return gan, generator, discriminator, real, spies


def _expected_gradients(generator, discriminator, real):
    """Gradients of the candidate losses (right ones and typical mistakes)."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    probabilities = keras.losses.BinaryCrossentropy(from_logits=False)
    with tf.GradientTape(persistent=True) as tape:
        real_logits = discriminator(real, training=True)
        fake_logits = discriminator(generator(tf.zeros((len(real), _LATENT_DIM)), training=True), training=True)
        ones, zeros = tf.ones_like(real_logits), tf.zeros_like(real_logits)
        d_losses = {
            "right": bce(ones, real_logits) + bce(zeros, fake_logits),
            "smoothed": bce(0.9 * ones, real_logits) + bce(zeros, fake_logits),
            "swapped": bce(zeros, real_logits) + bce(ones, fake_logits),
            "plus_g": bce(ones, real_logits) + bce(zeros, fake_logits) + bce(ones, fake_logits),
            "real_only": bce(ones, real_logits),
            "fake_only": bce(zeros, fake_logits),
            "sigmoid": bce(ones, tf.sigmoid(real_logits)) + bce(zeros, tf.sigmoid(fake_logits)),
            "probabilities": probabilities(ones, real_logits) + probabilities(zeros, fake_logits),
        }
    d_vars = discriminator.trainable_variables
    d_grads = {name: flat(tape.gradient(loss, d_vars)) for name, loss in d_losses.items()}
    del tape
    # The generator's gradient is (dLoss/dlogit) * dlogit/dimage; only the first factor differs.
    sigma = float(tf.sigmoid(fake_logits[0, 0]))
    g_factors = {"right": sigma - 1.0, "label0": sigma, "plus_d": 2.0 * sigma - 1.0, "saturating": -sigma}
    return d_grads, g_factors


@global_policy("float32")  # the test doubles compare gradients: no 16-bit arithmetic here
def check_train_step(gan_class):
    """``gan_class(generator, discriminator, latent_dim)`` with ``compile(d_optimizer, g_optimizer)``
    and a ``train_step(real_images)`` that takes one discriminator step and one generator step."""
    gan, generator, discriminator, real, spies = _tiny_gan(gan_class)
    d_opt, g_opt = RecordingOptimizer(), RecordingOptimizer()
    call_learner("compile(d_optimizer, g_optimizer) raised", gan.compile, d_optimizer=d_opt, g_optimizer=g_opt)
    logs = call_training_step("train_step(real_images) raised", gan.train_step, tf.constant(real))
    require(isinstance(logs, dict) and {"d_loss", "g_loss"} <= set(logs),
            "train_step should return a dict with 'd_loss' and 'g_loss' (what fit prints).")
    for who in ("generator", "discriminator"):
        require(spies[who[0]].flags and all(flag is True for flag in spies[who[0]].flags),
                f"the {who} is called without training=True in train_step. fit does not switch the "
                f"networks to training mode for you: without training=True, batch norm normalises with its "
                f"running averages instead of the batch's statistics. Write self.{who}(..., training=True).")
    require_noise_per_image(spies["noise"].seen.numpy(), len(real), _LATENT_DIM)

    d_got = _recorded_named(d_opt, "d", "discriminator", discriminator, "generator", generator)
    g_got = _recorded_named(g_opt, "g", "generator", generator, "discriminator", discriminator)
    d_want, g_factors = _expected_gradients(generator, discriminator, real)

    d_match = {name: cosine(d_got, grad) for name, grad in d_want.items()}
    best = max(d_match, key=d_match.get)
    d_messages = {
        "swapped": "the discriminator's labels are swapped: real images get label 1, fakes label 0.",
        "plus_g": "the discriminator also receives the gradient of the generator's loss (both "
                  "losses summed or taken from one tape): give each network its own loss and tape.",
        "real_only": "the discriminator's loss has only the real-image term: add the loss on the "
                     "fakes (label 0).",
        "fake_only": "the discriminator's loss has only the fake-image term: add the loss on the "
                     "real images (label 1).",
        "sigmoid": "the logits went through a sigmoid before the loss: BinaryCrossentropy(from_logits=True) "
                   "applies the sigmoid itself, so pass it the raw logits.",
        "probabilities": "the loss treats the discriminator's logits as probabilities: use "
                         "BinaryCrossentropy(from_logits=True) (as self.loss_fn does).",
    }
    require(d_match[best] > 0.99,
            "the discriminator's gradient matches none of the losses we know. Expected "
            "bce(1, D(real)) + bce(0, D(G(z))) with BinaryCrossentropy(from_logits=True).")
    require(best not in d_messages, d_messages.get(best, ""))

    # Every fake is the same image, so the generator's gradient is one direction times a factor.
    direction = _generator_direction(generator, discriminator)
    require(abs(cosine(g_got, direction)) > 0.99,
            "the generator's gradient does not come from the discriminator's verdict on its "
            "fakes: its loss should be bce(1, D(G(z))).")
    factor = float(g_got @ direction / (direction @ direction))
    ratios = {name: factor / value for name, value in g_factors.items()}
    # A variant matches when the factors agree up to the loss's reduction (mean or sum, halved).
    matches = {name for name, ratio in ratios.items()
               if any(np.isclose(ratio, k, rtol=2e-2) for k in (0.5, 1.0, 2.0, len(real)))}
    require("right" in matches, _generator_message(matches))
    call_learner("compile(d_optimizer, g_optimizer) raised", gan.compile,
                 d_optimizer=RecordingOptimizer(), g_optimizer=RecordingOptimizer())
    require_fresh_noise_when_compiled(gan.train_step, tf.constant(real), spies["noise"])
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
    return flat([by_id[id(v)] for v in network.trainable_variables])


def _generator_direction(generator, discriminator):
    with tf.GradientTape() as tape:
        logit = discriminator(generator(tf.zeros((1, _LATENT_DIM)), training=True), training=True)[0, 0]
    return flat(tape.gradient(logit, generator.trainable_variables))


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
