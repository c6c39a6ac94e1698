"""A progress bar over training epochs that shows the latest epoch's numbers.

Long runs (the SVHN chapters) train for many minutes. ``EpochBar`` draws one text bar for the
whole run: epochs done, time spent, estimated time left, and the losses of the last finished
epoch. It redraws once per epoch, so a stored notebook keeps only a few lines of it.
``EpochBarCallback`` draws it under ``model.fit(..., verbose=0)``, and so does
``checkpoints.TrainingCheckpoint.callback()``.

A run on a time budget (``budget.TimeBudget``) ends when its minutes are spent, usually long before
``fit``'s epoch cap: given the budget, the bar says "epoch 3 of at most 300, 1:37 spent of the 10-minute
budget" instead of estimating the time left to the cap.
"""

import sys

import keras
from tqdm import tqdm


class EpochBar:
    """A text bar from epoch ``start`` to ``total``; call ``update(values)`` after every epoch.

    ``budget_minutes``: the run stops when these minutes are spent (``total`` is then only a cap), so the
    bar shows the minutes spent against the budget and no estimate of the time to reach ``total``.
    """

    def __init__(self, total, start=0, description="training", budget_minutes=None):
        if not 0 <= start <= total:
            raise ValueError(f"start must lie between 0 and total={total}; got start={start}")
        if budget_minutes is None:
            bar_format = "{desc} |{bar:20}| epoch {n_fmt}/{total_fmt} [{elapsed} spent, {remaining} to go{postfix}]"
        else:
            bar_format = ("{desc}: epoch {n_fmt} of at most {total_fmt} "
                          f"[{{elapsed}} spent of the {budget_minutes:g}-minute budget{{postfix}}]")
        # stdout, not tqdm's default stderr: Jupyter shows stderr on a pink background, as if it
        # were an error. Plain tqdm, not tqdm.auto: a widget bar would store as an empty box.
        self._bar = tqdm(total=total, initial=start, desc=description, file=sys.stdout, mininterval=0,
                         bar_format=bar_format)

    def update(self, values, last=False):
        """Count one more finished epoch and show its ``{name: number}`` values.

        ``last=True`` says that the run ends with this epoch before ``total`` (stopped early).
        """
        self._bar.set_postfix({name: f"{float(value):.4g}" for name, value in values.items()}, refresh=False)
        if last or self._bar.n + 1 >= self._bar.total:
            self._bar.n += 1  # the last epoch: close() draws the final line, so it is not stored twice
        else:
            self._bar.update(1)

    @property
    def text(self):
        """The bar as it is drawn now (one line)."""
        return str(self._bar)

    def close(self):
        self._bar.close()


class EpochBarCallback(keras.callbacks.Callback):
    """Draws an ``EpochBar`` under ``fit(..., verbose=0)``, from epoch ``start`` (a resumed run) on.

    ``budget``: the ``budget.TimeBudget`` of the same ``fit``, if any, so that the bar counts against its
    minutes rather than towards ``fit``'s epoch cap. With ``verbose=1`` or ``2`` Keras prints its own
    progress and no bar is drawn, so the two never overwrite each other. An epoch is drawn when the next one begins or when training ends, so a
    run stopped early by another callback (a time budget, early stopping) draws its last line once.
    """

    def __init__(self, description="training", start=0, budget=None):
        super().__init__()
        self.description = description
        self.start = start
        self.budget_minutes = None if budget is None else budget.minutes
        self.bar = None
        self._finished = None  # the values of a finished epoch not drawn yet

    def on_train_begin(self, logs=None):
        if not self.params.get("verbose"):
            total = self.params["epochs"]  # a run may hold more epochs than this fit asks for: a full bar
            self.bar = EpochBar(total, start=min(self.start, total), description=self.description,
                                budget_minutes=self.budget_minutes)

    def on_epoch_begin(self, epoch, logs=None):
        self._draw_finished(last=False)

    def on_epoch_end(self, epoch, logs=None):
        self._finished = dict(logs or {})

    def on_train_end(self, logs=None):
        self._draw_finished(last=True)
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _draw_finished(self, last):
        if self.bar is not None and self._finished is not None:
            self.bar.update(self._finished, last=last)
        self._finished = None
