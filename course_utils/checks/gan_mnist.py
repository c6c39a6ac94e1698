"""Checks for chapter 04: a fully connected GAN on MNIST (Goodfellow et al. 2014).

Each check runs the learner's code on tiny inputs, compares it with the right answer *and* with
the typical wrong answers, and names the mistake it recognises.
"""

import keras
import numpy as np
import tensorflow as tf

from course_utils.accelerator import global_policy
from course_utils.checks._doubles import ConstantImage, RecordingOptimizer
from course_utils.checks._learner import (NoiseSpy, TrainingSpy, call_training_step, call_watched,
                                          require_fresh_noise_when_compiled, require_noise_per_image,
                                          take_bounded)
from course_utils.checks._numeric import close, close_in_norm, flat
from course_utils.checks._verdict import CheckFailed, call_learner, learner_array, passed, require, scalar_result

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


def _bce_probabilities(labels, logits):
    """BCE computed as if the logits were probabilities (``from_logits`` forgotten)."""
    return keras.losses.BinaryCrossentropy(from_logits=False)(labels, logits)


def _loss_value(value, what):
    """The learner's loss as one finite float, or a CheckFailed naming what came instead."""
    number = scalar_result(value, what, hint="Reduce with tf.reduce_mean or use a Keras loss.")
    require(np.isfinite(number), f"{what} returned {number}: with logits, use "
                                 "BinaryCrossentropy(from_logits=True), which never takes log(0).")
    return number


# --- exercise 1: the input pipeline ------------------------------------------------------------


def _dataset_chain(dataset):
    """Class names of the tf.data transformations, last one first (best effort)."""
    names = []
    while dataset is not None and len(names) < 20:
        names.append(type(dataset).__name__)
        dataset = getattr(dataset, "_input_dataset", None)
    return names


def _contiguous_batches(batches, n):
    """Whether every batch holds a run of consecutive images (image i is filled with i / (n - 1))."""
    for batch in batches:
        index = np.sort(np.rint((batch[:, 0, 0, 0] + 1) / 2 * (n - 1)).astype(int))
        if not np.array_equal(index, np.arange(index[0], index[0] + len(index))):
            return False
    return True


def check_make_dataset(make_dataset):
    """``make_dataset(images, batch_size)``: images in [0, 1] -> shuffled batches in [-1, 1]."""
    n, batch_size = 64, 16
    values = np.linspace(0.0, 1.0, n, dtype=np.float32)  # image i is filled with values[i]
    images = np.broadcast_to(values[:, None, None, None], (n, 28, 28, 1)).copy()
    dataset = call_learner("make_dataset(images, batch_size) raised", make_dataset, images, batch_size)
    require(dataset is not None, "make_dataset returned None: did you forget `return`?")
    require(isinstance(dataset, tf.data.Dataset),
            f"make_dataset should return a tf.data.Dataset; got {type(dataset).__name__}.")
    require(isinstance(dataset.element_spec, tf.TensorSpec),
            "the dataset yields tuples (or dicts) of several tensors; a GAN needs only the images: "
            "tf.data.Dataset.from_tensor_slices(images), without labels.")
    epochs = [[np.asarray(batch) for batch in take_bounded(dataset, n, "reading your dataset")] for _ in range(2)]
    first = epochs[0]
    require(first and first[0].ndim == 4,
            f"each element should be a batch shaped (batch, 28, 28, 1); got {first[0].shape if first else 'nothing'}. "
            "Call .batch(batch_size).")
    require(first[0].shape == (batch_size, 28, 28, 1),
            f"with batch_size={batch_size} the first batch should be ({batch_size}, 28, 28, 1); got "
            f"{first[0].shape}. Use the batch_size argument, not a fixed number.")
    seen = np.concatenate(first)[:, 0, 0, 0]
    require(len(seen) in (n, n - n % batch_size),
            f"one pass over the dataset gave {len(seen)} images for {n} inputs: each image once per epoch.")
    require(not (seen.min() >= 0.0 and np.allclose(np.sort(seen), values[:len(seen)])),
            "your batches are in [0, 1], but the generator ends in tanh, whose outputs lie in [-1, 1]: "
            "tanh output paired with data in [0, 1] lets the discriminator spot fakes by their "
            "negative pixels. Scale the images with 2 * x - 1.")
    require(not np.allclose(np.sort(seen), np.sort(values * 2)),
            "you doubled the pixels but did not subtract 1: [0, 1] * 2 is [0, 2], not [-1, 1].")
    require(not np.allclose(np.sort(seen), np.sort(values / 127.5 - 1), atol=1e-4),
            "these images are already in [0, 1] (the loader scaled them): do not divide by 127.5 "
            "again; use 2 * x - 1.")
    require(np.allclose(np.sort(seen), np.sort(2 * values - 1), atol=1e-6),
            f"expected pixels scaled by 2 * x - 1 to [-1, 1]; got values in [{seen.min():.3g}, {seen.max():.3g}].")
    expected_order = 2 * values[:len(seen)] - 1
    require(not np.allclose(seen, expected_order),
            "the batches come in the order of the input: shuffle the images (.shuffle(len(images))) "
            "so that each batch mixes digits.")
    require(not all(_contiguous_batches(epoch, n) for epoch in epochs),
            "each batch holds the same neighbouring images in every epoch, only the order of the batches "
            "changes: you shuffle after .batch, which shuffles whole batches. Call .shuffle before .batch, "
            "so that every batch mixes images from the whole dataset.")
    # A full shuffle leaves the second half of the images out of a first batch with probability
    # 1e-6 per epoch (1e-12 for both); a buffer of one batch never reaches that half.
    require(not all(np.max(epoch[0]) < 0 for epoch in epochs),
            "the first batch of every epoch holds only images from the start of the data: the shuffle "
            "buffer is too small to mix the dataset. Use .shuffle(len(images)), a buffer as large as the "
            "dataset.")
    second = np.concatenate(epochs[1])[:, 0, 0, 0]
    require(not np.allclose(seen, second),
            "both epochs gave the same order: shuffle AFTER .cache(), otherwise the cache stores the "
            "first shuffled order and every epoch repeats it.")
    chain = _dataset_chain(dataset)
    if chain and chain[0] != "_VariantDataset":  # inspectable in this TensorFlow version
        require("Prefetch" in chain[0],
                "end the pipeline with .prefetch(tf.data.AUTOTUNE), so the next batch is ready while "
                "the model trains on this one.")
        require(any("Cache" in name for name in chain),
                "add .cache() after scaling, so the scaled images are computed once, not every epoch.")
    passed("batches of images scaled to [-1, 1], reshuffled every epoch, cached and prefetched")


# --- exercise 2: the discriminator's loss ------------------------------------------------------

_REAL_LOGITS = tf.constant([[2.0], [-1.0], [0.5], [3.0]])
_FAKE_LOGITS = tf.constant([[-2.0], [1.0], [-0.5], [0.0]])


_SUMMED_MESSAGE = ("the loss is summed over the batch: average it (Keras losses do), so that its size does "
                   "not depend on the batch size.")
_SIGMOID_MESSAGE = ("the logits went through a sigmoid before the loss: BinaryCrossentropy(from_logits=True) "
                    "applies the sigmoid itself, so pass it the raw logits.")


def _discriminator_candidates(real, fake, smoothing):
    ones, zeros = tf.ones_like(real), tf.zeros_like(fake)
    right = _bce((1 - smoothing) * ones, real) + _bce(zeros, fake)
    mistakes = {
        "the fakes are labelled real (1): the discriminator must learn to call generated images "
        "fake, so their label is 0.": _bce((1 - smoothing) * ones, real) + _bce(ones, fake),
        "the labels are swapped: real images get label 1 (or 1 - smoothing), generated ones 0.":
            _bce(zeros, real) + _bce(ones, fake),
        "label smoothing is applied to the fakes: one-sided label smoothing (Salimans et al. 2016) "
        "softens only the REAL labels to 1 - smoothing; fake labels stay exactly 0.":
            _bce((1 - smoothing) * ones, real) + _bce(smoothing * ones, fake),
        "the real labels are `smoothing` itself; they should be 1 - smoothing (e.g. 0.9 for 0.1).":
            _bce(smoothing * ones, real) + _bce(zeros, fake),
        "only the real images enter your loss: add the term for the generated images (label 0).":
            _bce((1 - smoothing) * ones, real),
        "only the generated images enter your loss: add the term for the real images.":
            _bce(zeros, fake),
        "the loss treats the logits as probabilities: the discriminator returns raw logits, so use "
        "BinaryCrossentropy(from_logits=True) (or tf.nn.sigmoid_cross_entropy_with_logits).":
            _bce_probabilities((1 - smoothing) * ones, real) + _bce_probabilities(zeros, fake),
        _SIGMOID_MESSAGE: _bce((1 - smoothing) * ones, tf.sigmoid(real)) + _bce(zeros, tf.sigmoid(fake)),
    }
    if smoothing:
        mistakes["the smoothing argument is ignored: real labels should be 1 - smoothing."] = (
            _bce(ones, real) + _bce(zeros, fake))
    if abs(smoothing - 0.1) > 1e-6:
        hard_coded = (f"the smoothing argument is ignored: your real labels are 0.9 whatever `smoothing` is "
                      f"(here {smoothing:g}). Use 1 - smoothing, and pass `smoothing` on where you call the loss.")
        mistakes[hard_coded] = _bce(0.9 * ones, real) + _bce(zeros, fake)
    return right, mistakes


def check_discriminator_loss(discriminator_loss):
    """``discriminator_loss(real_logits, fake_logits, smoothing)``: BCE, real -> 1 - smoothing, fake -> 0."""
    for smoothing in (0.2, 0.0):
        value = _loss_value(call_learner(f"discriminator_loss(real_logits, fake_logits, {smoothing:g}) raised",
                                     discriminator_loss, _REAL_LOGITS, _FAKE_LOGITS, smoothing),
                        "discriminator_loss")
        right, mistakes = _discriminator_candidates(_REAL_LOGITS, _FAKE_LOGITS, smoothing)
        if close(value, right) or close(value, right / 2):  # the mean of the two terms is fine too
            continue
        for message, candidate in mistakes.items():
            require(not (close(value, candidate) or close(value, candidate / 2)), message)
        require(not close(value, 4 * right),
                _SUMMED_MESSAGE)
        raise CheckFailed(
            f"with smoothing={smoothing} expected {float(right):.4f} (BCE of real logits against "
            f"{1 - smoothing:g} plus BCE of fake logits against 0), got {value:.4f}.")
    _, gradient = call_watched("discriminator_loss raised", discriminator_loss, _REAL_LOGITS, _FAKE_LOGITS, 0.1)
    require(gradient(_REAL_LOGITS) is not None,
            "no gradient flows through your loss: compute it with TensorFlow/Keras ops, not NumPy.")
    passed("discriminator loss: real images labelled 1 - smoothing, generated images labelled 0")


# --- exercise 3: the generator's loss ----------------------------------------------------------


def check_generator_loss(generator_loss):
    """``generator_loss(fake_logits)``: the non-saturating loss -log D(G(z)), i.e. BCE against 1."""
    fake = tf.constant([[-3.0], [0.5], [2.0]])
    value = _loss_value(call_learner("generator_loss(fake_logits) raised", generator_loss, fake), "generator_loss")
    ones, zeros = tf.ones_like(fake), tf.zeros_like(fake)
    right = _bce(ones, fake)
    if not close(value, right):
        require(not close(value, -_bce(zeros, fake)),
                "this is the saturating loss, minimising log(1 - D(G(z))). Its gradient vanishes when "
                "the discriminator rejects the fakes, as it does early in training. Use the "
                "non-saturating loss -log D(G(z)): BCE of the fake logits against label 1.")
        require(not close(value, _bce(zeros, fake)),
                "the fakes are labelled 0 (fake): the generator wants the discriminator to call its "
                "images REAL, so its loss is BCE of the fake logits against label 1.")
        require(not any(close(value, _bce(s * ones, fake)) for s in (0.7, 0.8, 0.9)),
                "do not smooth the generator's labels: label smoothing belongs to the discriminator's "
                "real labels only. The generator's target is exactly 1.")
        require(not close(value, _bce_probabilities(ones, fake)),
                "the loss treats the logits as probabilities: use BinaryCrossentropy(from_logits=True).")
        require(not close(value, _bce(ones, tf.sigmoid(fake))), _SIGMOID_MESSAGE)
        require(not close(value, len(fake) * right),
                _SUMMED_MESSAGE)
        raise CheckFailed(f"expected -mean(log D(G(z))) = {float(right):.4f} for these logits; got {value:.4f}.")
    rejected = tf.constant([[-8.0]])  # D(G(z)) = 0.0003: the discriminator is sure it is fake
    _, gradient_of = call_watched("generator_loss raised", generator_loss, rejected)
    gradient = gradient_of(rejected)
    require(gradient is not None,
            "no gradient flows through your loss: compute it with TensorFlow/Keras ops, not NumPy.")
    require(abs(float(gradient[0, 0])) > 0.9,
            f"for a rejected fake (D(G(z)) = 0.0003) the gradient should be about -1; got "
            f"{float(gradient[0, 0]):.3g}.")
    passed("non-saturating generator loss -log D(G(z)): strong gradient even for rejected fakes")


# --- exercise 4: the training step -------------------------------------------------------------


def _tiny_gan(latent_dim, n=64):
    """A generator that draws one learnable image whatever its noise, a linear discriminator, spies
    on the noise and the training flags, and ``n`` real images (enough to judge the noise's spread)."""
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, size=(28, 28, 1)).astype(np.float32)
    noise_spy, g_spy, d_spy = NoiseSpy(name="noise_spy"), TrainingSpy(name="g_spy"), TrainingSpy(name="d_spy")
    generator = keras.Sequential([keras.Input((latent_dim,)), noise_spy, ConstantImage(image), g_spy],
                                 name="generator")
    discriminator = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), d_spy, keras.layers.Dense(1)], name="discriminator")
    kernel = rng.normal(scale=0.05, size=(28 * 28, 1)).astype(np.float32)
    bias = np.array([1.0 - float(image.reshape(-1) @ kernel[:, 0])], dtype=np.float32)  # D(fake) logit = 1
    discriminator.layers[-1].set_weights([kernel, bias])
    real = rng.uniform(-1, 1, size=(n, 28, 28, 1)).astype(np.float32)
    g_spy.flags.clear()  # forget the calls Keras made while building the models
    d_spy.flags.clear()
    return generator, discriminator, noise_spy, g_spy, d_spy, real


def _variables_of(call):
    return {id(variable) for _, variable in call}


@global_policy("float32")  # the test doubles compare gradients to 1e-3: no 16-bit arithmetic here
def check_train_step(make_train_step, latent_dim=100, smoothing=0.2):
    """``make_train_step(generator, discriminator, g_optimizer, d_optimizer, smoothing)`` returns a
    ``train_step(real_images)`` that updates the discriminator, then the generator, and returns
    ``{"d_loss", "g_loss", "d_real", "d_fake"}``."""
    generator, discriminator, noise_spy, g_spy, d_spy, real = _tiny_gan(latent_dim)
    g_optimizer, d_optimizer = RecordingOptimizer(), RecordingOptimizer()
    train_step = call_learner("make_train_step raised", make_train_step, generator, discriminator,
                              g_optimizer, d_optimizer, smoothing)
    was_eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)  # so the stand-in optimizers see the gradients' values
    try:
        out = call_training_step("train_step(real_images) raised", train_step, tf.constant(real))
    finally:
        tf.config.run_functions_eagerly(was_eager)

    require(isinstance(out, dict) and {"d_loss", "g_loss", "d_real", "d_fake"} <= set(out),
            f"train_step should return a dict with d_loss, g_loss, d_real and d_fake; got {out!r:.200}.")
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        value = learner_array(out[key], f"train_step's {key}")
        require(value.shape == () and np.isfinite(value), f"{key} should be one finite number; got {value!r:.100}.")
    require(g_spy.flags and d_spy.flags, "train_step never called the generator or the discriminator.")
    require(all(flag is True for flag in g_spy.flags),
            "the generator is called without training=True in the training step: write "
            "generator(noise, training=True), so that layers such as dropout and batch norm "
            "behave as in training.")
    require(all(flag is True for flag in d_spy.flags),
            "the discriminator is called without training=True in the training step: write "
            "discriminator(images, training=True). Without it its dropout is switched off "
            "during training, and it overfits the real images.")
    require_noise_per_image(noise_spy.seen.numpy(), len(real), latent_dim)

    d_vars = {id(v) for v in discriminator.trainable_variables}
    g_vars = {id(v) for v in generator.trainable_variables}
    require(not any(_variables_of(call) & d_vars for call in g_optimizer.calls),
            "your generator step also updates the discriminator: apply g_optimizer to "
            "generator.trainable_variables only. The discriminator must not learn from the "
            "generator's loss, which rewards it for calling fakes real.")
    require(len(d_optimizer.calls) <= 1,
            f"d_optimizer was applied {len(d_optimizer.calls)} times in one step: your generator step "
            "also updates the discriminator. Update the discriminator once, with its own loss.")
    require(d_optimizer.calls, "the discriminator is never updated: apply d_optimizer to its gradients.")
    require(g_optimizer.calls, "the generator is never updated: apply g_optimizer to its gradients.")
    require(len(g_optimizer.calls) == 1, f"g_optimizer was applied {len(g_optimizer.calls)} times in one step.")
    require(not (_variables_of(d_optimizer.calls[0]) & g_vars),
            "the discriminator step also updates the generator: apply d_optimizer to "
            "discriminator.trainable_variables only.")
    require(_variables_of(d_optimizer.calls[0]) == d_vars and _variables_of(g_optimizer.calls[0]) == g_vars,
            "apply each optimizer to all trainable variables of its own model "
            "(discriminator.trainable_variables, generator.trainable_variables).")
    g_grads = [g for g, _ in g_optimizer.calls[0]]
    require(all(g is not None for g in g_grads),
            "no gradient reached the generator: compute the fake images and the discriminator's "
            "verdict on them INSIDE the generator's GradientTape.")

    # Gradients of the right losses and of typical mistakes, for this tiny deterministic GAN.
    with tf.GradientTape(persistent=True) as tape:
        real_logits = discriminator(real, training=True)
        fake_logits = discriminator(generator(tf.zeros((len(real), latent_dim)), training=True), training=True)
        right, mistakes = _discriminator_candidates(real_logits, fake_logits, smoothing)
        g_right = _bce(tf.ones_like(fake_logits), fake_logits)
        g_mistakes = {
            "the generator's loss is saturating (log(1 - D(G(z)))); use the non-saturating "
            "-log D(G(z)).": -_bce(tf.zeros_like(fake_logits), fake_logits),
            "the generator step labels its fakes 0: it must aim for the label 1 (real).":
                _bce(tf.zeros_like(fake_logits), fake_logits),
        }
    d_list = discriminator.trainable_variables
    d_given = {id(variable): grad for grad, variable in d_optimizer.calls[0]}
    d_got = flat([d_given[id(variable)] for variable in d_list])
    d_right = flat(tape.gradient(right, d_list))
    if not (close_in_norm(d_got, d_right) or close_in_norm(d_got, d_right / 2)):
        for message, loss in mistakes.items():
            d_wrong = flat(tape.gradient(loss, d_list))
            require(not (close_in_norm(d_got, d_wrong) or close_in_norm(d_got, d_wrong / 2)),
                    f"in the discriminator step, {message}")
        raise CheckFailed(
            "the discriminator's gradient does not match discriminator_loss(real_logits, fake_logits, "
            "smoothing) on one batch of real images and one batch of generated images. Did you pass "
            "`smoothing` on, and compute both logits inside the discriminator's tape?")
    g_got = flat(g_grads)
    g_list = generator.trainable_variables
    if not close_in_norm(g_got, flat(tape.gradient(g_right, g_list))):
        for message, loss in g_mistakes.items():
            require(not close_in_norm(g_got, flat(tape.gradient(loss, g_list))), f"in the generator step, {message}")
        raise CheckFailed("the generator's gradient does not match generator_loss(discriminator(fakes)).")
    del tape
    require_fresh_noise_when_compiled(train_step, tf.constant(real), noise_spy)
    passed("train step: the discriminator learns from real and fake images, then the generator "
           "alone learns to fool it, all with training=True")
