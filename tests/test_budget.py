"""TimeBudget: fit stops before an epoch that would pass the budget, and says so; it never stops a run
that fits, and it refuses a budget that is not a positive number of minutes."""

import keras
import numpy as np
import pytest

from course_utils.budget import TimeBudget


class FakeClock:
    """A clock that moves only when told: each epoch "takes" ``seconds_per_epoch``."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class AdvanceClock(keras.callbacks.Callback):
    def __init__(self, clock, seconds_per_epoch):
        super().__init__()
        self.clock, self.seconds = clock, seconds_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        self.clock.now += self.seconds


def tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def fit_with_budget(minutes, epochs, seconds_per_epoch=10.0):
    model, clock = tiny_model(), FakeClock()
    budget = TimeBudget(minutes, clock=clock)
    history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=epochs, verbose=0,
                        callbacks=[AdvanceClock(clock, seconds_per_epoch), budget])
    return budget, len(history.history["loss"])


def test_stops_before_the_epoch_that_would_overrun(capsys):
    # 10 s per epoch, 30 s budget: after 3 epochs (30 s) a 4th would end at 40 s.
    budget, epochs_run = fit_with_budget(minutes=0.5, epochs=10)
    assert epochs_run == 3 and budget.epochs_done == 3 and budget.stopped
    out = capsys.readouterr().out
    assert "stopped after 3 epoch(s) and 0.5 minutes" in out and "0.5-minute budget" in out


def test_a_run_that_fits_trains_every_epoch_and_prints_nothing(capsys):
    budget, epochs_run = fit_with_budget(minutes=1.0, epochs=4)
    assert epochs_run == 4 and not budget.stopped
    assert "Time budget" not in capsys.readouterr().out


def test_the_last_epoch_is_not_reported_as_a_stop(capsys):
    # The 3rd epoch is fit's last anyway: the run ends there on its own, not by the budget.
    budget, epochs_run = fit_with_budget(minutes=0.5, epochs=3)
    assert epochs_run == 3 and not budget.stopped
    assert "Time budget" not in capsys.readouterr().out


@pytest.mark.parametrize("minutes", [0, -5, float("nan")])
def test_a_budget_must_be_positive(minutes):
    with pytest.raises(ValueError, match="positive number of minutes"):
        TimeBudget(minutes)


def test_with_a_checkpoint_bar_the_last_line_is_drawn_once_and_the_message_follows(tmp_path, printed_lines):
    # The notebook's order: the checkpoint's bar first, the budget after it.
    from course_utils.checkpoints import TrainingCheckpoint

    model, clock = tiny_model(), FakeClock()
    ckpt = TrainingCheckpoint("budgeted", directory=tmp_path, model=model)
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=10, verbose=0,
              callbacks=[AdvanceClock(clock, 10.0), ckpt.callback(), TimeBudget(0.5, clock=clock)])
    lines = printed_lines()
    assert ckpt.epoch == 3
    assert sum("epoch 3/10" in line for line in lines) == 1, lines
    assert lines[-2].startswith("Checkpoint: 3 epoch(s) saved") and lines[-1].startswith("Time budget"), lines
