"""Checks for chapter 07: a conditional GAN with an auxiliary classifier (AC-GAN) on MNIST.

Each check runs the learner's function on small inputs whose right answer is known, and names
the mistake when the answer matches a typical wrong one.
"""

import numpy as np
import tensorflow as tf

from course_utils.checks._learner import (call_watched, final_activation, missing_activation_message,
                                          output_activation_message, run_compiled_twice)
from course_utils.checks._numeric import bce_of_probabilities, ce_of_probabilities, log_softmax, softmax
from course_utils.checks._verdict import (CheckFailed, call_learner, learner_array, match_named_mistake, passed,
                                          require, scalar_result, unfinished_exercise)

NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


def _bce(logits, target):
    """Mean binary cross-entropy of logits against a constant target, in NumPy."""
    logits = np.asarray(logits, dtype=np.float64)
    return float(np.mean(np.logaddexp(0, logits) - target * logits))


def _ce(logits, labels):
    """Mean sparse categorical cross-entropy of logits, in NumPy."""
    log_probs = log_softmax(logits, axis=1)
    return float(-np.mean(log_probs[np.arange(len(labels)), labels]))


# --- the conditional generator -----------------------------------------------------------------


def _generate(generator, noise, labels):
    try:
        images = generator([noise, labels], training=False)
    except Exception as error:
        raise CheckFailed(
            f"calling generator([noise, labels]) with noise {noise.shape} and integer labels {labels.shape} failed "
            f"({type(error).__name__}: {str(error)[:200]}). The generator takes TWO inputs: "
            "keras.Input((latent_dim,)) and keras.Input((), dtype='int32') for the labels; embed the labels with "
            "layers.Embedding(10, dim) (not one-hot vectors) and concatenate the embedding with the noise."
        ) from error
    return learner_array(images, "the generator")


def check_generator(build_generator, latent_dim=100):
    """``build_generator(latent_dim)``: a model ``[noise (N, latent_dim), labels (N,) int] -> images``."""
    try:
        generator = build_generator(latent_dim)
    except Exception as error:
        if unfinished_exercise(error):
            raise  # the exercise is not done yet: its own message says so
        raise CheckFailed(
            f"build_generator({latent_dim}) failed ({type(error).__name__}: {str(error)[:200]}). If the labels are "
            "keras.Input((1,)), their embedding has shape (N, 1, d): use keras.Input((), dtype='int32') (or "
            "Flatten the embedding) before concatenating it with the noise."
        ) from error
    require(generator is not None, "build_generator returned None: did you forget `return`?")
    inputs = getattr(generator, "inputs", None)
    require(inputs is None or len(inputs) == 2,
            "the generator must take TWO inputs, [noise, labels]; build it with the functional API: "
            "keras.Model([noise, labels], images).")
    rng = np.random.default_rng(0)
    noise = np.repeat(rng.standard_normal((1, latent_dim)).astype(np.float32), NUM_CLASSES, axis=0)
    labels = np.arange(NUM_CLASSES, dtype=np.int32)
    images = _generate(generator, noise, labels)
    require(images.shape == (NUM_CLASSES, *IMAGE_SHAPE),
            f"expected images of shape ({NUM_CLASSES}, 28, 28, 1) for {NUM_CLASSES} labels; got {images.shape}.")
    # The last activation is read from the model where it can be (whatever the starting weights); large noise
    # drives the output layer to its limits and shows an activation the model does not reveal.
    never_negative = ("the training images are scaled to [-1, 1], but the output layer ends with an activation whose "
                      "values are >= 0 (sigmoid, relu or softmax). End the generator with tanh, like chapter 04.")
    output = final_activation(generator)
    require(output not in ("sigmoid", "relu", "softmax"),
            f"the generated pixels are never negative (the last activation is {output}): {never_negative}")
    unbounded = output_activation_message(generator, "tanh", "the generator", "its pixels are not held in [-1, 1], "
                                          "the range the training images are scaled to.")
    require(unbounded is None, unbounded)
    spread = np.abs(images - images[:1]).max()
    require(spread > 1e-4,
            "the same noise with ten different labels gives ten identical images: the generator ignores the "
            "label. Feed the label embedding into the network (concatenate it with the noise).")
    other_noise = rng.standard_normal((2, latent_dim)).astype(np.float32)
    two = _generate(generator, other_noise, np.array([3, 3], dtype=np.int32))
    require(np.abs(two[0] - two[1]).max() > 1e-4,
            "two different noise vectors with the same label give the same image: the noise must reach the network.")
    loud = _generate(generator, 50 * noise, labels)
    low, high = float(loud.min()), float(loud.max())
    require(low < 0, f"the generated pixels are never negative (the smallest is {low:.2f}): {never_negative}")
    require(low >= -1.0 and high <= 1.0,
            f"generated pixels range over [{low:.3g}, {high:.3g}], outside [-1, 1]: the output layer has no tanh. "
            "End the generator with tanh, like chapter 04.")
    missing = missing_activation_message(
        generator, "Follow each hidden Dense layer (and its BatchNormalization) with a LeakyReLU(0.2).")
    require(missing is None, missing)
    passed(f"the generator maps noise {noise.shape[1:]} and an integer label to a 28x28x1 image in [-1, 1], "
           "and both inputs change the image")


# --- fake images and their labels --------------------------------------------------------------


class _SpyGenerator:
    """Stands in for a generator: records each call; image i is filled with labels[i] / 10.

    It never raises, so that a malformed call is reported by the check rather than as an error of the
    learner's code; it works eagerly and inside a tf.function.
    """

    def __init__(self):
        self.calls = []  # (noise, labels, training) per call, or None for a call without [noise, labels]

    def __call__(self, inputs, training=None):
        if not (isinstance(inputs, (list, tuple)) and len(inputs) == 2):
            self.calls.append(None)
            return tf.zeros([1, *IMAGE_SHAPE])
        noise, labels = (tf.convert_to_tensor(t) for t in inputs)
        self.calls.append((noise, labels, training))
        fill = tf.cast(labels, tf.float32) / 10.0 if labels.shape.rank == 1 else tf.zeros(tf.shape(noise)[:1])
        return tf.reshape(fill, [-1, 1, 1, 1]) * tf.ones([1, *IMAGE_SHAPE])


def _check_fake_batch_compiled(fake_batch, latent_dim):
    """In the training step fake_batch runs compiled, with batch_size a tensor: its draws must change."""
    spy = _SpyGenerator()

    def step(batch_size):
        fake_batch(spy, batch_size, latent_dim)
        noise, labels, _ = spy.calls[-1]
        return noise, labels

    (noise_1, labels_1), (noise_2, labels_2) = run_compiled_twice(
        "fake_batch fails inside the compiled training step (a tf.function, where batch_size is the tensor "
        "tf.shape(real_images)[0]); draw the noise and the labels with tf.random, not NumPy or Python's random",
        step, tf.constant(64))
    require(not np.array_equal(noise_1, noise_2) and not np.array_equal(labels_1, labels_2),
            "inside the compiled training step (a tf.function) fake_batch draws the same "
            f"{'noise' if np.array_equal(noise_1, noise_2) else 'labels'} at every step: NumPy's and Python's random "
            "numbers are drawn once, when the function is traced, and then frozen. Draw them with "
            "tf.random.normal and tf.random.uniform.")


def check_fake_batch(fake_batch, latent_dim=100):
    """``fake_batch(generator, batch_size, latent_dim) -> (images, labels)``, the labels the images were made with.

    As in the training step, ``batch_size`` is a scalar tensor.
    """
    spy = _SpyGenerator()
    result = call_learner("fake_batch(generator, batch_size=1000, latent_dim) raised", fake_batch, spy,
                          tf.constant(1000), latent_dim)
    require(isinstance(result, (tuple, list)) and len(result) == 2, "return two things: (images, labels).")
    images = learner_array(result[0], "fake_batch's images")
    labels = learner_array(result[1], "fake_batch's labels", dtype=None)
    require(not (images.ndim == 1 and labels.ndim == 4),
            "you return (labels, images): return (images, labels), in that order.")
    require(spy.calls, "fake_batch never called the generator.")
    require(spy.calls[-1] is not None, "call the generator with a list [noise, labels], as it was built.")
    noise, fed_labels, training = (np.asarray(part) if tf.is_tensor(part) else part for part in spy.calls[-1])
    require(noise.shape == (1000, latent_dim),
            f"the noise has shape {noise.shape}; expected (batch_size, latent_dim) = (1000, {latent_dim}).")
    require(len(np.unique(noise, axis=0)) == len(noise),
            "several fakes got the same noise vector: draw one noise vector per image, "
            "tf.random.normal([batch_size, latent_dim]), not one vector repeated over the batch.")
    require(0.8 < noise.std() < 1.2 and abs(noise.mean()) < 0.1,
            f"the noise has mean {noise.mean():.2f} and standard deviation {noise.std():.2f}: draw it from a "
            "standard normal, tf.random.normal([batch_size, latent_dim]).")
    require(fed_labels.shape == (1000,),
            f"the generator got labels of shape {fed_labels.shape}; it expects integer labels of shape (batch_size,) "
            "(the Embedding layer turns them into vectors), not one-hot vectors.")
    require(labels.shape == (1000,),
            f"return integer labels of shape (batch_size,), the ones fed to the generator; got shape {labels.shape}.")
    require(np.issubdtype(labels.dtype, np.integer), f"labels should be integers (class ids); got {labels.dtype}.")
    require(np.array_equal(labels, fed_labels),
            "the labels you return are not the ones the images were generated with: the discriminator would be "
            "taught the wrong class for each fake. Draw the labels once and use that same tensor for both.")
    require(images.shape == (1000, *IMAGE_SHAPE) and np.allclose(images, np.asarray(spy([noise, fed_labels]))),
            "return the generator's images unchanged (the output of generator([noise, labels], training=True)).")
    require(labels.min() >= 0 and labels.max() < NUM_CLASSES,
            f"labels range over {labels.min()}..{labels.max()}; MNIST has classes 0..9.")
    require(len(np.unique(labels)) > 1,
            "every fake in the batch has the same label: draw a label per example, uniformly from 0..9.")
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    require(counts[NUM_CLASSES - 1] > 0,
            "no fake ever gets label 9: tf.random.uniform's maxval is exclusive, so use maxval=10.")
    require(counts.min() > 50,
            f"the classes are far from balanced (counts {counts.tolist()}): draw labels uniformly from 0..9.")
    require(training is True or (tf.is_tensor(training) and bool(training)),
            f"the generator was called with training={training!r}: fake_batch runs inside the training step, "
            "where the generator's BatchNormalization must use the batch's statistics (and learn its own). "
            "Call generator([noise, labels], training=True); without it Keras runs the layers in inference mode.")
    _check_fake_batch_compiled(fake_batch, latent_dim)
    passed("fake images come with the very labels they were generated from, uniform over the 10 classes")


# --- the losses --------------------------------------------------------------------------------


def _heads(rng, n, shift):
    source = (rng.standard_normal((n, 1)) + shift).astype(np.float32)
    classes = (rng.standard_normal((n, NUM_CLASSES)) * 2).astype(np.float32)
    return source, classes


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


_SOURCE_AS_PROBABILITIES = (
    "the real/fake cross-entropy treats the source logits as probabilities: the discriminator's source head "
    "outputs a logit (no sigmoid), so use BinaryCrossentropy(from_logits=True).")
_CLASSES_AS_PROBABILITIES = (
    "the class cross-entropy treats the class logits as probabilities: the class head outputs logits (no "
    "softmax), so use SparseCategoricalCrossentropy(from_logits=True).")
_SIGMOID_ON_LOGITS = (
    "you applied a sigmoid to the source logits and then a cross-entropy with from_logits=True, which applies "
    "its own: pass the logits to the loss unchanged.")
_SOFTMAX_ON_LOGITS = (
    "you applied a softmax to the class logits and then a cross-entropy with from_logits=True, which applies "
    "its own: pass the logits to the loss unchanged.")


def _require_gradient(gradient, tensors, what):
    require(all(gradient(t) is not None for t in tensors),
            f"{what} has the right value but gives no gradient with respect to the logits: compute it with "
            "TensorFlow or Keras operations (no NumPy, no .numpy()), so that the networks can learn from it.")


def check_discriminator_loss(discriminator_loss):
    """``discriminator_loss(real_out, fake_out, real_labels, fake_labels, smoothing=0.0)``; each ``*_out`` is
    ``(source_logits (N, 1), class_logits (N, 10))``; real images get the source target ``1 - smoothing``."""
    rng = np.random.default_rng(0)
    real_src, real_cls = _heads(rng, 6, 1.0)
    fake_src, fake_cls = _heads(rng, 6, -0.5)
    real_y = np.array([0, 1, 2, 3, 4, 5])
    fake_y = np.array([9, 7, 7, 2, 0, 4])
    outputs = ((tf.constant(real_src), tf.constant(real_cls)), (tf.constant(fake_src), tf.constant(fake_cls)),
               tf.constant(real_y), tf.constant(fake_y))
    result, gradient = call_watched("discriminator_loss raised", discriminator_loss, *outputs)
    value = scalar_result(result, "discriminator_loss")
    source = _bce(real_src, 1) + _bce(fake_src, 0)
    ce_real, ce_fake = _ce(real_cls, real_y), _ce(fake_cls, fake_y)
    classes = ce_real + ce_fake
    source_of_probabilities = bce_of_probabilities(real_src, 1) + bce_of_probabilities(fake_src, 0)
    classes_of_probabilities = ce_of_probabilities(real_cls, real_y) + ce_of_probabilities(fake_cls, fake_y)
    match_named_mistake(value, source + classes, [
        (source + ce_real, "the auxiliary class loss is applied to the real images only: in AC-GAN the "
                           "discriminator also classifies the fakes, by the labels they were generated with "
                           "(Odena et al., 2017). Add the cross-entropy of fake_class_logits against fake_labels."),
        (source + ce_fake, "the auxiliary class loss is applied to the fakes only: the discriminator learns what "
                           "a class looks like from the REAL images. Add the cross-entropy of real_class_logits "
                           "against real_labels."),
        (source, "the auxiliary class loss is missing: add the cross-entropy of the class logits against the labels, "
                 "for the real and for the fake images."),
        (source + _ce(real_cls, fake_y) + _ce(fake_cls, real_y),
         "the class labels are swapped: real class logits go with real_labels, fake class logits with fake_labels."),
        (_bce(real_src, 0) + _bce(fake_src, 1) + classes,
         "the real/fake targets are swapped: real images get target 1, fakes target 0."),
        ((source + classes) / 2, "you averaged the terms: add the real/fake and the class losses."),
        (source_of_probabilities + classes, _SOURCE_AS_PROBABILITIES),
        (source + classes_of_probabilities, _CLASSES_AS_PROBABILITIES),
        (source_of_probabilities + classes_of_probabilities,
         "both cross-entropies treat the logits as probabilities: the discriminator's heads output logits, so "
         "use from_logits=True in BinaryCrossentropy and in SparseCategoricalCrossentropy."),
        (_bce(_sigmoid(real_src), 1) + _bce(_sigmoid(fake_src), 0) + classes, _SIGMOID_ON_LOGITS),
        (source + _ce(softmax(real_cls), real_y) + _ce(softmax(fake_cls), fake_y), _SOFTMAX_ON_LOGITS),
    ], "discriminator_loss: BCE(real->1) + BCE(fake->0) + CE(real classes) + CE(fake classes)")
    _require_gradient(gradient, [outputs[0][0], outputs[1][0], outputs[0][1], outputs[1][1]], "discriminator_loss")
    smoothed = scalar_result(call_learner("discriminator_loss(..., smoothing=0.1) raised", discriminator_loss,
                                          *outputs, smoothing=0.1), "discriminator_loss(..., smoothing=0.1)")
    match_named_mistake(smoothed, _bce(real_src, 0.9) + _bce(fake_src, 0) + classes, [
        (source + classes, "with smoothing=0.1 the loss did not change: the real images' source target is "
                           "1 - smoothing (one-sided label smoothing, chapter 04)."),
        (_bce(real_src, 0.9) + _bce(fake_src, 0.1) + classes, "smooth only the REAL images' target (one-sided "
                                                              "label smoothing); the fakes keep target 0."),
        (_bce(real_src, 0.1) + _bce(fake_src, 0) + classes, "with smoothing=0.1 the real images got target 0.1: "
                                                            "their target is 1 - smoothing = 0.9."),
    ], "discriminator_loss with smoothing=0.1: BCE(real->0.9) + BCE(fake->0) + class terms")
    passed("the discriminator learns real vs fake (with one-sided smoothing) AND the class of real and fake images")


def check_generator_loss(generator_loss):
    """``generator_loss(fake_out, fake_labels)`` with ``fake_out = (source_logits, class_logits)``."""
    rng = np.random.default_rng(1)
    fake_src, fake_cls = _heads(rng, 6, -0.5)
    fake_y = np.array([9, 7, 7, 2, 0, 4])
    fake_out = (tf.constant(fake_src), tf.constant(fake_cls))
    result, gradient = call_watched("generator_loss raised", generator_loss, fake_out, tf.constant(fake_y))
    value = scalar_result(result, "generator_loss")
    ns, ce = _bce(fake_src, 1), _ce(fake_cls, fake_y)
    match_named_mistake(value, ns + ce, [
        (ns, "the auxiliary class loss is missing: the generator must also make its fakes recognisable as the "
             "class it was asked for. Add the cross-entropy of the fake class logits against fake_labels."),
        (ns - ce, "the class term has the wrong sign: the generator wants its fakes CLASSIFIED CORRECTLY, so it "
                  "minimises + cross-entropy, like the discriminator."),
        (-_bce(fake_src, 0) + ce, "this is the saturating loss log(1 - D(G(z))); use the non-saturating one, "
                                  "BCE of the fake source logits against 1 (chapter 04)."),
        (_bce(fake_src, 0) + ce, "the generator's fakes should be called REAL: use target 1 for the source logits."),
        (ns + _ce(fake_cls, np.sort(fake_y)), "the class targets do not match the fakes' labels: use fake_labels "
                                              "in the order the images were generated."),
        (bce_of_probabilities(fake_src, 1) + ce, _SOURCE_AS_PROBABILITIES),
        (ns + ce_of_probabilities(fake_cls, fake_y), _CLASSES_AS_PROBABILITIES),
        (_bce(_sigmoid(fake_src), 1) + ce, _SIGMOID_ON_LOGITS),
        (ns + _ce(softmax(fake_cls), fake_y), _SOFTMAX_ON_LOGITS),
        ((ns + ce) / 2, "you averaged the two terms: add the real/fake and the class losses."),
    ], "generator_loss: BCE(fake->1) + CE(fake classes)")
    _require_gradient(gradient, list(fake_out), "generator_loss")
    passed("the generator is asked to look real AND to look like its class")
