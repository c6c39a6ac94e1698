"""The chapter-09 checks pass the solution and name each typical mistake."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import controllable as checks


# --- solutions (as in solutions/09_controllable_generation.ipynb) ------------------------------


def target_log_probability(logits, target):
    return tf.nn.log_softmax(logits, axis=-1)[:, target]


def make_step(score=target_log_probability, sign=1.0, prior_sign=1.0, prior=True, reduce=tf.reduce_sum,
              training=False, watch=True):
    """The solution's steering step, or a variant with one of the typical mistakes."""

    def steering_step(z, generator, classifier, target, step_size, prior_weight):
        with tf.GradientTape() as tape:
            if watch:
                tape.watch(z)
            log_p = score(classifier(generator(z, training=training), training=False), target)
            penalty = 0.5 * prior_weight * tf.reduce_sum(z**2, axis=1) if prior else 0.0
            objective = reduce(log_p - prior_sign * penalty)
        return z + sign * step_size * tape.gradient(objective, z)

    return steering_step


steering_step = make_step()


def fails_with(check, function, match):
    with pytest.raises(CheckFailed, match=match):
        check(function)


def test_solutions_pass(capsys):
    checks.check_target_log_probability(target_log_probability)
    checks.check_steering_step(steering_step)
    assert capsys.readouterr().out.count("PASSED") == 2


def test_per_sample_objective_without_sum_passes(capsys):
    checks.check_steering_step(make_step(reduce=lambda x: x))
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("check", [checks.check_target_log_probability, checks.check_steering_step])
def test_the_placeholder_of_an_exercise_is_not_hidden(check):
    def unfinished(*args):
        raise NotImplementedError("Exercise: write your code here")

    with pytest.raises(NotImplementedError, match="Exercise"):
        check(unfinished)


# --- the target-class score ---------------------------------------------------------------------


def test_raw_logit():
    fails_with(checks.check_target_log_probability, lambda logits, t: logits[:, t], match="raw logit")


def test_probability_instead_of_log():
    fails_with(checks.check_target_log_probability, lambda logits, t: tf.nn.softmax(logits)[:, t],
               match="probabilities; take their log")


def test_negative_log_probability():
    fails_with(checks.check_target_log_probability, lambda logits, t: -tf.nn.log_softmax(logits)[:, t],
               match="a loss")


def test_softmax_over_the_batch():
    fails_with(checks.check_target_log_probability, lambda logits, t: tf.nn.log_softmax(logits, axis=0)[:, t],
               match="batch axis")


def test_sigmoid_of_one_logit():
    fails_with(checks.check_target_log_probability, lambda logits, t: tf.math.log_sigmoid(logits[:, t]),
               match="sigmoid")


def test_averaged_over_the_batch():
    fails_with(checks.check_target_log_probability,
               lambda logits, t: tf.reduce_mean(tf.nn.log_softmax(logits)[:, t]), match="one score per image")


def test_numpy_score_has_no_gradient():
    def numpy_score(logits, t):
        x = np.asarray(logits, np.float64)
        return (x - np.log(np.exp(x).sum(-1, keepdims=True)))[:, t]

    fails_with(checks.check_target_log_probability, numpy_score, match="no gradient flows")


# --- the steering step --------------------------------------------------------------------------


def test_descending_everything():
    fails_with(checks.check_steering_step, make_step(sign=-1.0), match="DEscended")


def test_descending_the_target_log_probability():
    fails_with(checks.check_steering_step, make_step(score=lambda l, t: -target_log_probability(l, t)),
               match="moves downhill")


def test_forgot_the_prior_penalty():
    fails_with(checks.check_steering_step, make_step(prior=False), match="no prior penalty")


def test_prior_penalty_with_the_wrong_sign():
    fails_with(checks.check_steering_step, make_step(prior_sign=-1.0), match="AWAY from 0")


def test_objective_averaged_over_the_batch():
    fails_with(checks.check_steering_step, make_step(reduce=tf.reduce_mean), match="averaged the objective")


def test_forgot_tape_watch():
    fails_with(checks.check_steering_step, make_step(watch=False), match="tape.watch")


def test_generator_in_training_mode():
    fails_with(checks.check_steering_step, make_step(training=True), match="training=True")


def test_gradient_step_on_the_generator_weights():
    def weights_step(z, generator, classifier, target, step_size, prior_weight):
        with tf.GradientTape() as tape:
            objective = tf.reduce_sum(target_log_probability(classifier(generator(z, training=False)), target))
        grads = tape.gradient(objective, generator.trainable_variables)
        keras.optimizers.SGD(step_size).apply_gradients(zip([-g for g in grads], generator.trainable_variables))
        return z

    fails_with(checks.check_steering_step, weights_step, match="generator's weights changed")


def test_gradient_with_respect_to_weights_added_to_z():
    def wrong_gradient(z, generator, classifier, target, step_size, prior_weight):
        with tf.GradientTape() as tape:
            objective = tf.reduce_sum(target_log_probability(classifier(generator(z, training=False)), target))
        return z + step_size * tape.gradient(objective, generator.trainable_variables)[0]

    fails_with(checks.check_steering_step, wrong_gradient, match="not the networks' weights")


def test_returns_the_gradient_not_the_new_z():
    def gradient_only(z, *args):
        return make_step()(z, *args) - z

    fails_with(checks.check_steering_step, gradient_only, match="returned the step")
