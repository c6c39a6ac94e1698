"""An offline yardstick for generated faces: the Frechet distance in the features of a network that
learned from the faces themselves which way up a face is.

Why this network. The digit yardstick (``course_utils.metrics``) embeds images with a classifier of
their labels; these faces come without labels, and the Frechet Inception Distance (FID) needs
Inception-v3's ImageNet weights, a download. A network can still learn what faces look like from
the images alone, with a task whose labels come free: turn each face by 0, 90, 180 or 270 degrees
and let the network say by how much (rotation prediction; Gidaris, Singh and Komodakis 2018,
*Unsupervised Representation Learning by Predicting Image Rotations*). To tell which way is up it
has to find eyes, nose, mouth, chin and hair and how they sit relative to each other, which is what
a face generator gets right or wrong. It trains once, in about a minute and a half on a 2-core CPU,
and is cached in ``course_utils.data.cache_dir()``.

- ``feature_network(size)``: the cached network for ``size`` x ``size`` faces; prints its accuracy.
- ``face_features(images)``: its 128 penultimate-layer features of faces in [0, 1].
- ``frechet_distance_to_test(samples)``: the Frechet distance to as many real test faces;
  ``floor(n, size)``: the same distance between ``n`` real training faces and the test faces, the
  value a perfect generator would score; ``report(samples)`` prints both through ``results.report``.
- ``inception_fid(samples, real)``: FID with Keras' InceptionV3 ImageNet weights where they can be
  downloaded; offline it says so in one line and returns None.

Smoke runs train a tiny network under a different file name, so a full run never uses it. "Trained
now" and "loaded" print different lines: cells that call this module belong in
``nbval-ignore-output`` cells.
"""

import contextlib
import io
import json
import time

import numpy as np

from course_utils import data, metrics, results, runmode

ROTATIONS = 4
"""The network's task: which of the four quarter turns (0, 90, 180, 270 degrees) a face was given."""
_EPOCHS = 1  # each training face seen in all four rotations once: about 99% accuracy at 32x32
_SMOKE_EXAMPLES = 512
_BATCH_SIZE = 128  # 32 faces, each in its four rotations
_FEATURE_LAYER = "features"

_TRAIN_FACES = 20_000  # the most training faces the yardstick uses (the official set has 162,770)

_faces = {}  # (split, size, mode) -> (real faces, source)
_networks = {}  # (size, mode, source) -> (rotation classifier, feature model)
_test_features = {}  # (n, size, mode, source) -> features of the first n test faces
_floors = {}  # (n, size, mode, source) -> Frechet distance of n training faces to n test faces


def _load(split, size, n=None):
    """The first ``n`` real faces of ``split`` (at most ``_TRAIN_FACES``) in [0, 1], (N, size, size, 3),
    and the sentence that names them; loaded once per process."""
    key = (split, size, runmode.mode())
    if key not in _faces:
        try:
            _faces[key] = data.load_celeba(split, size=size, n=None if split == "test" else _TRAIN_FACES)
        except ValueError:  # fewer training faces than that: all of them
            _faces[key] = data.load_celeba(split, size=size)
    images, source = _faces[key]
    return (images if n is None else images[:n]), source


def _source(size):
    return _load("test", size)[1]


def _slug(text):
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")[:40].strip("-")


def _check_size(size):
    if not (isinstance(size, (int, np.integer)) and size >= 16 and size & (size - 1) == 0):
        raise ValueError(f"face images must be square with a side that is a power of two, 16 or more "
                         f"(32 or 64 in the course); got {size!r}.")


def rotated(images):
    """Every image in its four rotations, the four of an image one after the other, and the labels
    0..3 (the number of quarter turns counter-clockwise)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    turned = tf.stack([tf.image.rot90(images, k) for k in range(ROTATIONS)], axis=1)
    labels = tf.tile(tf.range(ROTATIONS), [tf.shape(images)[0]])
    return tf.reshape(turned, (-1, *images.shape[1:])), labels


def _build_network(size, total_steps):
    """Convolution blocks (3x3 convolution, ReLU, 2x2 max-pooling) down to 4x4, 128 features, 4 logits."""
    import keras

    from course_utils.accelerator import global_policy

    layers = keras.layers
    blocks = int(np.log2(size // 4))
    with global_policy("float32"):  # a measuring instrument computes the same way on every machine
        inputs = keras.Input((size, size, 3))
        h = inputs
        for filters in (32, 64, 128, 128, 128, 128)[:blocks]:
            h = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
            h = layers.MaxPooling2D()(h)
        features = layers.Dense(128, activation="relu", name=_FEATURE_LAYER)(layers.Flatten()(h))
        logits = layers.Dense(ROTATIONS, name="logits")(layers.Dropout(0.3)(features))
        model = keras.Model(inputs, logits, name=f"face_rotation_net_{size}")
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, total_steps)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _train_network(size, source, model_path, info_path):
    import tensorflow as tf

    n = runmode.examples(full=None, smoke=_SMOKE_EXAMPLES)
    x, _ = _load("train", size, n)
    x_test, _ = _load("test", size, n)
    train = (tf.data.Dataset.from_tensor_slices(x)
             .shuffle(len(x), seed=0)
             .batch(_BATCH_SIZE // ROTATIONS)
             .map(rotated)  # the four rotations of a face in the same batch, as Gidaris et al. train
             .prefetch(tf.data.AUTOTUNE))
    print(f"Training the face rotation network for the yardstick ({len(x)} faces x {ROTATIONS} rotations, "
          f"{_EPOCHS} epoch, {size}x{size})...")
    model = _build_network(size, total_steps=_EPOCHS * len(train))
    start = time.perf_counter()
    model.fit(train, epochs=_EPOCHS, verbose=0)
    seconds = time.perf_counter() - start
    test_images, test_labels = rotated(x_test)
    _, accuracy = model.evaluate(test_images, test_labels, batch_size=512, verbose=0)
    info = {"size": size, "source": source, "mode": runmode.mode(), "train_faces": len(x), "epochs": _EPOCHS,
            "test_accuracy": float(accuracy), "test_faces": len(x_test), "train_seconds": round(seconds, 1)}
    model.save(model_path)
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"Face rotation network: {accuracy:.2%} of rotated test faces turned back correctly after {seconds:.0f} s "
          f"of training (cached as {model_path.name} in the data cache folder)")


def feature_network(size=32):
    """The cached rotation network for ``size`` x ``size`` faces, and the model that gives its features.

    Trains and caches it on first use; the file name holds the size, the run mode and the data, e.g.
    ``face-rotation-net_32px_full_celeba-....keras``. Input: faces in [0, 1].
    """
    import keras

    _check_size(size)
    source = _source(size)
    key = (size, runmode.mode(), source)
    if key not in _networks:
        stem = f"face-rotation-net_{size}px_{runmode.mode()}_{_slug(source)}"
        model_path, info_path = data.cache_dir() / f"{stem}.keras", data.cache_dir() / f"{stem}.json"
        if not (model_path.exists() and info_path.exists()):
            _train_network(size, source, model_path, info_path)
        else:
            info = json.loads(info_path.read_text())
            print(f"Loaded the cached face rotation network ({size}x{size}, {info['mode']} mode): "
                  f"{info['test_accuracy']:.2%} of rotated test faces turned back correctly")
        model = keras.models.load_model(model_path)
        _networks[key] = (model, keras.Model(model.input, model.get_layer(_FEATURE_LAYER).output))
    return _networks[key]


def _validate_faces(images):
    """``images`` as float32 (N, s, s, 3) in [0, 1], or a ValueError that says what to change."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2] or len(images) == 0:
        raise ValueError(f"faces must be a non-empty batch of square colour images (N, size, size, 3); "
                         f"got shape {images.shape}.")
    _check_size(images.shape[1])
    if not np.all(np.isfinite(images)):
        raise ValueError("the faces contain NaN or inf values: the model that made them diverged.")
    if images.min() < -1e-3:
        raise ValueError(f"face values reach {images.min():.3g} < 0, but the yardstick expects [0, 1]. "
                         "Rescale tanh output in [-1, 1] first: (x + 1) / 2.")
    if images.max() > 1 + 1e-3:
        raise ValueError(f"face values reach {images.max():.3g} > 1, but the yardstick expects [0, 1]. "
                         "Divide pixels in 0..255 by 255.")
    return np.clip(images, 0.0, 1.0)


def face_features(images, batch_size=500):
    """The rotation network's 128 features (N, 128) of faces in [0, 1], shaped (N, size, size, 3)."""
    images = _validate_faces(images)
    _, features = feature_network(images.shape[1])
    return np.concatenate([features(images[i:i + batch_size], training=False).numpy()
                           for i in range(0, len(images), batch_size)])


def test_features(n, size=32):
    """Features of the first ``n`` real test faces (fewer if there are fewer), computed once per process."""
    key = (n, size, runmode.mode(), _source(size))
    if key not in _test_features:
        _test_features[key] = face_features(_load("test", size, n)[0])
    return _test_features[key]


def frechet_distance_to_test(samples):
    """Frechet distance between the features of ``samples`` (faces in [0, 1]) and of as many real test
    faces (all test faces if there are more samples)."""
    samples = _validate_faces(samples)
    real = test_features(len(samples), samples.shape[1])
    return metrics.frechet_distance(face_features(samples[:len(real)]), real)


def floor(n, size=32):
    """The Frechet distance between ``n`` real training faces (drawn with seed 0) and the first ``n``
    real test faces: what a generator that draws real faces would score with ``n`` samples."""
    key = (n, size, runmode.mode(), _source(size))
    if key not in _floors:
        x_train, _ = _load("train", size)
        real = test_features(n, size)
        pick = np.random.default_rng(0).choice(len(x_train), size=len(real), replace=False)
        _floors[key] = metrics.frechet_distance(face_features(x_train[pick]), real)
    return _floors[key]


def report(samples, label=""):
    """Print (through ``results.report``) the Frechet distance of ``samples`` to real test faces and the
    floor for as many faces; ``label`` (e.g. "DCGAN") prefixes the names. Returns
    ``{"frechet_distance", "floor", "n"}``."""
    samples = _validate_faces(samples)
    size = samples.shape[1]
    real = test_features(len(samples), size)
    distance = metrics.frechet_distance(face_features(samples[:len(real)]), real)
    low = floor(len(real), size)
    prefix = f"{label}: " if label else ""
    source = _source(size)
    model = label or None
    results.report(f"{prefix}faces Frechet distance (rotation-net features)", distance,
                   note=f"{len(real)} samples vs {len(real)} real test faces, {size}x{size}, {source}",
                   measure=results.FRECHET_DISTANCE, model=model, samples=len(real))
    results.report(f"{prefix}faces Frechet distance floor (real train vs real test)", low,
                   note=f"{len(real)} vs {len(real)} real faces, {size}x{size}",
                   measure=results.FRECHET_FLOOR, model=model, samples=len(real))
    return {"frechet_distance": distance, "floor": low, "n": len(real)}


# --- FID, where the ImageNet weights can be downloaded ---------------------------------------------


def inception_fid(samples, real, weights="imagenet", size=299, batch_size=50):
    """The Frechet Inception Distance (Heusel et al. 2017) of ``samples`` to ``real`` faces (both in
    [0, 1]): features of Keras' InceptionV3 (pool layer, 2048 numbers) of the faces resized to
    ``size`` x ``size``.

    Needs the ImageNet weights (about 90 MB, downloaded once by Keras). When they cannot be had
    (offline), prints one line saying so and returns None. ``weights=None`` builds the network with
    random weights: only for testing this function, its numbers mean nothing. Our FID is not
    comparable with published values either, which use 50,000 samples and the TensorFlow 1 graph.
    """
    import keras
    import tensorflow as tf

    from course_utils.accelerator import global_policy

    samples, real = _validate_faces(samples), _validate_faces(real)
    try:
        # Keras announces its download on stdout; offline, the one line below says all there is to say.
        with global_policy("float32"), contextlib.redirect_stdout(io.StringIO()):
            network = keras.applications.InceptionV3(include_top=False, weights=weights, pooling="avg",
                                                     input_shape=(size, size, 3))
    except Exception as error:  # noqa: BLE001 - Keras raises a bare Exception when the download fails
        print(f"FID skipped: the InceptionV3 ImageNet weights could not be downloaded ({type(error).__name__}); "
              "with internet access this cell computes it.")
        return None

    def features(images):
        batches = []
        for first in range(0, len(images), batch_size):
            resized = tf.image.resize(images[first:first + batch_size], (size, size), method="bilinear")
            batches.append(network(2.0 * resized - 1.0, training=False).numpy())  # Inception's input range
        return np.concatenate(batches)

    return metrics.frechet_distance(features(samples), features(real))
