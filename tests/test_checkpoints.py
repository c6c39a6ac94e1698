"""TrainingCheckpoint: a run killed part-way resumes at the right epoch and ends where an
uninterrupted run ends (same weights, so the optimizer state was restored too)."""

import json
import os
import runpy
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import budget, runmode
from course_utils.checkpoints import TrainingCheckpoint

STEPS = 4  # batches per epoch
EPOCHS = 3


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(STEPS * 8, 5)).astype("float32")
    return x, (x @ rng.normal(size=(5, 1))).astype("float32")


def _model_and_optimizer():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)])
    return model, keras.optimizers.Adam(0.05)


@pytest.fixture(autouse=True)
def full_mode(monkeypatch):
    """Resuming is what full runs do; smoke and recorded runs always start over (tested below)."""
    monkeypatch.setenv(runmode.MODE_VARIABLE, "full")
    monkeypatch.delenv(runmode.RESULTS_FILE_VARIABLE, raising=False)
    monkeypatch.delenv(runmode.RESUME_VARIABLE, raising=False)


class Disconnect(Exception):
    """Stands in for a lost runtime in the in-process test."""


def _train_loop(directory, stop_at_step=None, saved_weights=None):
    """A hand-written loop as a notebook has it; raises Disconnect after step ``stop_at_step``.

    ``saved_weights`` (a list) receives the weights at every save."""
    model, optimizer = _model_and_optimizer()
    ckpt = TrainingCheckpoint("loop", directory=directory, model=model, optimizer=optimizer)
    start = {"epoch": ckpt.epoch, "weights": [w.copy() for w in model.get_weights()]}
    x, y = _data()
    step = 0
    for _ in ckpt.epochs(EPOCHS):
        for b in range(STEPS):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x[b * 8:(b + 1) * 8]) - y[b * 8:(b + 1) * 8]) ** 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                          model.trainable_variables))
            step += 1
            if step == stop_at_step:
                raise Disconnect()
        ckpt.save(loss=loss)
        if saved_weights is not None:
            saved_weights.append([w.copy() for w in model.get_weights()])
    return model, optimizer, ckpt, start


def test_loop_resumes_where_it_stopped_and_ends_like_an_uninterrupted_run(tmp_path, capsys):
    reference, _, _, _ = _train_loop(tmp_path / "reference")

    # Die during epoch 3, after epochs 1 and 2 were saved and one more step was taken.
    saved = []
    with pytest.raises(Disconnect):
        _train_loop(tmp_path / "run", stop_at_step=2 * STEPS + 1, saved_weights=saved)

    model, optimizer, ckpt, start = _train_loop(tmp_path / "run")
    out = capsys.readouterr().out
    assert start["epoch"] == 2, "the resumed run must start after the 2 saved epochs"
    for got, want in zip(start["weights"], saved[-1]):
        np.testing.assert_array_equal(got, want)
    resumed = out.split("Restored ckpt-2")[1]
    assert "2 epoch(s) done" in resumed
    assert "Epoch 3/3" in resumed and "Epoch 2/3" not in resumed
    assert int(optimizer.iterations.numpy()) == EPOCHS * STEPS
    assert ckpt.epoch == EPOCHS and len(ckpt.history["loss"]) == EPOCHS
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_finished_run_is_restored_without_training(tmp_path, capsys):
    _train_loop(tmp_path)
    model, optimizer, ckpt, start = _train_loop(tmp_path)
    assert start["epoch"] == EPOCHS
    assert int(optimizer.iterations.numpy()) == EPOCHS * STEPS
    assert "nothing to train" in capsys.readouterr().out


FIT_SCRIPT = textwrap.dedent('''
    import os, signal, sys
    import keras, numpy as np, tensorflow as tf
    from course_utils.checkpoints import TrainingCheckpoint

    class TwoNets(keras.Model):
        """Two networks with their own optimizers, updated in one train_step (like a GAN)."""
        def __init__(self):
            super().__init__()
            self.a = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
            self.b = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
        def compile(self, a_optimizer, b_optimizer):
            super().compile()
            self.a_optimizer, self.b_optimizer = a_optimizer, b_optimizer
        def train_step(self, batch):
            x, y = batch
            logs = {}
            for name, net, opt in (("a_loss", self.a, self.a_optimizer), ("b_loss", self.b, self.b_optimizer)):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean((net(x) - y) ** 2)
                opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))
                logs[name] = loss
            return logs

    class KillDuringEpoch(keras.callbacks.Callback):
        def __init__(self, epoch):
            super().__init__()
            self.kill_epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == self.kill_epoch and batch == 0:
                os.kill(os.getpid(), signal.SIGKILL)   # the runtime disappears, no clean-up
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    directory, kill_epoch, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    keras.utils.set_random_seed(1)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 1))).astype("float32")
    model = TwoNets()
    model.compile(keras.optimizers.Adam(0.05), keras.optimizers.RMSprop(0.01))
    ckpt = TrainingCheckpoint("fit", directory=directory, model=model)
    print("START", ckpt.epoch, flush=True)
    model.fit(x, y, batch_size=8, shuffle=False, epochs=3, initial_epoch=ckpt.epoch, verbose=0,
              callbacks=[ckpt.callback(), KillDuringEpoch(kill_epoch)])
    np.savez(out, *model.a.get_weights(), *model.b.get_weights(),
             a_iterations=model.a_optimizer.iterations.numpy())
    print("HISTORY", len(ckpt.history["a_loss"]), flush=True)
''')


def _run_fit(tmp_path, directory, kill_epoch):
    script = tmp_path / "train.py"
    script.write_text(FIT_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_MODE": "full"}
    return subprocess.run([sys.executable, str(script), str(directory), str(kill_epoch),
                           str(tmp_path / f"{directory.name}.npz")],
                          capture_output=True, text=True, env=env, timeout=300)


def test_fit_killed_by_the_os_resumes_and_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    killed = _run_fit(tmp_path, tmp_path / "run", kill_epoch=2)   # dies in epoch 3 (0-based 2)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert "START 0" in killed.stdout
    history = json.loads((tmp_path / "run" / "fit" / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2]

    resumed = _run_fit(tmp_path, tmp_path / "run", kill_epoch=-1)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # The progress bar starts at the restored epoch and counts on from there.
    assert "START 2" in resumed.stdout and "epoch 2/3" in resumed.stdout and "epoch 3/3" in resumed.stdout
    assert "epoch 1/3" not in resumed.stdout
    assert "HISTORY 3" in resumed.stdout

    # The uninterrupted reference runs the same script in this process (saves starting a third TF).
    monkeypatch.setattr(sys, "argv", ["train.py", str(tmp_path / "reference"), "-1",
                                      str(tmp_path / "reference.npz")])
    runpy.run_path(str(tmp_path / "train.py"), run_name="__main__")
    got, want = np.load(tmp_path / "run.npz"), np.load(tmp_path / "reference.npz")
    assert int(got["a_iterations"]) == 3 * 4
    for key in want.files:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{key} differs: weights or optimizer state were not resumed")


def test_history_entry_without_its_checkpoint_is_dropped(tmp_path):
    model, optimizer = _model_and_optimizer()
    ckpt = TrainingCheckpoint("run", directory=tmp_path, model=model)
    ckpt.save(loss=1.0)
    path = tmp_path / "run" / "history.json"
    # The process died after writing the history of epoch 2 but before its checkpoint.
    path.write_text(json.dumps(json.loads(path.read_text()) + [{"epoch": 2, "loss": 0.5}]))
    again = TrainingCheckpoint("run", directory=tmp_path, model=model)
    assert again.epoch == 1 and again.history == {"loss": [1.0]}


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="objects to save"):
        TrainingCheckpoint("run", directory=tmp_path)
    model, optimizer = _model_and_optimizer()
    TrainingCheckpoint("run", directory=tmp_path, model=model).save(loss=1.0)
    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(7), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="fresh=True"):
        TrainingCheckpoint("run", directory=tmp_path, model=other)
    ckpt = TrainingCheckpoint("run", directory=tmp_path, model=model)
    with pytest.raises(TypeError, match="numbers"):
        ckpt.save(loss="low")
    model.compile(optimizer, "mse")
    x, y = _data()
    with pytest.raises(RuntimeError, match="initial_epoch"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt.callback()])


def test_fresh_and_smoke_runs_start_over(tmp_path, monkeypatch):
    model, _ = _model_and_optimizer()
    TrainingCheckpoint("run", directory=tmp_path, model=model).save(loss=1.0)
    assert TrainingCheckpoint("run", directory=tmp_path, model=model).epoch == 1
    assert TrainingCheckpoint("run", directory=tmp_path, model=model, fresh=True).epoch == 0
    TrainingCheckpoint("run", directory=tmp_path, model=model).save(loss=1.0)
    monkeypatch.setenv("COURSE_MODE", "smoke")
    assert TrainingCheckpoint("run", directory=tmp_path, model=model).epoch == 0


def test_runs_recorded_by_the_course_runner_start_over(tmp_path, monkeypatch):
    model, _ = _model_and_optimizer()
    TrainingCheckpoint("run", directory=tmp_path, model=model).save(loss=1.0)
    monkeypatch.setenv(runmode.RESUME_VARIABLE, "1")  # left over from an earlier run: the runner clears it
    for name, value in runmode.runner_environment("full", tmp_path / "results.json").items():
        monkeypatch.setenv(name, value)
    assert TrainingCheckpoint("run", directory=tmp_path, model=model).epoch == 0


def test_a_recorded_run_resumes_when_the_runner_finishes_an_interrupted_run(tmp_path, monkeypatch):
    model, _ = _model_and_optimizer()
    TrainingCheckpoint("run", directory=tmp_path, model=model).save(loss=1.0)
    # what `python -m tools.run_course --resume` sets
    for name, value in runmode.runner_environment("full", tmp_path / "results.json", resume=True).items():
        monkeypatch.setenv(name, value)
    assert TrainingCheckpoint("run", directory=tmp_path, model=model).epoch == 1


def _compiled_model_and_data():
    model, optimizer = _model_and_optimizer()
    model.compile(optimizer, "mse")
    return (model, *_data())


def test_fit_with_verbose_0_shows_an_epoch_bar_with_the_latest_losses(tmp_path, capsys):
    model, x, y = _compiled_model_and_data()
    ckpt = TrainingCheckpoint("bar", directory=tmp_path, model=model)
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[ckpt.callback()])
    lines = capsys.readouterr().out.replace("\r", "\n").splitlines()
    final = [line for line in lines if f"epoch {EPOCHS}/{EPOCHS}" in line][-1]
    assert final.startswith("bar |"), final
    assert f"loss={ckpt.history['loss'][-1]:.4g}" in final, final
    assert lines[-1].startswith("Checkpoint: 3 epoch(s) saved"), "the bar must be closed before the last line"


def test_a_time_budgeted_fit_shows_its_budget_not_the_time_to_the_epoch_cap(tmp_path, capsys):
    model, x, y = _compiled_model_and_data()
    ckpt = TrainingCheckpoint("budgeted", directory=tmp_path, model=model)
    time_budget = budget.TimeBudget(minutes=5)
    model.fit(x, y, batch_size=8, epochs=EPOCHS, verbose=0, callbacks=[ckpt.callback(time_budget), time_budget])
    out = capsys.readouterr().out
    assert f"budgeted: epoch {EPOCHS} of at most {EPOCHS}" in out and "of the 5-minute budget" in out, out
    assert "to go" not in out


def test_fit_with_its_own_progress_output_gets_no_second_bar(tmp_path, capsys):
    model, x, y = _compiled_model_and_data()
    ckpt = TrainingCheckpoint("nobar", directory=tmp_path, model=model)
    model.fit(x, y, batch_size=8, epochs=2, verbose=2, callbacks=[ckpt.callback()])
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "nobar |" not in out


def test_fit_asking_for_fewer_epochs_than_saved_trains_nothing_and_says_so(tmp_path, capsys):
    model, x, y = _compiled_model_and_data()
    ckpt = TrainingCheckpoint("more", directory=tmp_path, model=model)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[ckpt.callback()])
    weights = [w.copy() for w in model.get_weights()]
    ckpt = TrainingCheckpoint("more", directory=tmp_path, model=model)
    model.fit(x, y, batch_size=8, epochs=2, initial_epoch=ckpt.epoch, verbose=0, callbacks=[ckpt.callback()])
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert "Checkpoint: 3 epoch(s) saved" in capsys.readouterr().out
