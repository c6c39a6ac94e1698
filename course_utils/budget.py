"""Training on a time budget: ``fit`` stops before an epoch that would run past it.

A run that trains for a fixed number of epochs takes as long as the machine makes it take. On a
time budget it trains for as many epochs as fit, up to ``fit``'s ``epochs``, and says so::

    gan.fit(data, epochs=MAX_EPOCHS, callbacks=[..., budget.TimeBudget(minutes=18)], verbose=0)

The clock starts at this callback's ``on_train_begin`` and counts all of ``fit``'s work from then
on, the other callbacks' included; start-up work of callbacks listed before it (e.g. a quality curve
loading its test images) runs before the clock starts and is not counted.
After each epoch the callback predicts the next one from the mean epoch so far and stops ``fit``
if that epoch would end past the budget. Epochs that vary in length can still overrun it by a
fraction of one epoch.
"""

import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` once one more epoch (as long as the mean epoch so far) would pass ``minutes``.

    ``epochs_done`` counts the epochs of the last ``fit``; ``stopped`` says whether the budget
    ended it before ``fit``'s own last epoch. ``clock`` (seconds) is for tests.
    """

    def __init__(self, minutes, clock=time.perf_counter):
        super().__init__()
        if not minutes > 0:
            raise ValueError(f"a time budget must be a positive number of minutes; got {minutes!r}")
        self.minutes = minutes
        self.clock = clock
        self.epochs_done = 0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.started = self.clock()
        self.epochs_done = 0
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_done += 1
        spent = self.clock() - self.started
        next_epoch_ends = spent + spent / self.epochs_done
        if next_epoch_ends > 60 * self.minutes and epoch + 1 < self.params["epochs"]:
            self.model.stop_training = True
            self.stopped = True

    def on_train_end(self, logs=None):
        # Printed here, not at the epoch's end, so that it comes after any progress bar's last line.
        if self.stopped:
            spent = (self.clock() - self.started) / 60
            print(f"Time budget: stopped after {self.epochs_done} epoch(s) and {spent:.1f} minutes; "
                  f"one more would have passed the {self.minutes:g}-minute budget.")
