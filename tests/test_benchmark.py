"""The speed benchmark's building blocks: reading a notebook's definitions, and the timing."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import benchmark
from tools.notebook_code import notebook_definitions


@pytest.fixture
def notebook(tmp_path):
    cells = [
        new_markdown_cell("# title"),
        new_code_cell('import sys\nif "google.colab" in sys.modules:\n    %pip install something'),
        new_code_cell("import math\nUNUSED = print('this must not run') or 1\nSCALE = 3"),
        new_code_cell("OFFSET = SCALE + 1\n\ndef scaled(x, k=OFFSET):\n    return helper(x) * k\n\n"
                      "def helper(x):\n    return math.sqrt(x)"),
        new_code_cell("data = open('/no/such/file').read()\nscaled(4)"),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def test_definitions_bring_functions_and_only_the_globals_they_need(notebook, capsys):
    ns = notebook_definitions(notebook)
    assert ns["scaled"](16) == 16.0  # sqrt(16) * OFFSET, OFFSET = SCALE + 1 = 4
    assert "UNUSED" not in ns and "data" not in ns
    assert capsys.readouterr().out == "", "a statement the definitions do not need was executed"


def test_definitions_asked_for_by_name_bring_only_what_those_need(notebook, tmp_path):
    ns = notebook_definitions(notebook, names=("helper", "SCALE"))
    assert ns["helper"](9) == 3.0 and ns["SCALE"] == 3
    assert "scaled" not in ns and "OFFSET" not in ns, "scaled was not asked for, so neither it nor OFFSET is built"
    assert notebook_definitions(notebook, names=("scaled",))["scaled"](16) == 16.0, "helper and OFFSET come along"
    with pytest.raises(ValueError, match="no function, class or global named nothing"):
        notebook_definitions(notebook, names=("nothing",))


def test_definitions_of_the_course_gan_notebook():
    ns = notebook_definitions(benchmark.REPO_ROOT / "solutions" / "04_gan_mnist.ipynb")
    for name in ("build_generator", "build_discriminator", "make_train_step", "LATENT_DIM"):
        assert name in ns
    assert "x_train" not in ns, "loading data is not a definition"


def _fake_case(speeds):
    """A case whose sides take ``steps / speed`` seconds per run, and the calls made to them."""
    calls = []

    def side(name):
        def run(dataset, steps):
            calls.append((name, steps))
            return 0.5, steps / speeds[name]
        return run

    def case(batch_size, policy):
        return "dataset", {name: side(name) for name in speeds}

    return case, calls


def test_measure_alternates_and_reports_the_ratio():
    case, calls = _fake_case({"course": 10.0, "reference": 8.0, "control": 9.0})
    result = benchmark.measure(case, steps=5, rounds=1, batch_size=8)
    assert calls[:3] == [("course", 2), ("reference", 2), ("control", 2)]  # warm-up
    timed = [name for name, steps in calls[3:]]
    assert timed == ["course", "reference", "control", "reference", "control", "course",
                     "control", "course", "reference"]  # each side once in each place
    assert result["ratio"] == pytest.approx(10.0 / 8.0, rel=0.01)
    assert result["control_ratio"] == pytest.approx(9.0 / 8.0, rel=0.01)
    assert result["first_step_s"] == {"course": 0.5, "reference": 0.5, "control": 0.5}
    assert set(result["all_rates"]) == {"course", "reference", "control"}
    assert result["control_ratio"] == pytest.approx(max(result["all_rates"]["control"])
                                                    / max(result["all_rates"]["reference"]), rel=0.01)
    assert "course_float32_ratio" not in result and result["repeats"] == 3


def test_measure_reports_the_course_in_float32_beside_its_own_precision():
    case, calls = _fake_case({"course": 12.0, "course_float32": 8.4, "reference": 8.0, "control": 8.2})
    result = benchmark.measure(case, steps=5, rounds=2, batch_size=8, policy="mixed_bfloat16")
    assert result["repeats"] == 8 and len(calls) == 4 + 4 * 8
    assert result["course_policy"] == "mixed_bfloat16" and result["reference_policy"] == "float32"
    assert result["ratio"] == pytest.approx(1.5, rel=0.01)
    assert result["course_float32_ratio"] == pytest.approx(1.05, rel=0.01)


@pytest.mark.needs_data("mnist")
def test_gan_case_builds_the_course_in_its_policy_and_the_reference_in_float32(monkeypatch):
    built = []
    definitions = benchmark.notebook_definitions

    def recording_definitions(path):
        ns = definitions(path)
        ns["make_train_step"] = lambda g, d, *optimizers: built.append(("course", g.dtype_policy.name,
                                                                        d.dtype_policy.name))
        return ns

    monkeypatch.setattr(benchmark, "notebook_definitions", recording_definitions)
    monkeypatch.setattr(benchmark, "reference_train_step", lambda g, d, *sizes: built.append(
        ("reference", g.dtype_policy.name, d.dtype_policy.name)))
    monkeypatch.setattr(benchmark, "_loop", lambda step: step)
    _, sides = benchmark.gan_mnist_case(batch_size=8, policy="mixed_bfloat16")
    assert list(sides) == ["course", "course_float32", "reference", "control"]
    assert built == [("course", "mixed_bfloat16", "mixed_bfloat16"), ("course", "float32", "float32"),
                     ("reference", "float32", "float32"), ("reference", "float32", "float32")]
    _, sides = benchmark.gan_mnist_case(batch_size=8, policy="float32")
    assert list(sides) == ["course", "reference", "control"]


def test_reference_step_trains_both_models():
    import keras
    import numpy as np
    import tensorflow as tf

    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh")])
    discriminator = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    before = [w.numpy().copy() for w in generator.weights + discriminator.weights]
    step = benchmark.reference_train_step(generator, discriminator, latent_dim=4, batch_size=8)
    step(tf.constant(np.random.rand(8, 6).astype("float32")))
    after = [w.numpy() for w in generator.weights + discriminator.weights]
    assert all(not np.allclose(b, a) for b, a in zip(before, after))


def test_timed_runs_take_one_start_up_step_then_time_the_rest():
    import keras
    import numpy as np
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((64, 3), "float32")).batch(4).repeat()
    seen = []
    first_step_s, seconds = benchmark._loop(lambda batch: seen.append(batch.shape[0]))(dataset, steps=5)
    assert len(seen) == 6 and first_step_s >= 0 and seconds > 0

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    pairs = dataset.map(lambda x: (x, tf.reduce_sum(x, axis=-1, keepdims=True)))
    first_step_s, seconds = benchmark._fit_run(model)(pairs, steps=5)
    assert int(model.optimizer.iterations) == 6, "fit runs the start-up step and the 5 timed ones"
    assert first_step_s > 0 and seconds > 0
