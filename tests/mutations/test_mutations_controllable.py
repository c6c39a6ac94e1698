"""Chapter 09's checks against wrong answers a learner writes, and correct answers written differently."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import controllable as checks
from tests.mutations.harness import check_tests

# --- target_log_probability -----------------------------------------------------------------------

TARGET_LOG_PROBABILITY_MISTAKES = {
    "raw_logit": (lambda logits, t: logits[:, t], "raw logit"),
    "probability": (lambda logits, t: tf.nn.softmax(logits)[:, t], "these are probabilities"),
    "loss_instead_of_log_p": (lambda logits, t: keras.losses.sparse_categorical_crossentropy(
        tf.fill([tf.shape(logits)[0]], t), logits, from_logits=True), "a loss"),
    "softmax_over_the_batch": (lambda logits, t: tf.nn.log_softmax(logits, axis=0)[:, t], "batch axis"),
    "sigmoid_of_one_logit": (lambda logits, t: tf.math.log(tf.sigmoid(logits[:, t])), "sigmoid of one logit"),
    "softmax_twice": (lambda logits, t: tf.nn.log_softmax(tf.nn.softmax(logits))[:, t], "softmax twice"),
    "row_not_column": (lambda logits, t: tf.nn.log_softmax(logits)[t], "row 1"),
    "mean_over_the_batch": (lambda logits, t: tf.reduce_mean(tf.nn.log_softmax(logits)[:, t]), "one score per image"),
    "numpy_score": (lambda logits, t: np.log(
        np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))[:, t], "no gradient flows"),
    "forgot_return": (lambda logits, t: None, "returned None"),
    "raises": (lambda logits, t: tf.nn.log_softmax(logits)[:, t, 0], "target_log_probability failed"),
}


(test_target_log_probability_mistake_is_rejected,
 test_target_log_probability_written_differently_is_accepted) = check_tests(
    checks.check_target_log_probability, TARGET_LOG_PROBABILITY_MISTAKES, [
    lambda logits, t: logits[:, t] - tf.reduce_logsumexp(logits, axis=1),
    lambda logits, t: tf.gather(keras.ops.log_softmax(logits), t, axis=-1),
    lambda logits, t: tf.math.log(tf.nn.softmax(logits)[:, t]),
])


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
    "descends": (step_with(sign=-1.0), "DEscended"),
    "no_prior": (step_with(prior=lambda z, w: 0.0), "no prior penalty"),
    "prior_sign_flipped": (step_with(prior=lambda z, w: -0.5 * w * tf.reduce_sum(z ** 2, axis=1)), "AWAY from 0"),
    "prior_without_half": (step_with(prior=lambda z, w: w * tf.reduce_sum(z ** 2, axis=1)), "twice too strong"),
    "prior_mean_over_coordinates": (step_with(
        prior=lambda z, w: 0.5 * w * tf.reduce_mean(z ** 2, axis=1)), "MEAN of z\\*\\*2"),
    "objective_averaged": (step_with(reduce=tf.reduce_mean), "averaged the objective"),
    "raw_logit_objective": (step_with(score=lambda logits, t: logits[:, t]), "raw logit"),
    "probability_objective": (step_with(
        score=lambda logits, t: tf.nn.softmax(logits)[:, t]), "probability, not its log"),
    "generator_in_training_mode": (step_with(generator_mode=True), "generator's BatchNorm.*training=True"),
    "classifier_in_training_mode": (step_with(classifier_mode=True), "classifier's BatchNorm.*training=True"),
    "predict_breaks_the_tape": (predict_breaks_the_tape, "generator.predict"),
    "optimizer_on_the_classifier": (optimizer_on_the_classifier, "classifier's weights changed"),
    "forgot_return": (lambda z, *args: None, "returned None"),
    "returns_the_gradient": (lambda z, *args: step_with()(z, *args) - z, "returned the step"),
}


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


test_steering_step_mistake_is_rejected, test_steering_step_written_differently_is_accepted = check_tests(
    checks.check_steering_step, STEERING_MISTAKES, [optimizer_on_z, analytic_prior_gradient,
                                           step_with(generator_mode=None, classifier_mode=None)])
