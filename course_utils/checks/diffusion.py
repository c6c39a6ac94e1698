"""Checks for chapter 11, diffusion models.

Every check runs the learner's function on a small made-up noise schedule (``toy_schedule``: eight
steps whose alpha_t and alpha-bar_t differ clearly), compares the answer with a NumPy reference
and, when it differs, with the answers the usual mistakes give (alpha_t where alpha-bar_t belongs,
a missing square root, t off by one, noise at the final step, the wrong variance, the guidance
weight on the wrong branch) to name the most likely one.

A schedule is a dict of NumPy arrays of length T + 1, indexed by the step t = 0, ..., T:
``betas`` (beta_0 = 0), ``alphas`` = 1 - betas and ``alpha_bars`` (the running product, alpha-bar_0 = 1).
"""

import numpy as np

from course_utils.checks._verdict import CheckFailed, call_learner, passed, require, scalar_result

NULL_LABEL = 10
"""The label that means "no label" (the unconditional branch of classifier-free guidance)."""


def toy_schedule(steps=8):
    """A short linear schedule (betas 0.05 ... 0.4) whose alphas and alpha-bars differ clearly."""
    betas = np.concatenate([[0.0], np.linspace(0.05, 0.4, steps)])
    alphas = 1.0 - betas
    return {"betas": betas.astype("float32"), "alphas": alphas.astype("float32"),
            "alpha_bars": np.cumprod(alphas).astype("float32")}


def _as_array(result, what):
    """The learner's result as a float64 array, or a CheckFailed saying what came back instead."""
    require(result is not None, f"{what} returned None: did you forget `return`?")
    try:
        return np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"{what} should return a tensor of numbers; got {type(result).__name__}.") from error


def _close(a, b, tol=1e-4):
    return np.shape(a) == np.shape(b) and np.allclose(a, b, rtol=tol, atol=tol)


def _name_mistake(got, want, candidates, otherwise):
    """Return if ``got`` equals ``want``; else raise the message of the first candidate it equals."""
    if _close(got, want):
        return
    for wrong, message in candidates:
        if _close(got, wrong):
            raise CheckFailed(message)
    raise CheckFailed(otherwise)


def _call(what, function, *args):
    """``call_learner``, except that a verdict raised by one of our stand-ins inside the learner's code
    reaches the learner as it is, not wrapped in "raised CheckFailed"."""
    try:
        return call_learner(what, function, *args)
    except CheckFailed as failure:
        if isinstance(failure.__cause__, CheckFailed):
            raise failure.__cause__ from None
        raise


def _per_example(values, t, ndim):
    """``values[t]`` shaped to broadcast over examples of ``ndim`` axes (NumPy reference)."""
    return np.asarray(values, dtype=np.float64)[t].reshape((-1,) + (1,) * (ndim - 1))


# --- exercise 1: the closed-form noising ---------------------------------------------------------


def noised_reference(x0, t, noise, schedule):
    """sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) noise, each example at its own t (NumPy)."""
    alpha_bar = _per_example(schedule["alpha_bars"], t, np.ndim(x0))
    return np.sqrt(alpha_bar) * x0 + np.sqrt(1.0 - alpha_bar) * noise


def check_add_noise(add_noise):
    """``add_noise(x0, t, noise, schedule)``: x_t from q(x_t | x_0) in closed form, one t per example."""
    import tensorflow as tf

    schedule = toy_schedule()
    rng = np.random.default_rng(0)
    t = np.array([1, 2, 3, 4, 5, 6, 7, 8, 3, 6])
    x0 = rng.uniform(-1.0, 1.0, size=(len(t), 4, 4, 1))
    noise = rng.normal(size=x0.shape)
    got = _as_array(call_learner("calling add_noise(x0, t, noise, schedule) on images of shape "
                                 f"{x0.shape} with t of shape {t.shape}", add_noise,
                                 tf.constant(x0, tf.float32), tf.constant(t, tf.int32),
                                 tf.constant(noise, tf.float32), schedule), "add_noise")
    require(got.shape == x0.shape,
            f"for x0 of shape {x0.shape} and t of shape {t.shape} you return shape {got.shape}. x_t has the "
            "shape of x0: pick alpha-bar_t for each example (tf.gather(schedule['alpha_bars'], t)) and reshape "
            "it to (N, 1, 1, 1) so that it multiplies every pixel of its own image.")
    want = noised_reference(x0, t, noise, schedule)
    alpha, alpha_bar = (_per_example(schedule[key], t, x0.ndim) for key in ("alphas", "alpha_bars"))
    shifted = {shift: _per_example(schedule["alpha_bars"], np.clip(t + shift, 0, 8), x0.ndim) for shift in (-1, 1)}
    candidates = [
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
    _name_mistake(got, want, candidates,
                  f"x_t differs from sqrt(alpha-bar_t) * x0 + sqrt(1 - alpha-bar_t) * noise (largest difference "
                  f"{np.max(np.abs(got - want)):.3g}). Take alpha-bar_t = schedule['alpha_bars'][t] for each "
                  "example, reshaped to (N, 1, 1, 1).")
    passed("add_noise = sqrt(alpha-bar_t) * x0 + sqrt(1 - alpha-bar_t) * noise, each example at its own t")


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
    """Name what is wrong with the noisy batch the loss gave the denoiser, if anything."""
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
    """The noise read back from x_t must be standard normal at every step."""
    noise = spy.implied_noise(call["x_t"], call["t"])
    for step in np.unique(call["t"]):
        values = noise[call["t"] == step]
        mean, std = values.mean(), values.std()
        if np.allclose(values, values.flat[0], atol=1e-3):
            raise CheckFailed("x_t is not noisy: the denoiser must get add_noise(x0, t, noise, schedule) with "
                              "noise = tf.random.normal(tf.shape(x0)).")
        require(abs(mean) < 0.15 and abs(std - 1) < 0.15,
                f"at t = {step} the noisy batch is not sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) * noise with "
                f"standard normal noise (the noise read back has mean {mean:.2f}, std {std:.2f}). Noise x0 with "
                "your add_noise from exercise 1 and tf.random.normal noise.")


def check_diffusion_loss(diffusion_loss):
    """``diffusion_loss(denoiser, x0, labels, schedule)``: the simple loss of Ho et al. (2020)."""
    import tensorflow as tf

    schedule = toy_schedule()
    n, offset = 4000, 0.5
    x0 = np.full((n, 2, 2, 1), 0.6)
    labels = np.arange(n) % 10
    spy = SpyDenoiser(x0, schedule, offset)
    loss = _call("calling diffusion_loss(denoiser, x0, labels, schedule)", diffusion_loss, spy,
                        tf.constant(x0, tf.float32), tf.constant(labels, tf.int32), schedule)
    require(loss is not None, "diffusion_loss returned None: did you forget `return`?")
    require(len(spy.calls) > 0, "diffusion_loss never called the denoiser: predict the noise with "
                                "denoiser([x_t, t, labels], training=True).")
    require(len(spy.calls) == 1, f"diffusion_loss called the denoiser {len(spy.calls)} times; once is enough.")
    call = spy.calls[0]
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
        (np.mean(np.sum((true_noise - prediction) ** 2, axis=(1, 2, 3))),
         "your loss sums over the pixels before averaging: take the mean over every value."),
    ]
    for wrong, message in candidates:
        if not np.isclose(wrong, want, rtol=1e-3) and np.isclose(value, wrong, rtol=1e-3):
            raise CheckFailed(message)
    require(np.isclose(value, want, rtol=1e-3),
            f"with predictions that miss the noise by {offset} everywhere the loss should be {want:g} (mean "
            f"squared error); yours is {value:.4g}. Return tf.reduce_mean(tf.square(noise - predicted_noise)).")
    _fresh_randomness_verdict(diffusion_loss, schedule)
    passed("diffusion_loss draws t in 1..T and standard normal noise per example and returns the mean squared "
           "error of the predicted noise")


def _fresh_randomness_verdict(diffusion_loss, schedule):
    """Inside tf.function (as in train_step) two calls must draw different t and noise."""
    import tensorflow as tf

    def zero_denoiser(inputs, training=None):
        return tf.zeros_like(inputs[0])

    x0 = tf.zeros((64, 2, 2, 1))
    labels = tf.zeros((64,), tf.int32)
    compiled = tf.function(lambda images: diffusion_loss(zero_denoiser, images, labels, schedule))
    first = call_learner("calling diffusion_loss inside tf.function (as train_step does)", compiled, x0)
    second = compiled(x0)
    require(float(first) != float(second),
            "inside tf.function (as in train_step) your loss draws the same t and noise on every call: draw "
            "them with tf.random.uniform and tf.random.normal, not with NumPy.")


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
    """``ddpm_step(x_t, t, predicted_noise, z, schedule)``: x_{t-1} by ancestral sampling."""
    import tensorflow as tf

    schedule = toy_schedule()
    rng = np.random.default_rng(1)
    x_t, eps, z = (rng.normal(size=(3, 4, 4, 1)) for _ in range(3))

    def run(t):
        what = f"calling ddpm_step(x_t, t={t}, predicted_noise, z, schedule)"
        result = call_learner(what, ddpm_step, tf.constant(x_t, tf.float32), t, tf.constant(eps, tf.float32),
                              tf.constant(z, tf.float32), schedule)
        got = _as_array(result, "ddpm_step")
        require(got.shape == x_t.shape, f"for x_t of shape {x_t.shape} you return shape {got.shape}; x_{{t-1}} "
                                        "has the shape of x_t.")
        return got

    t = 5
    got = run(t)
    with_beta = ddpm_step_reference(x_t, t, eps, z, schedule, "beta")
    with_posterior = ddpm_step_reference(x_t, t, eps, z, schedule, "posterior")
    if not _close(got, with_posterior):
        _name_mistake(got, with_beta, _ddpm_mistakes(x_t, t, eps, z, schedule),
                      f"at t = {t} x_{{t-1}} differs from (x_t - beta_t / sqrt(1 - alpha-bar_t) * predicted_noise) "
                      f"/ sqrt(alpha_t) + sqrt(beta_t) * z (largest difference {np.max(np.abs(got - with_beta)):.3g}).")
    last = run(1)
    mean = ddpm_step_reference(x_t, 1, eps, z, schedule)
    require(not _close(last, mean + np.sqrt(float(schedule["betas"][1])) * z),
            "noise is added at the final step: at t = 1 the step returns the mean alone (z = 0), or every sample "
            "ends with noise that no later step removes.")
    require(_close(last, mean),
            f"at t = 1 x_0 should be (x_t - beta_1 / sqrt(1 - alpha-bar_1) * predicted_noise) / sqrt(alpha_1), with "
            f"no noise; yours differs by up to {np.max(np.abs(last - mean)):.3g}.")
    which = "beta_t" if _close(got, with_beta) else "the posterior variance"
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
    """``ddim_step(x_t, t, t_prev, predicted_noise, schedule)``: deterministic DDIM from t to t_prev."""
    import tensorflow as tf

    schedule = toy_schedule()
    rng = np.random.default_rng(2)
    x_t, eps = rng.normal(size=(3, 4, 4, 1)), rng.normal(size=(3, 4, 4, 1))

    def run(t, t_prev):
        what = f"calling ddim_step(x_t, t={t}, t_prev={t_prev}, predicted_noise, schedule)"
        result = call_learner(what, ddim_step, tf.constant(x_t, tf.float32), t, t_prev,
                              tf.constant(eps, tf.float32), schedule)
        got = _as_array(result, "ddim_step")
        require(got.shape == x_t.shape, f"for x_t of shape {x_t.shape} you return shape {got.shape}; the result "
                                        "has the shape of x_t.")
        return got

    t, t_prev = 6, 3
    got = run(t, t_prev)
    require(_close(got, run(t, t_prev)),
            "two calls with the same inputs give different results: a DDIM step (eta = 0) adds no fresh noise; "
            "its second term reuses the predicted noise, sqrt(1 - alpha-bar_prev) * predicted_noise.")
    want = ddim_step_reference(x_t, t, t_prev, eps, schedule)
    _name_mistake(got, want, _ddim_mistakes(x_t, t, t_prev, eps, schedule),
                  f"from t = {t} to t_prev = {t_prev} the result differs from sqrt(alpha-bar_prev) * x0_hat + "
                  "sqrt(1 - alpha-bar_prev) * predicted_noise with x0_hat = (x_t - sqrt(1 - alpha-bar_t) * "
                  f"predicted_noise) / sqrt(alpha-bar_t) (largest difference {np.max(np.abs(got - want)):.3g}).")
    final = run(2, 0)
    want_final = ddim_step_reference(x_t, 2, 0, eps, schedule)
    require(_close(final, want_final),
            "the last step (t_prev = 0) should return the predicted x0 (alpha-bar_0 = 1); yours differs by up to "
            f"{np.max(np.abs(final - want_final)):.3g}. Read alpha-bar_prev as schedule['alpha_bars'][t_prev].")
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
        labels = tf.convert_to_tensor(labels)
        self.label_calls.append(np.asarray(labels))
        values = tf.where(labels == NULL_LABEL, self.UNCONDITIONAL, tf.cast(labels, tf.float32) + 1.0)
        return tf.zeros_like(tf.convert_to_tensor(x_t, tf.float32)) + tf.reshape(values, [-1, 1, 1, 1])


def guided_reference(conditional, unconditional, scale):
    """eps_uncond + scale * (eps_cond - eps_uncond)."""
    return unconditional + scale * (conditional - unconditional)


def check_guided_noise(guided_noise):
    """``guided_noise(denoiser, x_t, t, labels, scale)``: classifier-free guidance (Ho & Salimans 2022)."""
    import tensorflow as tf

    labels = np.array([3, 7, 0, 9])
    x_t = np.zeros((len(labels), 2, 2, 1))
    t = np.full(len(labels), 5)
    conditional = np.broadcast_to((labels + 1.0).reshape(-1, 1, 1, 1), x_t.shape)
    unconditional = np.full(x_t.shape, LabelEcho.UNCONDITIONAL)
    for scale in (3.0, 0.0, 1.0):
        echo = LabelEcho()
        result = _call(f"calling guided_noise(denoiser, x_t, t, labels, scale={scale})", guided_noise, echo,
                              tf.constant(x_t, tf.float32), tf.constant(t, tf.int32), tf.constant(labels, tf.int32),
                              scale)
        got = _as_array(result, "guided_noise")
        require(got.shape == x_t.shape,
                f"for x_t of shape {x_t.shape} you return shape {got.shape}: one guided noise per example "
                "(if you ran both branches in one batch of 2N, split it back into two halves).")
        seen = np.concatenate([np.ravel(call) for call in echo.label_calls]) if echo.label_calls else np.array([])
        require(len(seen) > 0, "the denoiser was never called: predict the noise with and without the label.")
        require(NULL_LABEL in seen,
                f"the denoiser never got the 'no label' class {NULL_LABEL} (NULL_LABEL): the unconditional "
                "prediction is the denoiser's answer for labels = NULL_LABEL everywhere, not for a real digit "
                "such as 0.")
        require(set(labels) <= set(seen), "the denoiser never got the requested labels: the conditional "
                                          "prediction is denoiser([x_t, t, labels]).")
        want = guided_reference(conditional, unconditional, scale)
        candidates = [
            (guided_reference(unconditional, conditional, scale),
             "the guidance weight is on the wrong branch: start from the UNCONDITIONAL prediction and move "
             "towards the conditional one, eps_uncond + scale * (eps_cond - eps_uncond)."),
            ((1 + scale) * conditional - scale * unconditional,
             "you used (1 + w) * eps_cond - w * eps_uncond with w = scale: that is Ho & Salimans' weight w = "
             "scale - 1. Here scale = 1 must give the plain conditional prediction: eps_uncond + scale * "
             "(eps_cond - eps_uncond)."),
            (unconditional + scale * conditional,
             "the unconditional prediction is not subtracted inside the bracket: eps_uncond + scale * "
             "(eps_cond - eps_uncond)."),
            (scale * conditional, "the unconditional prediction is missing: eps_uncond + scale * "
                                  "(eps_cond - eps_uncond)."),
        ]
        _name_mistake(got, want, [(w, m) for w, m in candidates if not _close(w, want)],
                      f"with scale = {scale}, eps_cond = {conditional[:, 0, 0, 0]} and eps_uncond = "
                      f"{LabelEcho.UNCONDITIONAL} the guided noise should be {want[:, 0, 0, 0]}; yours is "
                      f"{got[:, 0, 0, 0].round(4)}.")
    passed("guided_noise = eps_uncond + scale * (eps_cond - eps_uncond), the unconditional branch with NULL_LABEL")
