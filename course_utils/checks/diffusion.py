"""Checks for chapter 11, diffusion models.

Every check runs the learner's function on a small made-up noise schedule (``toy_schedule``: eight
steps whose alpha_t and alpha-bar_t differ clearly), compares the answer with a NumPy reference
and, when it differs, with the answers the usual mistakes give (alpha_t where alpha-bar_t belongs,
a missing square root, t off by one, noise at the final step, the wrong variance, the guidance
weight on the wrong branch) to name the most likely one.

A schedule is a dict of NumPy arrays of length T + 1, indexed by the step t = 0, ..., T:
``betas`` (beta_0 = 0), ``alphas`` = 1 - betas and ``alpha_bars`` (the running product, alpha-bar_0 = 1).

The chapter runs the same functions on images (N, 28, 28, 1) and, in section 5, on latent codes (N, 32):
each check tries both (``DATA_SHAPES``, smaller here), so an answer that works only for images fails here,
not forty cells later.
"""

import numpy as np

from course_utils.checks._learner import guidance_labels_verdict, guidance_mistakes, run_compiled_twice
from course_utils.checks._numeric import close
from course_utils.checks._verdict import (CheckFailed, call_with_stand_ins, learner_array, name_mistake, passed,
                                          require, scalar_result)

NULL_LABEL = 10
"""The label that means "no label" (the unconditional branch of classifier-free guidance)."""

DATA_SHAPES = {"images": (4, 4, 1), "latent codes": (32,)}
"""The shapes of one example the checks use, as the chapter's images (28, 28, 1) and latent codes (32,)."""

_ANY_SHAPE = "Section 5 samples latent codes with the same function: write it for x_t of any shape."
_BROADCAST = ("pick alpha-bar_t for each example (tf.gather(schedule['alpha_bars'], t), shape (N,)) and reshape it "
              "to (N,) followed by a 1 for every other axis of x0: (N, 1, 1, 1) for images, (N, 1) for latent "
              "codes, e.g. tf.reshape(alpha_bar, [-1] + [1] * (len(x0.shape) - 1)) (the helper per_example).")


def toy_schedule(steps=8):
    """A short linear schedule (betas 0.05 ... 0.4) whose alphas and alpha-bars differ clearly."""
    betas = np.concatenate([[0.0], np.linspace(0.05, 0.4, steps)])
    alphas = 1.0 - betas
    return {"betas": betas.astype("float32"), "alphas": alphas.astype("float32"),
            "alpha_bars": np.cumprod(alphas).astype("float32")}


def _examples(kind, n, seed):
    """``n`` examples of ``DATA_SHAPES[kind]`` in [-1, 1] and standard normal values of the same shape."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, *DATA_SHAPES[kind]))
    return x, rng.normal(size=x.shape)


def _per_example(values, t, ndim):
    """``values[t]`` shaped to broadcast over examples of ``ndim`` axes (NumPy reference)."""
    return np.asarray(values, dtype=np.float64)[t].reshape((-1,) + (1,) * (ndim - 1))


# --- exercise 1: the closed-form noising ---------------------------------------------------------


def noised_reference(x0, t, noise, schedule):
    """sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise, each example at its own t (NumPy)."""
    alpha_bar = _per_example(schedule["alpha_bars"], t, np.ndim(x0))
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1.0 - alpha_bar) * noise


def _add_noise_mistakes(x0, t, noise, schedule):
    """(wrong x_t, message) for the usual mistakes of add_noise."""
    alpha, alpha_bar = (_per_example(schedule[key], t, x0.ndim) for key in ("alphas", "alpha_bars"))
    steps = len(schedule["alpha_bars"]) - 1
    shifted = {shift: _per_example(schedule["alpha_bars"], np.clip(t + shift, 0, steps), x0.ndim) for shift in (-1, 1)}
    one_step = [(np.sqrt(a) * x0 + np.sqrt(1 - a) * noise,
                 f"every example was noised at the same step ({step}): each example has its own t, so pick "
                 "alpha-bar_t per example, tf.gather(schedule['alpha_bars'], t), not one value for the batch.")
                for step, a in enumerate(schedule["alpha_bars"].astype(np.float64))]
    return one_step + [
        (np.sqrt(alpha) * x0 + np.sqrt(1 - alpha) * noise,
         "you used alpha_t where alpha-bar_t belongs: alpha_t is the signal kept by ONE step, alpha-bar_t "
         "(schedule['alpha_bars'][t]) the signal kept after all t steps, and q(x_t | x_0) jumps there at once."),
        (alpha_bar * x0 + (1 - alpha_bar) * noise,
         "the square roots are missing: alpha-bar_t and 1 - alpha-bar_t are VARIANCES; the image is scaled "
         "by sqrt(alpha-bar_t) and the noise by sqrt(1 - alpha-bar_t)."),
        (np.sqrt(alpha_bar) * x0 + (1 - alpha_bar) * noise,
         "the square root on the noise's factor is missing: scale the noise by sqrt(1 - alpha-bar_t), the "
         "standard deviation, not by the variance 1 - alpha-bar_t."),
        (alpha_bar * x0 + np.sqrt(1 - alpha_bar) * noise,
         "the square root on the image's factor is missing: scale x0 by sqrt(alpha-bar_t), so that signal "
         "and noise variances add up to 1."),
        (np.sqrt(1 - alpha_bar) * x0 + np.sqrt(alpha_bar) * noise,
         "the two factors are swapped: the IMAGE is scaled by sqrt(alpha-bar_t) (close to 1 at small t) "
         "and the NOISE by sqrt(1 - alpha-bar_t)."),
        (x0 + np.sqrt(1 - alpha_bar) * noise,
         "x0 is not scaled down: multiply it by sqrt(alpha-bar_t), or the variance of x_t grows with t "
         "instead of staying near 1."),
        (np.sqrt(shifted[-1]) * x0 + np.sqrt(1 - shifted[-1]) * noise,
         "t is off by one: you read alpha-bar at t - 1. The schedule arrays have T + 1 entries and index 0 "
         "is the clean image, so alpha-bar_t is schedule['alpha_bars'][t]."),
        (np.sqrt(shifted[1]) * x0 + np.sqrt(1 - shifted[1]) * noise,
         "t is off by one: you read alpha-bar at t + 1. The schedule arrays have T + 1 entries and index 0 "
         "is the clean image, so alpha-bar_t is schedule['alpha_bars'][t]."),
    ]


def check_add_noise(add_noise):
    """``add_noise(x0, t, noise, schedule)``: x_t from q(x_t | x_0) in closed form, one t per example, for
    images and latent codes, given as tensors (training) or NumPy arrays (the chapter's plots)."""
    import tensorflow as tf

    schedule = toy_schedule()
    t = np.array([1, 2, 3, 4, 5, 6, 7, 8, 3, 6])

    def run(kind, x0, noise, as_tensors=True):
        given = "tensors" if as_tensors else "NumPy arrays"
        args = ((tf.constant(x0, tf.float32), tf.constant(t, tf.int32), tf.constant(noise, tf.float32))
                if as_tensors else (x0.astype("float32"), t.astype("int32"), noise.astype("float32")))
        what = f"add_noise on {kind} of shape {x0.shape} ({given}) with t of shape {t.shape}"
        codes_hint = "Section 5 noises latent codes with the same function: " + _BROADCAST
        result = call_with_stand_ins(f"calling {what}", add_noise, *args, schedule,
                                     hint="" if kind == "images" else codes_hint)
        return learner_array(result, what, shape=x0.shape, hint="x_t has the shape of x0: " + _BROADCAST)

    x0, noise = _examples("images", len(t), seed=0)
    got = run("images", x0, noise)
    require(close(got, run("images", x0, noise)),
            "add_noise gives a different x_t for the same inputs: it draws noise of its own. Use the `noise` it is "
            "given: the training loss draws that noise and compares the denoiser's prediction with it.")
    want = noised_reference(x0, t, noise, schedule)
    name_mistake(got, want, _add_noise_mistakes(x0, t, noise, schedule),
                 f"x_t differs from sqrt(alpha-bar_t) * x0 + sqrt(1 - alpha-bar_t) * noise (largest difference "
                 f"{np.max(np.abs(got - want)):.3g}). Take alpha-bar_t = schedule['alpha_bars'][t] for each "
                 "example: " + _BROADCAST)
    codes, code_noise = _examples("latent codes", len(t), seed=1)
    got_codes = run("latent codes", codes, code_noise)
    require(close(got_codes, noised_reference(codes, t, code_noise, schedule)),
            f"add_noise is right on images but not on latent codes of shape {codes.shape}, which section 5 noises "
            "with the same function: " + _BROADCAST)
    require(close(run("images", x0, noise, as_tensors=False), want),
            "add_noise is right on tensors but not on NumPy arrays, which the chapter's plots give it: compute "
            "with TensorFlow operations (tf.gather, tf.reshape, tf.sqrt), which accept both.")
    passed("add_noise = sqrt(alpha-bar_t) * x0 + sqrt(1 - alpha-bar_t) * noise, each example at its own t, "
           "on images and on latent codes")


# --- exercise 2: the training loss ---------------------------------------------------------------


class SpyDenoiser:
    """Stands in for the denoiser: records what it is given and predicts the true noise plus ``offset``.

    It knows the clean batch ``x0``, so it can read the noise back from x_t (assuming the closed form
    of exercise 1); the loss of a correct ``diffusion_loss`` is then exactly ``offset ** 2``.
    """

    def __init__(self, x0, schedule, offset):
        self.x0, self.schedule, self.offset = x0, schedule, offset
        self.calls = []

    def implied_noise(self, x_t, t):
        alpha_bar = _per_example(self.schedule["alpha_bars"], t, x_t.ndim)
        with np.errstate(divide="ignore", invalid="ignore"):  # t = 0 (no noise) is named by the check
            return (x_t - np.sqrt(alpha_bar) * self.x0) / np.sqrt(1.0 - alpha_bar)

    def __call__(self, *inputs, training=None):
        import tensorflow as tf

        require(len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and len(inputs[0]) == 3,
                "call the denoiser with ONE list of three inputs: denoiser([x_t, t, labels], training=True).")
        x_t, t, labels = (np.asarray(value) for value in inputs[0])
        self.calls.append({"x_t": x_t.astype(np.float64), "t": t, "labels": labels, "training": training})
        require(np.issubdtype(t.dtype, np.integer),
                f"the steps t you give the denoiser are {t.dtype}: draw whole numbers, "
                "tf.random.uniform([n], 1, T + 1, dtype=tf.int32).")
        require(t.shape == (len(self.x0),),
                f"the denoiser got t of shape {t.shape}; draw one step per example, shape ({len(self.x0)},).")
        require(t.min() >= 0 and t.max() < len(self.schedule["alpha_bars"]),
                f"your t runs from {t.min()} to {t.max()}, outside the schedule's steps 0..T.")
        noise = self.implied_noise(x_t.astype(np.float64), t)
        return tf.constant(noise + self.offset, tf.float32)


def _noising_verdict(call, schedule):
    """Name what is wrong with the steps the loss gave the denoiser, if anything."""
    t = call["t"]
    steps = len(schedule["alpha_bars"]) - 1
    require(len(np.unique(t)) > 1, "every example got the same t: draw one t per example, shape (N,).")
    require(t.min() >= 1, "t is off by one: you draw t = 0, which is the clean image (nothing to denoise). "
                          f"Draw t from 1 to T: tf.random.uniform([n], 1, T + 1, dtype=tf.int32), T = {steps}.")
    require(t.max() == steps,
            f"t never reaches T = {steps}: the upper bound of tf.random.uniform is EXCLUSIVE, so write "
            "maxval=T + 1 (T = len(schedule['alpha_bars']) - 1), or the model never learns the noisiest step, "
            "where sampling starts.")


def _noise_statistics_verdict(spy, call):
    """The noise read back from x_t must be standard normal, one value per example and per entry."""
    noise = spy.implied_noise(call["x_t"], call["t"])
    per_example = noise.reshape(len(noise), -1)
    require(not np.allclose(per_example, per_example[:, :1], atol=1e-3),
            "x_t is not noisy, or all entries of an example got the same noise value: draw the noise with the "
            "shape of the whole batch, tf.random.normal(tf.shape(x0)), and noise x0 with your add_noise.")
    require(not np.allclose(per_example, per_example[:1], atol=1e-3),
            "every example of the batch got the same noise: you drew noise for ONE example (e.g. of shape "
            "tf.shape(x0)[1:] or [1, ...]) and broadcast it over the batch. Draw tf.random.normal(tf.shape(x0)), "
            "so each example gets its own, or the denoiser sees one noise pattern per step.")
    for step in np.unique(call["t"]):
        values = noise[call["t"] == step]
        mean, std = values.mean(), values.std()
        require(abs(mean) < 0.15 and abs(std - 1) < 0.15,
                f"at t = {step} the noisy batch is not sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) * noise with "
                f"standard normal noise (the noise read back has mean {mean:.2f}, std {std:.2f}). Noise x0 with "
                "your add_noise from exercise 1 and tf.random.normal noise.")


def _spied_loss(diffusion_loss, kind, schedule, n, offset):
    """``diffusion_loss`` run on ``n`` examples of ``kind`` (a key of DATA_SHAPES), all 0.6, with a SpyDenoiser
    that misses the noise by ``offset``: returns (x0, labels, the spy's one call, the loss), once the denoiser
    was called once with an x_t of the shape of x0."""
    import tensorflow as tf

    x0 = np.full((n, *DATA_SHAPES[kind]), 0.6)
    labels = np.arange(n) % 10
    spy = SpyDenoiser(x0, schedule, offset)
    codes_hint = ("Section 5 trains on latent codes with the same loss: write it for x0 of any shape (tf.shape(x0), "
                  "your add_noise).")
    loss = call_with_stand_ins(f"calling diffusion_loss(denoiser, x0, labels, schedule) on {kind} of shape {x0.shape}",
                               diffusion_loss, spy, tf.constant(x0, tf.float32), tf.constant(labels, tf.int32),
                               schedule, hint="" if kind == "images" else codes_hint)
    require(loss is not None, "diffusion_loss returned None: did you forget `return`?")
    require(len(spy.calls) > 0, "diffusion_loss never called the denoiser: predict the noise with "
                                "denoiser([x_t, t, labels], training=True).")
    require(len(spy.calls) == 1, f"diffusion_loss called the denoiser {len(spy.calls)} times; once is enough.")
    call = spy.calls[0]
    require(call["x_t"].shape == x0.shape,
            f"on {kind} of shape {x0.shape} the denoiser got x_t of shape {call['x_t'].shape}: x_t has the shape "
            "of x0. Draw noise of shape tf.shape(x0) and noise x0 with your add_noise"
            + ("." if kind == "images" else ", which must work for latent codes too: " + _BROADCAST))
    return x0, labels, call, loss


def _loss_verdict(diffusion_loss, kind, schedule):
    """Run ``diffusion_loss`` on a batch of ``kind`` (a key of DATA_SHAPES) with a SpyDenoiser and name what
    is wrong with what the denoiser got or what the loss returned."""
    offset = 0.5
    _spied_loss(diffusion_loss, kind, schedule, 12, offset)  # a small batch first: a shape error stays small
    x0, labels, call, loss = _spied_loss(diffusion_loss, kind, schedule, 4000, offset)
    spy = SpyDenoiser(x0, schedule, offset)
    _noising_verdict(call, schedule)
    _noise_statistics_verdict(spy, call)
    require(np.array_equal(call["labels"], labels),
            "the denoiser did not get the labels it was given: pass `labels` unchanged (the training step "
            "already replaced some of them by the 'no label' class).")
    require(call["training"] is True, "call the denoiser with training=True inside the loss: it is the "
                                      "training step's forward pass.")
    value = scalar_result(loss, "diffusion_loss")
    prediction = spy.implied_noise(call["x_t"], call["t"]) + offset
    true_noise = prediction - offset
    want = offset**2
    candidates = [
        (np.mean((x0 - prediction) ** 2),
         "your loss compares the prediction with the clean image x0: the denoiser predicts the NOISE, so the "
         "loss is the mean of (noise - predicted_noise)^2."),
        (np.mean((call["x_t"] - prediction) ** 2),
         "your loss compares the prediction with the noisy x_t: compare it with the noise you drew."),
        (np.sum((true_noise - prediction) ** 2),
         "your loss is a SUM of squared errors: take the mean (tf.reduce_mean), so its size does not depend "
         "on the batch or the image size."),
        (np.mean(np.abs(true_noise - prediction)),
         "your loss is a mean ABSOLUTE error: the simple loss of Ho et al. is the mean SQUARED error."),
        (np.mean(np.sum((true_noise - prediction) ** 2, axis=tuple(range(1, x0.ndim)))),
         "your loss sums over the pixels before averaging: take the mean over every value."),
    ]
    for wrong, message in candidates:
        if not np.isclose(wrong, want, rtol=1e-3) and np.isclose(value, wrong, rtol=1e-3):
            raise CheckFailed(message)
    require(np.isclose(value, want, rtol=1e-3),
            f"with predictions that miss the noise by {offset} everywhere the loss should be {want:g} (mean "
            f"squared error); yours is {value:.4g}. Return tf.reduce_mean(tf.square(noise - predicted_noise)).")


def check_diffusion_loss(diffusion_loss):
    """``diffusion_loss(denoiser, x0, labels, schedule)``: the simple loss of Ho et al. (2020), on images and
    on latent codes, drawing fresh t and noise at every call of the compiled training step."""
    schedule = toy_schedule()
    for kind in DATA_SHAPES:
        _loss_verdict(diffusion_loss, kind, schedule)
    _fresh_randomness_verdict(diffusion_loss, schedule)
    passed("diffusion_loss draws t in 1..T and standard normal noise per example and returns the mean squared "
           "error of the predicted noise, on images and on latent codes")


class _GraphSpy:
    """Stands in for the denoiser inside a compiled function: keeps the last t and x_t it was given in
    variables (which record inside a tf.function too) and predicts zeros."""

    def __init__(self):
        import tensorflow as tf

        self.t = tf.Variable(tf.zeros([0], tf.int32), shape=tf.TensorShape(None), trainable=False)
        self.x_t = tf.Variable(tf.zeros([0]), shape=tf.TensorShape(None), trainable=False)

    def __call__(self, inputs, training=None):
        import tensorflow as tf

        x_t, t, _ = inputs
        self.t.assign(tf.cast(t, tf.int32))
        self.x_t.assign(tf.cast(x_t, tf.float32))
        return tf.zeros_like(x_t)


def _fresh_randomness_verdict(diffusion_loss, schedule):
    """Inside tf.function (as in train_step) two calls must draw different t AND different noise: NumPy or
    Python draws happen once, while tracing, and are frozen into the graph."""
    import tensorflow as tf

    spy = _GraphSpy()
    x0 = tf.zeros((64, *DATA_SHAPES["images"]))  # x_t = sqrt(1 - alpha-bar_t) * noise: the noise reads back
    labels = tf.zeros((64,), tf.int32)

    def loss_then_draws(images):
        diffusion_loss(spy, images, labels, schedule)
        return spy.t.read_value(), spy.x_t.read_value()

    (t_1, x_t_1), (t_2, x_t_2) = run_compiled_twice(
        "diffusion_loss, compiled by tf.function as in train_step, raised", loss_then_draws, x0)
    frozen = [name for name, same in (("t", np.array_equal(t_1, t_2)),
                                      ("noise", np.allclose(*(_implied_noise(x_t, t, schedule)
                                                                  for x_t, t in ((x_t_1, t_1), (x_t_2, t_2))))))
              if same]
    require(not frozen,
            f"inside tf.function (as in train_step) your loss draws the same {' and '.join(frozen)} at every call: "
            "NumPy (or Python) random numbers are drawn once, when the function is traced, and then repeat "
            "forever. Draw with tf.random.uniform and tf.random.normal.")


def _implied_noise(x_t, t, schedule):
    """The noise in x_t = sqrt(1 - alpha-bar_t) * noise (x0 = 0), per example (NumPy)."""
    return np.asarray(x_t, np.float64) / np.sqrt(1.0 - _per_example(schedule["alpha_bars"], t, np.ndim(x_t)))


# --- exercise 3: one DDPM reverse step -----------------------------------------------------------


def ddpm_step_reference(x_t, t, predicted_noise, z, schedule, variance="beta"):
    """One ancestral step x_t -> x_{t-1} (Ho et al. 2020, Algorithm 2), sigma_t^2 = beta_t or the
    posterior variance ("posterior"); no noise at t = 1 (NumPy)."""
    beta, alpha, alpha_bar = (float(schedule[key][t]) for key in ("betas", "alphas", "alpha_bars"))
    mean = (x_t - beta / np.sqrt(1.0 - alpha_bar) * predicted_noise) / np.sqrt(alpha)
    if t == 1:
        return mean
    if variance == "beta":
        sigma = np.sqrt(beta)
    else:
        sigma = np.sqrt((1.0 - float(schedule["alpha_bars"][t - 1])) / (1.0 - alpha_bar) * beta)
    return mean + sigma * z


def _ddpm_mistakes(x_t, t, eps, z, schedule):
    """(wrong x_{t-1}, message) for the usual mistakes in one DDPM step at t > 1."""
    beta, alpha, alpha_bar = (float(schedule[key][t]) for key in ("betas", "alphas", "alpha_bars"))
    sigma = np.sqrt(beta)

    def step(scale, noise_factor, sigma_used):
        return (x_t - noise_factor * eps) / scale + sigma_used * z

    previous = ddpm_step_reference(x_t, t - 1, eps, z, schedule)
    following = ddpm_step_reference(x_t, t + 1, eps, z, schedule)
    return [
        (step(np.sqrt(alpha_bar), beta / np.sqrt(1 - alpha_bar), sigma),
         "you divide by sqrt(alpha-bar_t) where sqrt(alpha_t) belongs: one reverse step undoes ONE forward "
         "step, whose signal factor is sqrt(alpha_t)."),
        (step(np.sqrt(alpha), beta / np.sqrt(1 - alpha), sigma),
         "you used alpha_t where alpha-bar_t belongs in the noise's factor: it is beta_t / sqrt(1 - alpha-bar_t), "
         "since the predicted noise is the noise of all t steps together."),
        (step(np.sqrt(alpha), beta / (1 - alpha_bar), sigma),
         "a square root is missing in the noise's factor: beta_t / sqrt(1 - alpha-bar_t)."),
        (step(alpha, beta / np.sqrt(1 - alpha_bar), sigma),
         "a square root is missing: divide by sqrt(alpha_t), not alpha_t."),
        (step(np.sqrt(alpha), beta / np.sqrt(1 - alpha_bar), beta),
         "the wrong variance: you scaled z by beta_t, a variance. The noise's standard deviation is "
         "sigma_t = sqrt(beta_t)."),
        (step(np.sqrt(alpha), beta / np.sqrt(1 - alpha_bar), np.sqrt(1 - alpha_bar)),
         "the wrong variance: sigma_t^2 is beta_t (the variance of one step), not 1 - alpha-bar_t (that of all "
         "t steps)."),
        (step(np.sqrt(alpha), beta / np.sqrt(1 - alpha_bar), 0.0),
         "no noise is added: an ancestral (DDPM) step adds sigma_t * z with sigma_t = sqrt(beta_t) at every "
         "step except the last (t = 1)."),
        (step(np.sqrt(alpha), -beta / np.sqrt(1 - alpha_bar), sigma),
         "the predicted noise is added instead of subtracted: x_{t-1} moves AWAY from the noise, "
         "(x_t - beta_t / sqrt(1 - alpha-bar_t) * predicted_noise) / sqrt(alpha_t)."),
        (previous, "t is off by one: you read the schedule at t - 1. In this step beta_t, alpha_t and "
                   "alpha-bar_t are schedule[...][t] (index 0 is the clean image)."),
        (following, "t is off by one: you read the schedule at t + 1; beta_t, alpha_t and alpha-bar_t are "
                    "schedule[...][t]."),
    ]


def check_ddpm_step(ddpm_step):
    """``ddpm_step(x_t, t, predicted_noise, z, schedule)``: x_{t-1} by ancestral sampling, on images and on
    latent codes."""
    import tensorflow as tf

    schedule = toy_schedule()

    def run(kind, x_t, eps, z, t):
        what = f"ddpm_step(x_t, t={t}, predicted_noise, z, schedule) on {kind} of shape {x_t.shape}"
        result = call_with_stand_ins(f"calling {what}", ddpm_step, tf.constant(x_t, tf.float32), t,
                                     tf.constant(eps, tf.float32), tf.constant(z, tf.float32), schedule,
                                     hint="" if kind == "images" else _ANY_SHAPE)
        return learner_array(result, what, shape=x_t.shape, hint="x_{t-1} has the shape of x_t.")

    (x_t, eps), (z, _) = _examples("images", 3, seed=1), _examples("images", 3, seed=2)
    t = 5
    got = run("images", x_t, eps, z, t)
    require(close(got, run("images", x_t, eps, z, t)),
            "ddpm_step gives a different x_{t-1} for the same inputs: it draws noise of its own and ignores the "
            "`z` it is given. Use z: the sampler draws it (from its own seeded generator, so that samples can be "
            "reproduced).")
    with_beta = ddpm_step_reference(x_t, t, eps, z, schedule, "beta")
    with_posterior = ddpm_step_reference(x_t, t, eps, z, schedule, "posterior")
    if not close(got, with_posterior):
        name_mistake(got, with_beta, _ddpm_mistakes(x_t, t, eps, z, schedule),
                     f"at t = {t} x_{{t-1}} differs from (x_t - beta_t / sqrt(1 - alpha-bar_t) * predicted_noise) "
                     f"/ sqrt(alpha_t) + sqrt(beta_t) * z (largest difference {np.max(np.abs(got - with_beta)):.3g}).")
    last = run("images", x_t, eps, z, 1)
    mean = ddpm_step_reference(x_t, 1, eps, z, schedule)
    require(not close(last, mean + np.sqrt(float(schedule["betas"][1])) * z),
            "noise is added at the final step: at t = 1 the step returns the mean alone (z = 0), or every sample "
            "ends with noise that no later step removes.")
    require(close(last, mean),
            f"at t = 1 x_0 should be (x_t - beta_1 / sqrt(1 - alpha-bar_1) * predicted_noise) / sqrt(alpha_1), with "
            f"no noise; yours differs by up to {np.max(np.abs(last - mean)):.3g}.")
    (codes, code_eps), (code_z, _) = _examples("latent codes", 3, seed=3), _examples("latent codes", 3, seed=4)
    variance = "beta" if close(got, with_beta) else "posterior"
    require(close(run("latent codes", codes, code_eps, code_z, t),
                  ddpm_step_reference(codes, t, code_eps, code_z, schedule, variance)),
            f"ddpm_step is right on images but not on latent codes of shape {codes.shape}. " + _ANY_SHAPE)
    which = "beta_t" if variance == "beta" else "the posterior variance"
    passed(f"ddpm_step: the mean (x_t - beta_t / sqrt(1 - alpha-bar_t) * eps) / sqrt(alpha_t), noise of variance "
           f"{which}, none at t = 1")


# --- exercise 4: one DDIM step -------------------------------------------------------------------


def ddim_step_reference(x_t, t, t_prev, predicted_noise, schedule):
    """Deterministic DDIM step (eta = 0) from t to t_prev (Song et al. 2021) (NumPy)."""
    alpha_bar, alpha_bar_prev = float(schedule["alpha_bars"][t]), float(schedule["alpha_bars"][t_prev])
    x0 = (x_t - np.sqrt(1.0 - alpha_bar) * predicted_noise) / np.sqrt(alpha_bar)
    return np.sqrt(alpha_bar_prev) * x0 + np.sqrt(1.0 - alpha_bar_prev) * predicted_noise


def _ddim_mistakes(x_t, t, t_prev, eps, schedule):
    """(wrong x_{t_prev}, message) for the usual mistakes in one DDIM step."""
    alphas, alpha_bars = schedule["alphas"].astype(np.float64), schedule["alpha_bars"].astype(np.float64)

    def step(a, a_prev, root=np.sqrt):
        x0 = (x_t - root(1 - a) * eps) / root(a)
        return root(a_prev) * x0 + root(1 - a_prev) * eps

    return [
        (step(alphas[t], alphas[t_prev]),
         "you used alpha_t where alpha-bar_t belongs: DDIM jumps between noise levels, and the noise level of "
         "step t is alpha-bar_t = schedule['alpha_bars'][t]."),
        (step(alpha_bars[t], alpha_bars[t_prev], root=lambda v: v),
         "the square roots are missing: the image is scaled by sqrt(alpha-bar) and the noise by "
         "sqrt(1 - alpha-bar)."),
        (np.sqrt(alpha_bars[t_prev]) * (x_t - (1 - alpha_bars[t]) * eps) / np.sqrt(alpha_bars[t])
         + np.sqrt(1 - alpha_bars[t_prev]) * eps,
         "a square root is missing in the predicted x0: (x_t - sqrt(1 - alpha-bar_t) * eps) / sqrt(alpha-bar_t)."),
        (step(alpha_bars[t], alpha_bars[t - 1]),
         f"you stepped to t - 1 = {t - 1} instead of t_prev = {t_prev}: DDIM skips steps, so read "
         "alpha-bar at t_prev."),
        (step(alpha_bars[t_prev], alpha_bars[t]),
         "t and t_prev are swapped: the predicted x0 uses alpha-bar_t (the current, noisier step), the "
         "result alpha-bar at t_prev."),
        (step(alpha_bars[t - 1], alpha_bars[t_prev - 1]),
         "t is off by one: you read alpha-bar at t - 1 and t_prev - 1; index 0 of the schedule is the clean "
         "image, so alpha-bar_t is schedule['alpha_bars'][t]."),
        ((x_t - np.sqrt(1 - alpha_bars[t]) * eps) / np.sqrt(alpha_bars[t]),
         "you return the predicted x0: a DDIM step goes to t_prev, sqrt(alpha-bar_prev) * x0 + "
         "sqrt(1 - alpha-bar_prev) * eps (only at t_prev = 0 is that x0 itself)."),
    ]


def check_ddim_step(ddim_step):
    """``ddim_step(x_t, t, t_prev, predicted_noise, schedule)``: deterministic DDIM from t to t_prev, on images
    and on latent codes."""
    import tensorflow as tf

    schedule = toy_schedule()

    def run(kind, x_t, eps, t, t_prev):
        what = f"ddim_step(x_t, t={t}, t_prev={t_prev}, predicted_noise, schedule) on {kind} of shape {x_t.shape}"
        result = call_with_stand_ins(f"calling {what}", ddim_step, tf.constant(x_t, tf.float32), t, t_prev,
                                     tf.constant(eps, tf.float32), schedule,
                                     hint="" if kind == "images" else _ANY_SHAPE)
        return learner_array(result, what, shape=x_t.shape, hint="The result has the shape of x_t.")

    x_t, eps = _examples("images", 3, seed=2)
    t, t_prev = 6, 3
    got = run("images", x_t, eps, t, t_prev)
    require(close(got, run("images", x_t, eps, t, t_prev)),
            "two calls with the same inputs give different results: a DDIM step (eta = 0) adds no fresh noise; "
            "its second term reuses the predicted noise, sqrt(1 - alpha-bar_prev) * predicted_noise.")
    want = ddim_step_reference(x_t, t, t_prev, eps, schedule)
    name_mistake(got, want, _ddim_mistakes(x_t, t, t_prev, eps, schedule),
                 f"from t = {t} to t_prev = {t_prev} the result differs from sqrt(alpha-bar_prev) * x0_hat + "
                 "sqrt(1 - alpha-bar_prev) * predicted_noise with x0_hat = (x_t - sqrt(1 - alpha-bar_t) * "
                 f"predicted_noise) / sqrt(alpha-bar_t) (largest difference {np.max(np.abs(got - want)):.3g}).")
    final = run("images", x_t, eps, 2, 0)
    want_final = ddim_step_reference(x_t, 2, 0, eps, schedule)
    require(close(final, want_final),
            "the last step (t_prev = 0) should return the predicted x0 (alpha-bar_0 = 1); yours differs by up to "
            f"{np.max(np.abs(final - want_final)):.3g}. Read alpha-bar_prev as schedule['alpha_bars'][t_prev].")
    codes, code_eps = _examples("latent codes", 3, seed=5)
    require(close(run("latent codes", codes, code_eps, t, t_prev),
                  ddim_step_reference(codes, t, t_prev, code_eps, schedule)),
            f"ddim_step is right on images but not on latent codes of shape {codes.shape}. " + _ANY_SHAPE)
    passed("ddim_step: predicted x0, then sqrt(alpha-bar_prev) * x0 + sqrt(1 - alpha-bar_prev) * eps, no fresh noise")


# --- exercise 5: the classifier-free guidance mix ------------------------------------------------


class LabelEcho:
    """Stands in for a denoiser: predicts a 'noise' that says which label it was given.

    Label y gives the value y + 1 everywhere, the 'no label' class gives ``UNCONDITIONAL``.
    It records the labels of every call.
    """

    UNCONDITIONAL = -2.0

    def __init__(self):
        self.label_calls = []

    def __call__(self, *inputs, training=None):
        import tensorflow as tf

        require(len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and len(inputs[0]) == 3,
                "call the denoiser with ONE list of three inputs: denoiser([x_t, t, labels], training=False).")
        x_t, _, labels = inputs[0]
        x_t, labels = tf.convert_to_tensor(x_t, tf.float32), tf.convert_to_tensor(labels)
        self.label_calls.append(np.asarray(labels))
        values = tf.where(labels == NULL_LABEL, self.UNCONDITIONAL, tf.cast(labels, tf.float32) + 1.0)
        return tf.zeros_like(x_t) + tf.reshape(values, [-1] + [1] * (len(x_t.shape) - 1))


def guided_reference(conditional, unconditional, scale):
    """eps_uncond + scale * (eps_cond - eps_uncond)."""
    return unconditional + scale * (conditional - unconditional)


def check_guided_noise(guided_noise):
    """``guided_noise(denoiser, x_t, t, labels, scale)``: classifier-free guidance (Ho & Salimans 2022), on
    images and on latent codes."""
    import tensorflow as tf

    labels = np.array([3, 7, 0, 9])
    t = np.full(len(labels), 5)
    for kind, scale in (("images", 3.0), ("images", 0.0), ("images", 1.0), ("latent codes", 3.0)):
        x_t = np.zeros((len(labels), *DATA_SHAPES[kind]))
        per_example = (-1,) + (1,) * (x_t.ndim - 1)
        conditional = np.broadcast_to((labels + 1.0).reshape(per_example), x_t.shape)
        unconditional = np.full(x_t.shape, LabelEcho.UNCONDITIONAL)
        echo = LabelEcho()
        what = f"guided_noise(denoiser, x_t, t, labels, scale={scale}) on {kind} of shape {x_t.shape}"
        codes_hint = "Section 5 guides the latent model with the same function: write it for x_t of any shape."
        result = call_with_stand_ins(f"calling {what}", guided_noise, echo, tf.constant(x_t, tf.float32),
                                     tf.constant(t, tf.int32), tf.constant(labels, tf.int32), scale,
                                     hint="" if kind == "images" else codes_hint)
        got = learner_array(result, what, shape=x_t.shape,
                            hint="One guided noise per example, of the shape of x_t (if you ran both branches in "
                                 "one batch of 2N, split it back into two halves).")
        guidance_labels_verdict(echo.label_calls, labels, NULL_LABEL, "denoiser")
        want = guided_reference(conditional, unconditional, scale)
        candidates = guidance_mistakes(conditional, unconditional, scale, "eps", "prediction")
        name_mistake(got, want, candidates,
                     f"with scale = {scale}, eps_cond = {labels + 1.0} and eps_uncond = {LabelEcho.UNCONDITIONAL} "
                     f"the guided noise should be {want.reshape(len(labels), -1)[:, 0]} for each example; yours "
                     f"is {got.reshape(len(labels), -1)[:, 0].round(4)}.")
    passed("guided_noise = eps_uncond + scale * (eps_cond - eps_uncond), the unconditional branch with NULL_LABEL, "
           "on images and on latent codes")
