"""Looking at what a learner built: the layers of a model, a function run the way training runs it."""

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks._verdict import CheckFailed, call_learner, require, traced_error, unfinished_exercise

# --- layer stacks ---------------------------------------------------------------------------------

_WEIGHTED = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D, keras.layers.Conv2D,
             keras.layers.Conv3D, keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
             keras.layers.Conv3DTranspose)
"""Layers that compute a linear map of their input, before their own activation."""

_NO_ACTIVATION = (keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Dropout,
                  keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D, keras.layers.GaussianNoise,
                  keras.layers.Reshape, keras.layers.Flatten, keras.layers.UpSampling2D,
                  keras.layers.ZeroPadding2D, keras.layers.Identity)
"""Layers that sit between two weighted layers without adding a nonlinearity."""


def _has_activation(layer):
    activation = getattr(layer, "activation", None)  # a function, or a layer such as LeakyReLU(0.2)
    return activation is not None and getattr(activation, "__name__", None) != "linear"


def _steps(model):
    """The layers and ops of ``model``, in the order they run."""
    return model.layers if isinstance(model, keras.Sequential) else getattr(model, "operations", [])


def _producers(model):
    """``{operation: the operation whose output it reads}`` for the single-input steps of ``model``."""
    if isinstance(model, keras.Sequential):
        return dict(zip(model.layers[1:], model.layers[:-1]))
    producers = {}
    for operation in _steps(model):
        try:
            source = operation.input
        except Exception:  # a shared layer, or an input layer: no single producer
            continue
        if not isinstance(source, (list, tuple)):
            producers[operation] = source._keras_history.operation
    return producers


def stacked_linear_layers(model):
    """Pairs ``(first, second, between)`` of Dense or convolution layers in ``model`` (and in the models
    inside it) where ``second`` reads ``first``'s output with no activation anywhere on the way:
    ``between`` names the layers in between (batch norm, dropout, reshaping), none of which adds a
    nonlinearity. Such a pair computes a single linear map: an activation is missing.

    Only plain chains are followed; a step the helper cannot read (a Lambda, a layer called twice, an
    op with several inputs) ends the chain, so a pair is reported only when it is certain.
    """
    pairs = []
    try:
        for inner in _steps(model):
            if isinstance(inner, keras.Model):
                pairs += stacked_linear_layers(inner)
        producers = _producers(model)
        for operation in producers:
            if not isinstance(operation, _WEIGHTED):
                continue
            between, source = [], producers.get(operation)
            while isinstance(source, _NO_ACTIVATION):
                between.append(source.name)
                source = producers.get(source)
            if isinstance(source, _WEIGHTED) and not _has_activation(source):
                pairs.append((source, operation, between[::-1]))
    except Exception:  # a model built in a way this reader does not know: report nothing rather than guess
        return pairs
    return pairs


def missing_activation_message(model, advice):
    """A message naming the first pair of ``stacked_linear_layers(model)``, or None if there is none."""
    pairs = stacked_linear_layers(model)
    if not pairs:
        return None
    first, second, between = pairs[0]
    via = f" (through {', '.join(between)} only)" if between else ""
    return (f"layer '{second.name}' takes the output of layer '{first.name}'{via} with no activation in "
            f"between: two linear layers in a row compute one linear map, so one layer of the stack is "
            f"wasted. {advice}")


# --- a function run as training runs it -------------------------------------------------------------


def run_compiled_twice(what, function, *args):
    """``function(*args)`` traced once as a ``tf.function`` and run twice, as a training step runs.

    Returns the two results as NumPy (nested like the result). Randomness drawn with NumPy or Python's
    ``random`` is fixed when the function is traced, so it gives the same values in both results. Use it
    after the function has run eagerly: here every error becomes a CheckFailed that starts with ``what``,
    TensorFlow's NotImplementedError for a NumPy call on a symbolic tensor included.
    """
    compiled = tf.function(function)
    try:
        results = [compiled(*args) for _ in range(2)]
    except CheckFailed:
        raise
    except Exception as error:
        raise CheckFailed(f"{what}: {traced_error(error)}") from error
    return [tf.nest.map_structure(np.asarray, result) for result in results]


def call_watched(what, function, *args, **kwargs):
    """``function(*args, **kwargs)`` under a GradientTape that watches every float tensor in ``args``.

    Returns ``(result, gradient)``: ``gradient(x)`` is the gradient of the result with respect to one of
    those tensors, or None when none flows (the result was computed with NumPy, or is no tensor). An
    error of the learner's code becomes a CheckFailed that starts with ``what``.
    """
    with tf.GradientTape(persistent=True) as tape:
        for tensor in tf.nest.flatten(args):
            if tf.is_tensor(tensor) and tensor.dtype.is_floating:
                tape.watch(tensor)
        result = call_learner(what, function, *args, **kwargs)

    def gradient(x):
        if not tf.is_tensor(result):
            return None
        try:
            return tape.gradient(result, x)
        except Exception:  # e.g. an integer result: no gradient
            return None

    return result, gradient


# --- a model's last activation (chapters 01-03) ------------------------------------------------------


def final_activation(model):
    """The name of the activation that ``model`` applies last ('linear' for none), or None if unreadable.

    Follows the output back through reshaping, dropout and normalisation layers, and into nested models.
    """
    activation_layers = {keras.layers.ReLU: "relu", keras.layers.Softmax: "softmax",
                         keras.layers.LeakyReLU: "leaky_relu", keras.layers.ELU: "elu"}
    try:
        step = model.layers[-1] if isinstance(model, keras.Sequential) else model.outputs[0]._keras_history.operation
        producers = _producers(model)
        while isinstance(step, _NO_ACTIVATION):
            step = producers.get(step)
        if isinstance(step, keras.Model):
            return final_activation(step)
        if isinstance(step, _WEIGHTED + (keras.layers.Activation,)):
            return step.activation.__name__
        return activation_layers.get(type(step))
    except Exception:  # a model built in a way this reader does not know: say nothing rather than guess
        return None


def random_at_inference_message(model, inputs, what):
    """A message if ``model(inputs)``, called as a notebook calls it (no ``training=``), gives two different
    outputs for the same ``inputs``, else None."""
    first, second = (np.asarray(call_learner(f"{what} failed on a batch of shape {inputs.shape}", model, inputs))
                     for _ in range(2))
    if np.array_equal(first, second):
        return None
    return (f"{what} gives a different output each time it sees the same input, outside training: a "
            "Dropout or GaussianNoise layer called with training=True stays on when the model is used. "
            "Call such layers without `training=` (Keras switches them on in fit only).")


# --- a function run as tf.data and a train step run it, with an unknown batch size ---------------------


def run_traced_without_batch_size(what, function, *arrays):
    """``function(*arrays)`` traced once as a ``tf.function`` whose inputs have an unknown batch size
    (as inside ``Dataset.map`` after ``.batch`` or a Keras ``train_step``), then run twice.

    Returns the two results. An error, raised while tracing or running, becomes a
    CheckFailed that starts with ``what`` and suggests ``tf.shape(x)`` when ``x.shape`` had a None in it.
    """
    specs = [tf.TensorSpec((None, *np.shape(a)[1:]), tf.float32) for a in arrays]
    compiled = tf.function(function, input_signature=specs)
    tensors = [tf.constant(a, tf.float32) for a in arrays]
    try:
        return [compiled(*tensors) for _ in range(2)]
    except Exception as error:
        if unfinished_exercise(error):
            raise
        detail = str(error).strip().splitlines()[-1].strip()
        if not detail.startswith(type(error).__name__):
            detail = f"{type(error).__name__}: {detail}"
        hint = (" The batch size is None while the function is traced: use tf.shape(x), which is known when "
                "it runs, instead of x.shape." if "None" in detail or "partially known" in detail else "")
        raise CheckFailed(f"{what}: {detail}.{hint}") from error


def take_bounded(dataset, limit, what):
    """The first elements of a learner's ``dataset``, at most ``limit`` of them, as a list.

    Never runs forever: more than ``limit`` elements, or an infinite cardinality (``.repeat()``),
    becomes a CheckFailed saying that one pass does not end. An error while reading becomes a
    CheckFailed starting with ``what``.
    """
    endless = (f"{what}: one pass over your dataset does not end (more than {limit} elements were read "
               "and it went on): is there a .repeat()? model.fit runs one pass per epoch; leave .repeat() out.")
    require(call_learner(what, dataset.cardinality) != tf.data.INFINITE_CARDINALITY, endless)
    elements = call_learner(what, lambda: list(dataset.take(limit + 1)))
    require(len(elements) <= limit, endless)
    return elements


def output_activation_message(model, wanted, what, consequence):
    """A message when the activation that ``model`` applies last is readable and is not ``wanted``, else None.

    This reads the model, not its outputs: a wrong activation is named whatever the random starting weights,
    where a range check of the outputs fails only when they happen to leave the range.
    """
    activation = final_activation(model)
    if activation is None or activation == wanted:
        return None
    ending = "no activation (a linear output)" if activation == "linear" else f"activation '{activation}'"
    return f"{what} ends with {ending}: {consequence} End it with activation='{wanted}'."


def pixel_output_message(model, outputs, what):
    """Why ``model``, whose ``outputs`` are a batch of images that should come out of a sigmoid, does not
    return pixels in [0, 1]; or None.

    A readable last activation other than a sigmoid or a softmax is named directly. Otherwise give a batch
    from inputs large enough to push the last layer far into both tails of its activation: then an
    unreadable missing, relu or tanh output leaves [0, 1], a sigmoid after a relu stays above 0.5 (whatever
    the weights), and a softmax shows as images whose pixels sum to 1 (or, over one channel, as an output of
    all ones).
    """
    if final_activation(model) != "softmax":  # a softmax is named by what it does, below
        message = output_activation_message(
            model, "sigmoid", what, "its values can fall outside [0, 1], and pixel intensities live in [0, 1] "
            "(a sigmoid maps any number into it).")
        if message is not None:
            return message
    flat = outputs.reshape(len(outputs), -1)
    if not np.all(np.isfinite(flat)):
        return f"{what} returns NaN or infinite values: is there a division or a log of something that can be 0?"
    if flat.min() < 0.0 or flat.max() > 1.0:
        return (f"{what} returns values in [{flat.min():.3g}, {flat.max():.3g}], outside [0, 1]: pixel intensities "
                "live in [0, 1], so the last layer needs activation='sigmoid' (a linear, relu or tanh output "
                "leaves that range).")
    if flat.shape[1] > 1 and np.allclose(flat.sum(axis=1), 1.0, atol=1e-3):
        return (f"the pixels of each image {what} returns sum to 1: a softmax makes all pixels share one unit "
                "of brightness. Use activation='sigmoid', which gives each pixel its own value in [0, 1].")
    if np.ptp(flat, axis=0).max() < 1e-6:
        return (f"{what} returns the same image whatever its input (every pixel {flat[0, 0]:.3g}): a softmax over "
                "a single channel is always 1. Use activation='sigmoid' on the last layer.")
    if flat.min() >= 0.5 - 1e-6:
        return (f"{what} never returns a value below 0.5, even for inputs that drive its last layer far: a sigmoid "
                "of something that is never negative (a relu output, or a second sigmoid) cannot draw a dark "
                "pixel. Apply one sigmoid to the last layer's raw output: activation='sigmoid' on that layer, "
                "with no relu before it.")
    return None


# --- training steps: calls, spies on the training flags and the noise -----------------------------------


def call_training_step(what, step, *args):
    """``call_learner`` for a training step: a GradientTape asked twice gets its own explanation."""
    try:
        return call_learner(what, step, *args)
    except CheckFailed as failure:
        if "non-persistent GradientTape" not in str(failure):
            raise
        raise CheckFailed(
            f"{what}: a GradientTape was asked for gradients twice. A tape gives one set of gradients: use "
            "one tape per network (one around the discriminator's loss, one around the generator's), or "
            "GradientTape(persistent=True).") from failure


class TrainingSpy(keras.layers.Layer):
    """Passes its input through and remembers the ``training`` flag of every call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flags = []

    def call(self, x, training=None):
        self.flags.append(training)
        return x


class NoiseSpy(keras.layers.Layer):
    """Passes its input through and keeps the last input it saw in ``seen`` (a variable of any shape,
    so that it also records inside a compiled function)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = tf.Variable(tf.zeros((0, 0)), shape=tf.TensorShape(None), trainable=False)

    def call(self, x):
        self.seen.assign(x)
        return x


def require_noise_per_image(noise, n, latent_dim):
    """The noise one training step gave the generator is one standard normal vector per real image
    (decisive for ``n * latent_dim >= 500``)."""
    require(noise.shape == (n, latent_dim),
            f"the generator got noise of shape {noise.shape} for a batch of {n} real images: draw one noise "
            "vector per real image, shape (batch_size, latent_dim) with batch_size = tf.shape(real_images)[0], "
            "not a fixed number.")
    require(not np.allclose(noise, noise[:1]),
            "every image of the batch got the same noise vector, so all fakes of a step are one image: "
            "draw (batch_size, latent_dim) numbers, not one vector repeated.")
    # With n * latent_dim >= 500 draws, a standard normal's mean lies within 0.3 of 0 and its spread
    # within 0.7-1.3 by more than six standard errors; uniform noise (std 0.29 or 0.58) lies far outside.
    require(abs(noise.mean()) < 0.3 and 0.7 < noise.std() < 1.3,
            f"the noise has mean {noise.mean():.2f} and standard deviation {noise.std():.2f}: draw it from "
            "the standard normal distribution (tf.random.normal), the one the generator is sampled from later.")


def require_fresh_noise_when_compiled(step, real_images, spy):
    """``step(real_images)``, compiled as ``fit`` compiles a train step, feeds the generator new noise
    (recorded by the NoiseSpy ``spy``) at every call."""
    def step_then_noise(images):
        step(images)
        return spy.seen.read_value()

    first, second = run_compiled_twice("train_step, compiled by tf.function as in training, raised",
                                       step_then_noise, real_images)
    require(not np.array_equal(first, second),
            "the compiled train step feeds the generator the same noise at every step: NumPy (or Python) "
            "random numbers inside a tf.function are drawn once, when it is traced, and frozen into the "
            "graph. Draw the noise with TensorFlow or Keras (tf.random.normal, keras.random.normal).")


# --- classifier-free guidance (chapters 11 and 15) ---------------------------------------------------


def guidance_labels_verdict(label_calls, labels, null_label, network):
    """Name what is wrong with the labels a guided prediction gave the ``network`` (its calls' labels, in
    ``label_calls``) when asked for ``labels``, if anything."""
    require(label_calls, f"the {network} was never called: predict with and without the label.")
    seen = np.concatenate([np.ravel(call) for call in label_calls])
    requested = [call for call in label_calls if np.array_equal(np.ravel(call), labels)]
    require(null_label in seen or len(requested) < 2,
            f"both predictions got the requested labels: the unconditional branch is the {network}'s answer for "
            f"the 'no label' class, labels = NULL_LABEL ({null_label}) for every example, e.g. "
            "tf.fill(tf.shape(labels), NULL_LABEL).")
    require(null_label in seen,
            f"the {network} never got the 'no label' class {null_label} (NULL_LABEL): the unconditional prediction "
            "is its answer for labels = NULL_LABEL everywhere, not for a real digit such as 0.")
    require(set(labels) <= set(seen), f"the {network} never got the requested labels: the conditional prediction "
                                      f"is the {network}'s answer for [x_t, t, labels].")


def guidance_mistakes(conditional, unconditional, scale, symbol, what):
    """(wrong guided prediction, message) for the usual mistakes of classifier-free guidance, whose right answer
    is ``unconditional + scale * (conditional - unconditional)``; ``symbol`` ("eps", "v") and ``what`` ("noise",
    "velocity") name the predictions in the messages."""
    formula = f"{symbol}_uncond + scale * ({symbol}_cond - {symbol}_uncond)"
    return [
        (conditional + scale * (unconditional - conditional),
         f"the guidance weight is on the wrong branch: start from the UNCONDITIONAL {what} and move towards the "
         f"conditional one, {formula}."),
        ((1 + scale) * conditional - scale * unconditional,
         f"you used (1 + w) * {symbol}_cond - w * {symbol}_uncond with w = scale: that is Ho & Salimans' weight "
         f"w = scale - 1. Here scale = 1 must give the plain conditional {what}: {formula}."),
        (unconditional + scale * conditional,
         f"the unconditional {what} is not subtracted inside the bracket: {formula}."),
        (scale * conditional, f"the unconditional {what} is missing: {formula}."),
        (conditional, f"you return the conditional {what} alone, whatever the scale: mix the two, {formula}."),
        (unconditional, f"you return the unconditional {what} alone, whatever the scale: mix the two, {formula}."),
    ]
