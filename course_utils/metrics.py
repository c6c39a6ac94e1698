"""Numbers that say how good a reconstruction or a generative model is.

- ``psnr``: peak signal-to-noise ratio of reconstructions (denoising, autoencoders).
- ``frechet_distance``: distance between two sets of feature vectors, each summarised by a
  Gaussian (the idea behind FID, Heusel et al. 2017).
- ``domain_classifier``: a small CNN per domain ("mnist", "svhn"), trained once on this machine
  and cached; its penultimate layer gives the features for the Frechet distance, its
  predictions give the class coverage of samples.
- ``class_coverage``: which digits a generator produces, and how evenly.
- ``confidently_classified``: the share of images to which the classifier gives one class a
  probability of at least 0.9: how many samples a reader would recognise as some digit.
- ``report_generative_quality``: the numbers a GAN/VAE chapter ends with, printed through
  ``course_utils.results.report``.

The classifier is trained the first time a run needs it (MNIST: 1-2 minutes on a 2-core CPU)
and prints its test accuracy; later runs load it from ``course_utils.data.cache_dir()`` and print
the stored accuracy. Smoke runs train a tiny classifier under a different file name, so a full
run never uses it. Because "trained now" and "loaded" print different lines, notebook cells
that call into this module belong in ``nbval-ignore-output`` cells.
"""

import json
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

from course_utils import data, results, runmode

NUM_CLASSES = 10
COVERAGE_SHARE = 0.1
"""A class counts as *covered* when it gets at least this fraction of the uniform share 1/10,
i.e. at least 1% of the samples: a generator that drew a digit only by accident does not
cover it."""
CONFIDENT_PROBABILITY = 0.9
"""An image counts as *confidently classified* when the domain classifier gives one class at
least this probability. Real MNIST test digits: about 97% (full classifier); blurred digits and
noise: far fewer."""

_IMAGE_SHAPES = {"mnist": (28, 28, 1), "svhn": (32, 32, 3)}
_CLASSIFIER_EPOCHS = {"mnist": 3, "svhn": 3}  # full run, all training images (MNIST: 99.15% test accuracy)
_SMOKE_EXAMPLES = 1024  # training (and test) images of a smoke classifier
_BATCH_SIZE = 128
_FEATURE_LAYER = "features"

_classifiers = {}  # (domain, mode, source) -> (classifier, feature model)
_real_references = {}  # (domain, n, mode, source) -> numbers of real images, see _real_reference
_test_features = {}  # (domain, n, mode, source) -> features of the first n real test images


# --- reconstructions ---------------------------------------------------------------------------


def psnr(reference, images, max_value=1.0):
    """Mean peak signal-to-noise ratio in dB: ``10 log10(max_value^2 / MSE)`` per image, then averaged.

    ``reference`` and ``images`` are batches of the same shape, first axis = image index, with
    values in ``[0, max_value]``. An image equal to its reference has infinite PSNR. Values that
    do not fit ``max_value`` (uint8 pixels with the default peak 1, a peak of 255 for images in
    [0, 1], tanh output, NaN) raise a ValueError that says what to change.
    """
    reference = np.asarray(reference, dtype=np.float64)
    images = np.asarray(images, dtype=np.float64)
    if not max_value > 0:
        raise ValueError(f"max_value={max_value} must be the positive peak value of the images, e.g. 1.0 or 255.")
    if reference.shape != images.shape:
        raise ValueError(
            f"psnr needs two batches of the same shape; got reference {reference.shape} and images "
            f"{images.shape}. Compare each image with its own clean reference."
        )
    if reference.ndim < 2 or len(reference) == 0:
        raise ValueError(
            f"psnr expects a non-empty batch of images (N, ...); got shape {reference.shape}. "
            "For a single image, add a batch axis: image[None]."
        )
    _check_psnr_range(reference, images, max_value)
    mse = np.mean((reference - images) ** 2, axis=tuple(range(1, reference.ndim)))
    with np.errstate(divide="ignore"):
        per_image = 10.0 * np.log10(max_value**2 / mse)
    return float(np.mean(per_image))


def _check_psnr_range(reference, images, max_value):
    """Raise a ValueError saying how to fix the batches unless their values fit ``max_value``."""
    for name, batch in (("reference", reference), ("images", images)):
        if not np.all(np.isfinite(batch)):
            raise ValueError(f"psnr: {name} contain NaN or inf values; the model that made them diverged.")
        low, high = batch.min(), batch.max()
        if low < -1e-3 * max_value:
            raise ValueError(
                f"psnr: {name} reach {low:.3g} < 0, but PSNR needs values in [0, max_value]. If they "
                "are tanh output in [-1, 1], rescale both batches to [0, 1] first: (x + 1) / 2."
            )
        if high > max_value * (1 + 1e-3):
            raise ValueError(
                f"psnr: {name} reach {high:.4g} > max_value={max_value:g}. For pixels in 0..255 (e.g. "
                "uint8 images), divide both batches by 255 or pass max_value=255."
            )
    if max_value > 1 and max(reference.max(), images.max()) <= 1:
        raise ValueError(
            f"psnr: max_value={max_value:g}, but both batches lie in [0, 1]: that peak would make the PSNR "
            f"{20 * np.log10(max_value):.0f} dB too high. Pass max_value=1.0 for images in [0, 1]."
        )


# --- Frechet distance --------------------------------------------------------------------------


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two feature sets of shape (N, d).

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, with means ``mu`` and covariances
    ``S``. This is the Frechet Inception Distance of Heusel et al. (2017), "GANs Trained by a Two
    Time-Scale Update Rule Converge to a Local Nash Equilibrium", with one change: our features
    come from a small classifier of the domain (``domain_features``), not from Inception-v3. The
    numbers are therefore only comparable with each other (same domain, classifier and sample
    size), never with published FID values. Lower is better; 0 means equal mean and covariance.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(
            f"frechet_distance expects two feature arrays shaped (N, d); got {a.shape} and {b.shape}. "
            "For images, compute features first, e.g. domain_features(images, 'mnist')."
        )
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"the two feature sets have different dimensions ({a.shape[1]} vs {b.shape[1]}); "
            "compute both with the same feature extractor."
        )
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"need at least 2 samples in each set to estimate a covariance; got {len(a)} and {len(b)}."
        )
    for name, features in (("features_a", a), ("features_b", b)):
        broken = int(np.sum(~np.all(np.isfinite(features), axis=1)))
        if broken:
            raise ValueError(
                f"frechet_distance: {broken} of the {len(features)} rows of {name} contain NaN or inf, so no "
                "distance can be computed. The images (or the model that made them) have NaN or inf "
                "values, e.g. a generator that diverged: check the samples, not this metric."
            )
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        # A singular product (dead features, fewer samples than dimensions) only costs accuracy
        # in the last digits; scipy's warning about it would clutter every notebook.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov_a @ cov_b)
        if not np.all(np.isfinite(covmean)):
            # Regularise as pytorch-fid does.
            offset = np.eye(len(cov_a)) * 1e-6
            covmean = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    # Rounding gives the square root tiny imaginary parts; the true value is real.
    covmean = np.real(covmean)
    distance = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean)
    return float(max(distance, 0.0))  # clip rounding noise below 0 for identical sets


# --- the domain classifier ---------------------------------------------------------------------


def _check_domain(domain):
    if domain not in _IMAGE_SHAPES:
        raise ValueError(f"unknown domain {domain!r}; choose one of {sorted(_IMAGE_SHAPES)}.")


def _load_domain(domain, split, n=None):
    """Real images in [0, 1], labels and the data source ("MNIST", "real SVHN" or "SVHN stand-in")."""
    if domain == "mnist":
        x, y = data.load_mnist(split)
        if n is not None:
            x, y = x[:n], y[:n]
        return x, y, "MNIST"
    return data.load_svhn(split, n=n)


def _slug(text):
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _build_classifier(domain, total_steps):
    """A compact CNN: two conv blocks (3x3 convolution, 2x2 max-pooling), 128 features, 10 logits.

    Adam with a cosine-decayed learning rate: the decay gives the last tenths of a percent of
    accuracy that a short run would otherwise miss.
    """
    import keras

    from course_utils.accelerator import global_policy

    layers = keras.layers
    # A measuring instrument: the same arithmetic whatever precision the notebook computes in.
    with global_policy("float32"):
        inputs = keras.Input(_IMAGE_SHAPES[domain])
        h = inputs
        for filters in (32, 64):
            h = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
            h = layers.MaxPooling2D()(h)
        features = layers.Dense(128, activation="relu", name=_FEATURE_LAYER)(layers.Flatten()(h))
        logits = layers.Dense(NUM_CLASSES, name="logits")(layers.Dropout(0.3)(features))
        model = keras.Model(inputs, logits, name=f"{domain}_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, total_steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _train_classifier(domain, source, model_path, info_path):
    import tensorflow as tf

    epochs = runmode.epochs(full=_CLASSIFIER_EPOCHS[domain], smoke=1)
    n = runmode.examples(full=None, smoke=_SMOKE_EXAMPLES)
    x, y, _ = _load_domain(domain, "train", n=n)
    x_test, y_test, _ = _load_domain(domain, "test", n=n)
    train = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .cache()
        .shuffle(len(x), seed=0)
        .batch(_BATCH_SIZE)
        .prefetch(tf.data.AUTOTUNE)
    )
    print(f"Training the {source} classifier for the metrics ({len(x)} images, {epochs} epochs)...")
    model = _build_classifier(domain, total_steps=epochs * len(train))
    start = time.perf_counter()
    model.fit(train, epochs=epochs, shuffle=False, verbose=0)  # the dataset shuffles itself
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    info = {
        "domain": domain,
        "source": source,
        "mode": runmode.mode(),
        "train_examples": len(x),
        "epochs": epochs,
        "test_accuracy": float(accuracy),
        "test_examples": len(x_test),
        "train_seconds": round(seconds, 1),
    }
    model.save(model_path)
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"{source} classifier: test accuracy {accuracy:.2%} after {seconds:.0f} s of training "
          f"({runmode.smoke_marked(f'cached as {model_path.name} in the data cache folder')})")


def domain_classifier(domain):
    """The cached classifier of ``domain`` ("mnist" or "svhn"); trains and caches it on first use.

    The cache file name holds the data source and the run mode, e.g.
    ``mnist_classifier_full.keras`` or ``svhn-stand-in_classifier_smoke.keras``, so a smoke
    classifier never serves a full run and a stand-in classifier never serves real SVHN. Its test
    accuracy is stored beside it (``.json``) and printed on every load. Input: images in [0, 1].
    """
    return _classifier_and_features(domain)[0]


def _source(domain):
    """The data a domain's classifier and reference images come from: "MNIST", or the SVHN that
    ``data.svhn_source()`` decides for the whole run (the one ``load_svhn`` uses for every split)."""
    return "MNIST" if domain == "mnist" else data.svhn_source()


def _classifier_and_features(domain):
    import keras

    _check_domain(domain)
    source = _source(domain)
    key = (domain, runmode.mode(), source)
    if key not in _classifiers:
        stem = f"{_slug(source)}_classifier_{runmode.mode()}"
        model_path = data.cache_dir() / f"{stem}.keras"
        info_path = data.cache_dir() / f"{stem}.json"
        if not (model_path.exists() and info_path.exists()):
            _train_classifier(domain, source, model_path, info_path)
        else:
            info = json.loads(info_path.read_text())
            print(f"Loaded the cached {source} classifier ({info['mode']} mode): test accuracy "
                  f"{info['test_accuracy']:.2%} on {info['test_examples']} test images")
        model = keras.models.load_model(model_path)
        features = keras.Model(model.input, model.get_layer(_FEATURE_LAYER).output)
        _classifiers[key] = (model, features)
    return _classifiers[key]


def _validate_images(images, domain):
    """Return ``images`` as float32 (N, H, W, C) in [0, 1], or raise a clear error."""
    _check_domain(domain)
    images = np.asarray(images, dtype=np.float32)
    expected = _IMAGE_SHAPES[domain]
    if images.ndim == 3 and expected[-1] == 1:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != expected or len(images) == 0:
        raise ValueError(
            f"{domain} images must be a non-empty batch shaped (N, {', '.join(map(str, expected))}); "
            f"got {images.shape}."
        )
    if not np.all(np.isfinite(images)):
        raise ValueError("the images contain NaN or inf values: the model that made them diverged.")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3:
        raise ValueError(
            f"image values reach {low:.3g} < 0, but the metrics expect [0, 1]. If they are tanh "
            "output in [-1, 1], rescale tanh output to [0, 1] first: (x + 1) / 2."
        )
    if high > 1 + 1e-3:
        raise ValueError(
            f"image values reach {high:.3g} > 1, but the metrics expect [0, 1]. If they are pixels "
            "in 0..255, divide by 255."
        )
    return np.clip(images, 0.0, 1.0)


def _apply(model, images, batch_size=500):
    """Run ``model`` over ``images`` batch by batch (eagerly: no retracing for new sizes)."""
    return np.concatenate(
        [model(images[i:i + batch_size], training=False).numpy() for i in range(0, len(images), batch_size)]
    )


def domain_features(images, domain):
    """Penultimate-layer features (N, 128) of the domain classifier for images in [0, 1]."""
    images = _validate_images(images, domain)
    _, features = _classifier_and_features(domain)
    return _apply(features, images)


def test_features(domain, n):
    """Features of the first ``n`` real test images of ``domain`` (fewer if the test set is smaller),
    computed once per process: a training loop that measures its samples often loads them only once."""
    key = (domain, n, runmode.mode(), _source(domain))
    if key not in _test_features:
        x_test, _, _ = _load_domain(domain, "test")
        _test_features[key] = domain_features(x_test[:n], domain)
    return _test_features[key]


def frechet_distance_to_test(samples, domain):
    """Frechet distance between ``samples`` (images in [0, 1]) and as many real test images of ``domain``."""
    samples = _validate_images(samples, domain)
    real = test_features(domain, len(samples))
    return frechet_distance(domain_features(samples[:len(real)], domain), real)


def domain_predictions(images, domain):
    """Class probabilities (N, 10) that the domain classifier gives images in [0, 1]."""
    images = _validate_images(images, domain)
    model, _ = _classifier_and_features(domain)
    logits = _apply(model, images).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


# --- class coverage ----------------------------------------------------------------------------


def coverage_from_labels(labels, num_classes=NUM_CLASSES):
    """Class histogram of ``labels`` (ints in 0..num_classes-1) and how evenly it covers the classes.

    Returns a dict with
    ``counts``: samples per class;
    ``classes_covered``: classes with at least ``COVERAGE_SHARE`` of the uniform share 1/num_classes
    (for 10 classes: at least 1% of the samples);
    ``normalised_entropy``: entropy of the histogram divided by log(num_classes), 1 for a uniform
    histogram and 0 when every sample is one class;
    ``kl_to_uniform``: KL(histogram || uniform) in nats, 0 for a uniform histogram.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"expected a non-empty 1-D array of class labels; got shape {labels.shape}.")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}; got {labels.min()}..{labels.max()}.")
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes)
    shares = counts / counts.sum()
    nonzero = shares[shares > 0]
    entropy = float(np.sum(nonzero * np.log(1.0 / nonzero)))  # written so that one class gives +0.0
    return {
        "counts": counts,
        "classes_covered": int(np.sum(shares >= COVERAGE_SHARE / num_classes)),
        "normalised_entropy": float(entropy / np.log(num_classes)),
        "kl_to_uniform": float(np.log(num_classes) - entropy),
    }


def class_coverage(images, domain):
    """``coverage_from_labels`` of the classes the domain classifier assigns to ``images``."""
    return coverage_from_labels(domain_predictions(images, domain).argmax(axis=1))


def confident_share(probabilities):
    """Share of rows of ``probabilities`` (N, classes) whose largest entry is >= CONFIDENT_PROBABILITY."""
    return float(np.mean(np.max(probabilities, axis=1) >= CONFIDENT_PROBABILITY))


def confidently_classified(images, domain):
    """Share of ``images`` (in [0, 1]) to which the domain classifier gives one class a probability
    of at least ``CONFIDENT_PROBABILITY`` (0.9). A generator's samples that a reader would
    recognise score close to real images; blobs, blur and noise score far lower."""
    return confident_share(domain_predictions(images, domain))


# --- the report a generative chapter ends with -------------------------------------------------


def _real_reference(domain, x_test, test_features, source):
    """What real images score (cached per process): ``floor``, the Frechet distance between as
    many real training images as ``x_test`` and those test images, and ``confident``, the share
    of the test images that are confidently classified."""
    n = len(x_test)
    key = (domain, n, runmode.mode(), source)
    if key not in _real_references:
        x_train, _, _ = _load_domain(domain, "train")
        pick = np.random.default_rng(0).choice(len(x_train), size=n, replace=False)
        _real_references[key] = {
            "floor": frechet_distance(domain_features(x_train[pick], domain), test_features),
            "confident": confidently_classified(x_test, domain),
        }
    return _real_references[key]


def _plot_counts(counts, title):
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.bar(np.arange(len(counts)), counts, color="tab:blue")
    ax.axhline(counts.sum() / len(counts), color="gray", linestyle="--", linewidth=1, label="uniform")
    ax.set_xticks(np.arange(len(counts)))
    ax.set_xlabel("class assigned by the classifier")
    ax.set_ylabel("samples")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    plt.show()


def report_generative_quality(samples, domain, n=10000, label=""):
    """Report the Frechet distance of ``samples`` to real test images with its floor, the share of
    samples confidently classified beside that of real test images, and class coverage.

    ``samples``: generated images in [0, 1], shape (N, H, W, C) of the domain. The first
    ``min(n, N)`` samples are compared with as many real test images. The *floor* is the
    distance between as many real training images and the same test images: a perfect generator
    scores about this, not 0; likewise it would have about as many samples confidently
    classified as the real test images. Prints each number through ``results.report`` and draws
    the class histogram of the samples. ``label`` (e.g. "WGAN-GP") prefixes the names when a
    notebook reports several models. Returns ``{"frechet_distance", "floor",
    "confidently_classified", "real_confidently_classified", "coverage"}`` (shares in [0, 1]).
    """
    samples = _validate_images(samples, domain)
    x_test, _, source = _load_domain(domain, "test")
    m = min(n, len(samples), len(x_test))
    if m < 2:
        raise ValueError(f"need at least 2 samples to compare distributions; got {len(samples)}.")
    test_features = domain_features(x_test[:m], domain)
    distance = frechet_distance(domain_features(samples[:m], domain), test_features)
    real = _real_reference(domain, x_test[:m], test_features, source)
    probabilities = domain_predictions(samples[:m], domain)
    confident = confident_share(probabilities)
    coverage = coverage_from_labels(probabilities.argmax(axis=1))

    prefix = f"{label}: " if label else ""
    note = runmode.smoke_marked(f"{m} samples vs {m} {source} test images")
    model = label or None
    results.report(f"{prefix}Frechet distance ({domain} classifier features)", distance, note=note,
                   measure=results.FRECHET_DISTANCE, model=model, samples=m)
    results.report(f"{prefix}Frechet distance floor (real train vs real test)", real["floor"],
                   note=runmode.smoke_marked(f"{m} vs {m} {source} images"), measure=results.FRECHET_FLOOR,
                   model=model, samples=m)
    results.report(f"{prefix}confidently classified (p >= {CONFIDENT_PROBABILITY:g})", 100 * confident, unit="%",
                   note=runmode.smoke_marked(f"real {source} test images: {100 * real['confident']:.1f}%"),
                   measure=results.CONFIDENTLY_CLASSIFIED, model=model)
    results.report(f"{prefix}class coverage", coverage["classes_covered"], unit=f"of {NUM_CLASSES} classes",
                   note=runmode.smoke_marked(f"normalised entropy {coverage['normalised_entropy']:.3f}"),
                   measure=results.CLASS_COVERAGE, model=model)
    _plot_counts(coverage["counts"], f"{prefix}classes of {m} samples ({domain} classifier)")
    return {"frechet_distance": distance, "floor": real["floor"], "confidently_classified": confident,
            "real_confidently_classified": real["confident"], "coverage": coverage}
