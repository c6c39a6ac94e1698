"""EpochBar: counts epochs from where a resumed run starts and shows the last epoch's numbers; under fit,
it draws each epoch once, also when another callback ends the run early."""

import keras
import numpy as np
import pytest

from course_utils import budget
from course_utils.progress import EpochBar, EpochBarCallback


def test_bar_counts_from_start_and_shows_latest_values(capsys):
    bar = EpochBar(total=5, start=2, description="run")
    assert "epoch 2/5" in bar.text
    bar.update({"d_loss": np.float32(0.61234), "val_accuracy": 0.5})
    assert "epoch 3/5" in bar.text and "d_loss=0.6123" in bar.text and "val_accuracy=0.5" in bar.text
    bar.update({"d_loss": 0.7})
    assert "epoch 4/5" in bar.text and "d_loss=0.7" in bar.text
    bar.close()
    assert "run |" in capsys.readouterr().out, "the bar goes to stdout, not Jupyter's pink stderr"


def test_the_final_line_is_drawn_once(printed_lines):
    bar = EpochBar(total=2, description="run")
    bar.update({"loss": 0.5})
    bar.update({"loss": 0.25})
    bar.close()
    lines = printed_lines()
    assert sum("epoch 2/2" in line for line in lines) == 1, lines
    assert "loss=0.25" in lines[-1]


@pytest.mark.parametrize("start", [-1, 6])
def test_start_outside_the_run_is_refused(start):
    with pytest.raises(ValueError, match="start must lie between 0 and total=5"):
        EpochBar(total=5, start=start)


def test_last_marks_an_early_end_whose_line_close_draws_once(printed_lines):
    bar = EpochBar(total=5, description="run")
    bar.update({"loss": 0.5})
    bar.update({"loss": 0.25}, last=True)
    bar.close()
    lines = printed_lines()
    assert sum("epoch 2/5" in line for line in lines) == 1, lines
    assert "loss=0.25" in lines[-1]


class StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            self.model.stop_training = True


@pytest.mark.parametrize("stopper_first", [True, False])
def test_a_fit_stopped_early_draws_each_epoch_once(printed_lines, stopper_first):
    # Whichever callback comes first, the bar learns that the run ended only when it ends.
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callbacks = [StopAfter(2), EpochBarCallback("run")]
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=5, verbose=0,
              callbacks=callbacks if stopper_first else callbacks[::-1])
    lines = printed_lines()
    assert [sum(f"epoch {n}/5" in line for line in lines) for n in (1, 2)] == [1, 1], lines
    assert "epoch 2/5" in lines[-1] and not any("epoch 3/5" in line for line in lines), lines


def test_a_budgeted_bar_counts_against_its_minutes_not_towards_the_epoch_cap(printed_lines):
    # A time-budgeted run stops long before fit's cap: "to go" until epoch 300 would be a false promise.
    bar = EpochBar(total=300, description="DCGAN", budget_minutes=10)
    bar.update({"loss": 0.5})
    assert "epoch 1 of at most 300" in bar.text and "spent of the 10-minute budget" in bar.text, bar.text
    assert "to go" not in bar.text and "loss=0.5" in bar.text
    bar.update({"loss": 0.25}, last=True)
    bar.close()
    lines = printed_lines()
    assert sum("epoch 2 of at most 300" in line for line in lines) == 1, lines


def test_the_callback_takes_the_budget_of_its_fit(printed_lines):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    time_budget = budget.TimeBudget(minutes=0.5)
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=3, verbose=0,
              callbacks=[EpochBarCallback("run", budget=time_budget), time_budget])
    lines = printed_lines()
    assert "epoch 3 of at most 3" in lines[-1] and "0.5-minute budget" in lines[-1], lines
