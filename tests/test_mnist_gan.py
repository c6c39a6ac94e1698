"""The MNIST GAN that chapter 09 steers (chapter 04's exported code): shapes, ranges, training, averaging, the cache."""

import numpy as np
import pytest

from course_utils import data, mnist_gan, runmode


def test_generator_makes_images_in_the_unit_range():
    generator = mnist_gan.build_generator()
    z = np.random.default_rng(0).normal(scale=10.0, size=(5, mnist_gan.LATENT_DIM)).astype("float32")
    images = np.asarray(generator(z, training=False))
    assert images.shape == (5, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("images, match", [
    (np.zeros((4, 28, 28)), "MNIST-shaped"),
    (np.full((4, 28, 28, 1), 255.0), r"\[0, 1\]"),
])
def test_train_gan_rejects_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        mnist_gan.train_gan(images, epochs=1)


def test_train_gan_updates_the_generator_and_records_losses():
    images = np.random.default_rng(0).uniform(size=(256, 28, 28, 1)).astype("float32")
    z = np.random.default_rng(1).normal(size=(2, mnist_gan.LATENT_DIM)).astype("float32")
    runmode.set_seed(0)
    untrained = np.asarray(mnist_gan.build_generator()(z, training=False))
    runmode.set_seed(0)
    generator, history = mnist_gan.train_gan(images, epochs=2, steps_per_epoch=2)
    assert set(history) == {"d_loss", "g_loss"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.values())
    assert not np.allclose(np.asarray(generator(z, training=False)), untrained)


@pytest.fixture
def smoke_cache(tmp_path, monkeypatch):
    """A smoke run whose cache folder is tmp_path and whose MNIST is 256 random images."""
    monkeypatch.setenv(runmode.MODE_VARIABLE, "smoke")
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path)
    fake_digits = np.random.default_rng(0).uniform(size=(256, 28, 28, 1)).astype("float32")
    monkeypatch.setattr(data, "load_mnist", lambda split="train": (fake_digits, np.zeros(256, "int64")))
    monkeypatch.setattr(mnist_gan, "SMOKE_STEPS", 2)
    return tmp_path


def test_trained_generator_is_cached_per_mode(smoke_cache, capsys):
    first, info = mnist_gan.trained_generator()
    assert "Training the MNIST generator" in capsys.readouterr().out
    assert info["mode"] == "smoke" and info["steps"] == 2 and len(info["history"]["g_loss"]) == 1
    names = [p.name for p in sorted(smoke_cache.iterdir())]
    assert [name.rsplit("_", 1)[0] for name in names] == ["mnist_gan_dense_ema_z100_e1_smoke"] * 2
    assert [name.rsplit(".", 1)[1] for name in names] == ["json", "keras"]

    second, _ = mnist_gan.trained_generator()
    assert "Loaded the cached MNIST generator (smoke mode" in capsys.readouterr().out
    z = np.ones((1, mnist_gan.LATENT_DIM), "float32")
    np.testing.assert_allclose(np.asarray(second(z, training=False)), np.asarray(first(z, training=False)),
                               atol=1e-6)


def test_a_run_recorded_from_its_start_trains_instead_of_loading_the_cache(smoke_cache, monkeypatch, capsys):
    mnist_gan.trained_generator()
    capsys.readouterr()

    monkeypatch.setenv(runmode.RESULTS_FILE_VARIABLE, str(smoke_cache / "results.json"))
    mnist_gan.trained_generator()
    assert "Training the MNIST generator" in capsys.readouterr().out

    monkeypatch.setenv(runmode.RESUME_VARIABLE, "1")  # a resumed run may use what the interrupted one trained
    mnist_gan.trained_generator()
    assert "Loaded the cached MNIST generator" in capsys.readouterr().out


def test_the_averaged_generator_differs_from_the_last_steps_weights(monkeypatch):
    images = np.random.default_rng(0).uniform(size=(256, 28, 28, 1)).astype("float32")
    kept = {}
    finalize = mnist_gan.keras.optimizers.Adam.finalize_variable_values

    def keep_last_weights(optimizer, variables):
        kept["last"] = [v.numpy() for v in variables]
        finalize(optimizer, variables)

    monkeypatch.setattr(mnist_gan.keras.optimizers.Adam, "finalize_variable_values", keep_last_weights)
    generator, _ = mnist_gan.train_gan(images, epochs=1, steps_per_epoch=3)
    averaged = [v.numpy() for v in generator.trainable_variables]
    assert len(averaged) == len(kept["last"])
    assert not all(np.allclose(a, b) for a, b in zip(averaged, kept["last"]))
