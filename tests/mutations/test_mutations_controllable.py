"""Chapter 09's checks against wrong answers a learner writes, and correct answers written differently."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import controllable as checks
from tests.mutations.harness import assert_accepted, assert_rejected

# --- target_log_probability -----------------------------------------------------------------------

TARGET_LOG_PROBABILITY_MISTAKES = {
    "raw_logit": ("raw logit", lambda logits, t: logits[:, t]),
    "probability": ("these are probabilities", lambda logits, t: tf.nn.softmax(logits)[:, t]),
    "loss_instead_of_log_p": ("a loss", lambda logits, t: keras.losses.sparse_categorical_crossentropy(
        tf.fill([tf.shape(logits)[0]], t), logits, from_logits=True)),
    "softmax_over_the_batch": ("batch axis", lambda logits, t: tf.nn.log_softmax(logits, axis=0)[:, t]),
    "sigmoid_of_one_logit": ("sigmoid of one logit", lambda logits, t: tf.math.log(tf.sigmoid(logits[:, t]))),
    "softmax_twice": ("softmax twice", lambda logits, t: tf.nn.log_softmax(tf.nn.softmax(logits))[:, t]),
    "row_not_column": ("row 1", lambda logits, t: tf.nn.log_softmax(logits)[t]),
    "mean_over_the_batch": ("one score per image", lambda logits, t: tf.reduce_mean(tf.nn.log_softmax(logits)[:, t])),
    "numpy_score": ("no gradient flows", lambda logits, t: np.log(
        np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))[:, t]),
    "forgot_return": ("returned None", lambda logits, t: None),
    "raises": ("target_log_probability failed", lambda logits, t: tf.nn.log_softmax(logits)[:, t, 0]),
}


@pytest.mark.parametrize("mistake", TARGET_LOG_PROBABILITY_MISTAKES)
def test_target_log_probability_mistake_is_rejected(mistake):
    pattern, function = TARGET_LOG_PROBABILITY_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_target_log_probability, function)


@pytest.mark.parametrize("function", [
    lambda logits, t: logits[:, t] - tf.reduce_logsumexp(logits, axis=1),
    lambda logits, t: tf.gather(keras.ops.log_softmax(logits), t, axis=-1),
    lambda logits, t: tf.math.log(tf.nn.softmax(logits)[:, t]),
])
def test_target_log_probability_written_differently_is_accepted(function):
    assert_accepted(checks.check_target_log_probability, function)


# --- steering_step --------------------------------------------------------------------------------


def log_p(logits, target):
    return tf.nn.log_softmax(logits)[:, target]


def step_with(score=log_p, prior=lambda z, w: 0.5 * w * tf.reduce_sum(z ** 2, axis=1), generator_mode=False,
              classifier_mode=False, reduce=tf.reduce_sum, sign=1.0):
    """A steering step written the usual way, with the parts a learner gets wrong as arguments."""

    def steering_step(z, generator, classifier, target, step_size, prior_weight):
        with tf.GradientTape() as tape:
            tape.watch(z)
            logits = classifier(generator(z, training=generator_mode), training=classifier_mode)
            objective = reduce(score(logits, target) - prior(z, prior_weight))
        return z + sign * step_size * tape.gradient(objective, z)

    return steering_step


def predict_breaks_the_tape(z, generator, classifier, target, step_size, prior_weight):
    with tf.GradientTape() as tape:
        tape.watch(z)
        images = generator.predict(z, verbose=0)
        objective = log_p(classifier(images, training=False), target) - 0.5 * prior_weight * tf.reduce_sum(z ** 2, 1)
    return z + step_size * tape.gradient(objective, z)


def optimizer_on_the_classifier(z, generator, classifier, target, step_size, prior_weight):
    optimizer = keras.optimizers.SGD(step_size)
    with tf.GradientTape() as tape:
        loss = -tf.reduce_sum(log_p(classifier(generator(z, training=False), training=False), target))
    optimizer.apply_gradients(zip(tape.gradient(loss, classifier.trainable_variables), classifier.trainable_variables))
    return z


STEERING_MISTAKES = {
    "descends": ("DEscended", step_with(sign=-1.0)),
    "no_prior": ("no prior penalty", step_with(prior=lambda z, w: 0.0)),
    "prior_sign_flipped": ("AWAY from 0", step_with(prior=lambda z, w: -0.5 * w * tf.reduce_sum(z ** 2, axis=1))),
    "prior_without_half": ("twice too strong", step_with(prior=lambda z, w: w * tf.reduce_sum(z ** 2, axis=1))),
    "prior_mean_over_coordinates": ("MEAN of z\\*\\*2", step_with(
        prior=lambda z, w: 0.5 * w * tf.reduce_mean(z ** 2, axis=1))),
    "objective_averaged": ("averaged the objective", step_with(reduce=tf.reduce_mean)),
    "raw_logit_objective": ("raw logit", step_with(score=lambda logits, t: logits[:, t])),
    "probability_objective": ("probability, not its log", step_with(
        score=lambda logits, t: tf.nn.softmax(logits)[:, t])),
    "generator_in_training_mode": ("generator's BatchNorm.*training=True", step_with(generator_mode=True)),
    "classifier_in_training_mode": ("classifier's BatchNorm.*training=True", step_with(classifier_mode=True)),
    "predict_breaks_the_tape": ("generator.predict", predict_breaks_the_tape),
    "optimizer_on_the_classifier": ("classifier's weights changed", optimizer_on_the_classifier),
    "forgot_return": ("returned None", lambda z, *args: None),
    "returns_the_gradient": ("returned the step", lambda z, *args: step_with()(z, *args) - z),
}


@pytest.mark.parametrize("mistake", STEERING_MISTAKES)
def test_steering_step_mistake_is_rejected(mistake):
    pattern, steering_step = STEERING_MISTAKES[mistake]
    assert_rejected(pattern, checks.check_steering_step, steering_step)


def optimizer_on_z(z, generator, classifier, target, step_size, prior_weight):
    """Gradient ascent as descent on the negative objective, with an SGD optimizer on a variable z."""
    variable = tf.Variable(z)
    with tf.GradientTape() as tape:
        score = log_p(classifier(generator(variable), training=False), target)
        loss = -tf.reduce_sum(score) + 0.5 * prior_weight * tf.reduce_sum(tf.square(variable))
    keras.optimizers.SGD(learning_rate=step_size).apply_gradients([(tape.gradient(loss, variable), variable)])
    return variable


def analytic_prior_gradient(z, generator, classifier, target, step_size, prior_weight):
    """Only the class term goes through the tape; the prior's gradient -prior_weight * z is written out."""
    with tf.GradientTape() as tape:
        tape.watch(z)
        score = keras.ops.sum(log_p(classifier(generator(z, training=False), training=False), target))
    return z + step_size * (tape.gradient(score, z) - prior_weight * z)


@pytest.mark.parametrize("steering_step", [optimizer_on_z, analytic_prior_gradient,
                                           step_with(generator_mode=None, classifier_mode=None)])
def test_steering_step_written_differently_is_accepted(steering_step):
    assert_accepted(checks.check_steering_step, steering_step)
