"""Checks for chapter 09, steering a trained generator with a classifier.

- ``check_target_log_probability``: log p(target | x) per image from a classifier's logits.
- ``check_steering_step``: one gradient-ascent step on the noise z of
  ``log p(target | G(z)) - prior_weight / 2 * ||z||^2``, with the networks left unchanged.
"""

import numpy as np

from course_utils.checks._numeric import close, log_softmax, softmax
from course_utils.checks._verdict import CheckFailed, call_learner, learner_array, passed, raise_learner_error, require

_LOGITS = np.array([[2.0, 0.5, -1.0, 0.0],
                    [-0.5, 3.0, 1.0, 0.2],
                    [0.1, 0.1, 0.1, 4.0]], dtype=np.float32)


# --- the target-class score ---------------------------------------------------------------------


def check_target_log_probability(target_log_probability):
    """``target_log_probability(logits, target)`` -> log softmax(logits)[:, target], one value per image."""
    import tensorflow as tf

    target = 1
    logits = tf.constant(_LOGITS)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        score = call_learner(f"target_log_probability failed on logits of shape {tuple(logits.shape)}",
                             target_log_probability, logits, target)
    value = learner_array(score, "target_log_probability")
    by_row = log_softmax(_LOGITS)[target]
    require(not close(value, by_row),
            f"you picked row {target} of the log-probabilities (one image), not column {target} (the target "
            "class of every image): index [:, target].")
    require(
        value.ndim == 1 and len(value) == len(_LOGITS),
        f"expected one score per image, shape ({len(_LOGITS)},); got shape {value.shape}. "
        "Do not average over the batch: the steering step needs each image's own score.",
    )
    expected = log_softmax(_LOGITS)[:, target]
    if not close(value, expected):
        mistakes = [
            (_LOGITS[:, target], "this is the raw logit of the target class, not a log-probability. Raising "
             "it can also raise every other logit; normalise with a log-softmax over the classes."),
            (np.exp(expected), "these are probabilities; take their log (use tf.nn.log_softmax): the gradient "
             "of a small probability vanishes, that of its log does not."),
            (-expected, "this is -log p, a loss; return log p itself (the steering step ascends it)."),
            (log_softmax(_LOGITS, axis=0)[:, target], "you normalised over the batch axis (axis 0); the "
             "softmax runs over the classes, the last axis."),
            (np.log(1.0 / (1.0 + np.exp(-_LOGITS[:, target]))), "you used a sigmoid of one logit; the "
             "classifier's classes compete, so use a softmax over all logits (tf.nn.log_softmax)."),
            (log_softmax(softmax(_LOGITS))[:, target], "you applied the softmax twice (a log-softmax of "
             "probabilities): the classifier returns logits, so take one log-softmax of them."),
        ]
        for wrong, message in mistakes:
            require(not close(value, wrong), message)
        raise CheckFailed(
            f"for logits {_LOGITS.tolist()} and target {target} expected {np.round(expected, 4).tolist()}, "
            f"got {np.round(value, 4).tolist()}: log p(target | x) = log_softmax(logits)[:, target]."
        )
    gradient = tape.gradient(score, logits) if tf.is_tensor(score) else None
    require(
        gradient is not None,
        "the value is right but no gradient flows back to the logits: use TensorFlow operations "
        "(tf.nn.log_softmax, tensor indexing), not NumPy, so the steering step can differentiate it.",
    )
    passed("log p(target | x) from a log-softmax over the classes, one differentiable value per image")


# --- the steering step --------------------------------------------------------------------------


def _tiny_networks(seed=0):
    """A tiny generator (5 -> 2x2x1 images in [0, 1]) and a 4-class classifier, each with a BatchNorm."""
    import keras

    layers = keras.layers

    def init(k):  # seeded per layer: the learner's global random state is left alone
        return keras.initializers.GlorotUniform(seed=seed + k)

    generator = keras.Sequential([
        keras.Input((5,)), layers.Dense(8, kernel_initializer=init(0)), layers.BatchNormalization(),
        layers.LeakyReLU(0.2), layers.Dense(4, activation="sigmoid", kernel_initializer=init(1)),
        layers.Reshape((2, 2, 1)),
    ])
    classifier = keras.Sequential([keras.Input((2, 2, 1)), layers.Flatten(), layers.BatchNormalization(),
                                   layers.Dense(4, kernel_initializer=init(2))])
    # Give each BatchNorm non-trivial moving statistics, so training=True and training=False differ.
    for bn in (generator.layers[1], classifier.layers[1]):
        size = bn.moving_mean.shape[0]
        bn.moving_mean.assign(np.linspace(-0.5, 0.5, size).astype("float32"))
        bn.moving_variance.assign(np.linspace(0.5, 2.0, size).astype("float32"))
    return generator, classifier


def _weights(*models):
    return [w.numpy() for model in models for w in model.weights]


def _reference_gradients(z, generator, classifier, target, prior_weight):
    """Per-example gradients w.r.t. z of the prior term and of three scores of the target class:
    ``{"log_p": ..., "logit": ..., "p": ..., "prior": ...}``."""
    import tensorflow as tf

    z = tf.constant(z)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        logits = classifier(generator(z, training=False), training=False)
        terms = {"log_p": tf.nn.log_softmax(logits)[:, target], "logit": logits[:, target],
                 "p": tf.nn.softmax(logits)[:, target], "prior": -0.5 * prior_weight * tf.reduce_sum(z**2, axis=1)}
    gradients = {name: tape.gradient(term, z).numpy().astype(np.float64) for name, term in terms.items()}
    del tape
    return gradients


def _call_step(steering_step, z, generator, classifier, target, step_size, prior_weight):
    import tensorflow as tf

    before = _weights(generator, classifier)
    try:
        new_z = steering_step(tf.constant(z), generator, classifier, target, step_size, prior_weight)
    except NotImplementedError as error:  # the placeholder passes: the exercise (or target_log_probability) is not done
        raise_learner_error("steering_step(...)", error)
    except TypeError as error:
        if "NoneType" in str(error):
            raise CheckFailed(
                f"{type(error).__name__}: {error}. The gradient with respect to z is None: z is a plain "
                "tensor, so the tape must watch it (tape.watch(z)) before the generator uses it, and every "
                "step from z to the objective must run inside the tape as TensorFlow operations (no "
                "generator.predict, no .numpy())."
            ) from error
        raise CheckFailed(f"steering_step raised {type(error).__name__}: {error}") from error
    except Exception as error:
        raise CheckFailed(
            f"steering_step raised {type(error).__name__}: {error}. Take the gradient with respect to z "
            "(tape.gradient(objective, z)), not the networks' weights, and return z moved along it."
        ) from error
    after = _weights(generator, classifier)
    changed = {id(w) for w, a, b in zip([*generator.weights, *classifier.weights], before, after)
               if not np.array_equal(a, b)}
    for name, model in (("generator", generator), ("classifier", classifier)):
        moving = {id(w) for layer in model.layers if hasattr(layer, "moving_mean")
                  for w in (layer.moving_mean, layer.moving_variance)}
        weights = {id(w) for w in model.weights} & changed
        require(not weights or not weights <= moving,
                f"the {name}'s BatchNorm statistics changed: you called the {name} with training=True. Use "
                f"{name}(..., training=False) (for both networks) so that they stay as trained.")
        require(not weights,
                f"the {name}'s weights changed: you stepped along the gradient with respect to the weights "
                "(or applied an optimizer to them). Steering keeps both networks fixed and moves z: take "
                "tape.gradient(objective, z).")
    new_z = learner_array(new_z, "steering_step")
    require(
        new_z.shape == z.shape,
        f"the new z has shape {new_z.shape}, the old one {z.shape}: return z itself moved by a step, one row "
        "per sample (do not average the gradient over the batch into one vector).",
    )
    return new_z


def check_steering_step(steering_step):
    """``steering_step(z, generator, classifier, target, step_size, prior_weight)`` -> the new z.

    Expected: ``z + step_size * grad_z [log p(target | G(z)) - prior_weight / 2 * ||z||^2]`` per sample,
    with both networks called with ``training=False`` and left unchanged.
    """
    generator, classifier = _tiny_networks()
    z = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    target, step_size, prior_weight = 2, 0.5, 0.3
    new_z = _call_step(steering_step, z, generator, classifier, target, step_size, prior_weight)
    gradients = _reference_gradients(z, generator, classifier, target, prior_weight)
    g_log_p, g_prior = gradients["log_p"], gradients["prior"]
    z64 = z.astype(np.float64)
    delta = new_z - z64
    expected = step_size * (g_log_p + g_prior)
    if not close(delta, expected):
        require(not np.allclose(delta, 0.0), "z did not move: return z plus step_size times the gradient.")
        require(
            not close(new_z, expected) and not close(new_z, expected / step_size),
            "you returned the step (or the gradient) itself; return the moved point z + step_size * gradient.",
        )
        mistakes = [
            (-expected, "you DEscended: z moved to make the target class less likely. Gradient ASCENT adds "
             "the gradient: z + step_size * gradient."),
            (step_size * (-g_log_p + g_prior), "the class term moves downhill: you descend log p(target | G(z)) "
             "(minimising it, or using -log p as the score). Ascend it: the target should become MORE likely."),
            (step_size * g_log_p, "no prior penalty: nothing keeps z near the prior N(0, I), so over many steps z "
             "drifts to regions the generator never saw in training. Subtract prior_weight / 2 * ||z||^2 in "
             "the objective."),
            (step_size * (g_log_p - g_prior), "the prior term pushes z AWAY from 0: its sign is flipped. The "
             "objective is log p(target | G(z)) - prior_weight / 2 * ||z||^2."),
            (step_size * (g_log_p + 2 * g_prior), "the prior term is twice too strong: its gradient is "
             "-prior_weight * z, from -prior_weight / 2 * ||z||^2."),
            (expected / len(z), f"each z moved 1/{len(z)} of its step: you averaged the objective over the "
             "batch. Sum it (or keep one value per sample): each sample has its own independent objective."),
            (step_size * g_prior, "z moved by the prior term only: no gradient reached z through the networks. "
             "Every step from z to the objective must run inside the tape as TensorFlow operations (no "
             "generator.predict, no .numpy(), no NumPy)."),
            (step_size * (g_log_p + g_prior / z.shape[1]), "the prior term is the MEAN of z**2 over its "
             f"{z.shape[1]} coordinates; ||z||^2 is their sum: tf.reduce_sum(z**2, axis=1)."),
            (step_size * (gradients["logit"] + g_prior), "the objective climbs the target's raw logit, not "
             "log p(target | G(z)): score the images with target_log_probability (if that function did not "
             "pass its own check above, fix it first)."),
            (step_size * (gradients["p"] + g_prior), "the objective climbs the target's probability, not its "
             "log: score the images with target_log_probability (if that function did not pass its own check "
             "above, fix it first)."),
        ]
        for wrong, message in mistakes:
            require(not close(delta, wrong), message)
        raise CheckFailed(
            "the new z is not z + step_size * grad_z[log p(target | G(z)) - prior_weight / 2 * ||z||^2]; "
            "check the objective (log-softmax of the classifier's logits at the target class, minus the "
            "prior penalty) and that you step along its gradient with respect to z."
        )
    passed("z climbs log p(target | G(z)) - prior_weight/2 ||z||^2, with the networks unchanged")

