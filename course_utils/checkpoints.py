"""Training that survives disconnects: save every epoch, resume when the cell is re-run.

``TrainingCheckpoint`` wraps ``tf.train.Checkpoint`` and ``tf.train.CheckpointManager``. It
saves the objects you hand it (models, optimizers), an epoch counter and the history of
per-epoch losses into one folder, and on construction restores the latest save from that
folder. After a disconnect you re-run the notebook's cells; the training cell then carries on
from the last finished epoch instead of starting again.

With ``model.fit`` (``verbose=0``: the callback draws a progress bar over the epochs instead)::

    ckpt = checkpoints.TrainingCheckpoint("dcgan_svhn", gan=gan)
    gan.fit(data, epochs=EPOCHS, initial_epoch=ckpt.epoch, callbacks=[ckpt.callback()], verbose=0)

With a hand-written loop::

    ckpt = checkpoints.TrainingCheckpoint("gan_mnist", generator=g, discriminator=d,
                                          g_optimizer=g_opt, d_optimizer=d_opt)
    for epoch in ckpt.epochs(EPOCHS):       # starts after the last saved epoch
        ...                                 # one epoch of training
        ckpt.save(d_loss=d_loss, g_loss=g_loss)   # prints one line per epoch, like fit(verbose=2)

The default folder is ``files.cache_dir()/checkpoints/<mode>/<run name>``. Pass ``directory=``
to keep checkpoints elsewhere, e.g. on Google Drive in Colab, where they outlive the runtime.
Pass ``fresh=True`` to start over. Two kinds of run always start over: a smoke run (the tests),
so that every test trains, and a run recorded by the course runner from its start
(``runmode.records_whole_run()``), so that stored outputs and timings are those of a whole run; the
runner's ``--resume`` finishes an interrupted run from its checkpoints instead.
Not saved: the shuffling order of the data and callbacks' own state (e.g. sample snapshots).
"""

import json
import math
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from course_utils import files, progress, runmode

HISTORY_FILE = "history.json"


def default_directory(run_name):
    """Where a run's checkpoints go unless you say otherwise: under the course's cache folder."""
    return files.cache_dir() / "checkpoints" / runmode.mode() / run_name


class TrainingCheckpoint:
    """Save models, optimizers, an epoch counter and the loss history; resume from the last save.

    ``run_name`` names the run (and its default folder); ``objects`` are the things to save,
    passed by keyword, e.g. ``gan=gan`` (a ``keras.Model`` saves its weights and, once
    compiled, its optimizers) or ``generator=g, g_optimizer=opt``. ``max_to_keep`` older saves
    are kept. After construction, ``epoch`` is the number of finished epochs (0 for a new run)
    and ``history`` holds their losses.
    """

    def __init__(self, run_name, directory=None, max_to_keep=2, fresh=False, **objects):
        if not objects:
            raise ValueError(
                "TrainingCheckpoint needs the objects to save, by keyword, e.g. "
                "TrainingCheckpoint('my_run', generator=g, g_optimizer=g_opt)."
            )
        self.run_name = run_name
        self.directory = Path(directory) / run_name if directory else default_directory(run_name)
        # Where the checkpoints are, as printed: the default folder relative to the cache folder,
        # so that stored notebook outputs name no machine. `directory` has the full path.
        self.location = (str(self.directory) if directory else
                         f"<course cache>/checkpoints/{runmode.mode()}/{run_name}")
        starts_over = fresh or runmode.is_smoke() or runmode.records_whole_run()
        if starts_over and self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._checkpoint = tf.train.Checkpoint(epoch=self._epoch, **objects)
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(self.directory), max_to_keep)
        self._records = []
        self._epoch_started = None
        self._restore()

    # --- state --------------------------------------------------------------------------------

    @property
    def epoch(self):
        """Number of finished epochs (what ``fit`` calls ``initial_epoch``)."""
        return int(self._epoch.numpy())

    @property
    def history(self):
        """Per-epoch values of every run so far, ``{name: [value per epoch]}`` (for plot_history)."""
        names = [name for record in self._records for name in record if name != "epoch"]
        return {name: [record.get(name, math.nan) for record in self._records]
                for name in dict.fromkeys(names)}

    def _restore(self):
        latest = self._manager.latest_checkpoint
        if latest is None:
            print(f"No checkpoint in {self.location}: training starts at epoch 1.")
            return
        # Objects whose variables do not exist yet (an optimizer before its first step) are
        # filled in as soon as they are created ("deferred restoration").
        try:
            status = self._checkpoint.restore(latest)
            status.assert_existing_objects_matched()
        except (AssertionError, ValueError) as error:
            raise ValueError(
                f"the checkpoint {latest} does not fit the objects you passed (did the model "
                f"change since it was saved?). Pass fresh=True to start over, or another run "
                f"name. Details: {str(error)[:300]}"
            ) from None
        status.expect_partial()  # no warning about optimizer slots that a finished run never creates
        self._records = [record for record in self._read_history() if record["epoch"] <= self.epoch]
        print(f"Restored {Path(latest).name} from {self.location}: {self.epoch} epoch(s) done; "
              "training carries on from there.")

    def _read_history(self):
        path = self.directory / HISTORY_FILE
        return json.loads(path.read_text()) if path.exists() else []

    # --- saving -------------------------------------------------------------------------------

    def save(self, logs=None, **values):
        """Mark one more epoch as finished: record its losses, save everything, print one line.

        Losses come as a dict (``logs``, e.g. from a Keras callback) and/or keywords; tensors
        and NumPy numbers are fine. Returns the path of the new checkpoint.
        """
        values = {**(logs or {}), **values}
        record = {"epoch": self.epoch + 1}
        for name, value in values.items():
            try:
                record[name] = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"can only record numbers; {name!r} is {type(value).__name__}") from None
        # The history is written before the checkpoint: should the run die in between, the
        # next restore drops the history entry of the epoch the checkpoint does not have.
        self._records.append(record)
        self._write_history()
        self._epoch.assign_add(1)
        path = self._manager.save(checkpoint_number=self.epoch)
        return path

    def _write_history(self):
        with files.atomic_write(self.directory / HISTORY_FILE) as file:  # a disconnect never leaves half a file
            file.write(json.dumps(self._records, indent=1))

    # --- a hand-written loop ------------------------------------------------------------------

    def epochs(self, total):
        """Iterate over the epochs still to do (0-based, like ``fit``), printing progress.

        Call ``save(...)`` once at the end of each epoch; it prints
        ``Epoch 3/20 - 41s - d_loss: 0.6123 - g_loss: 1.2345``.
        """
        if self.epoch >= total:
            print(f"All {total} epochs are done already (checkpoint in {self.location}); "
                  "nothing to train. Pass fresh=True to train again from scratch.")
        for epoch in range(self.epoch, total):
            self._epoch_started = time.perf_counter()
            yield epoch
            if self.epoch != epoch + 1:
                raise RuntimeError(
                    f"epoch {epoch + 1} ended without ckpt.save(...): call it once at the end of "
                    "every epoch, so the run can resume after a disconnect."
                )
            self._print_epoch(total)

    def _print_epoch(self, total):
        seconds = time.perf_counter() - self._epoch_started
        values = " - ".join(f"{name}: {value:.4f}" for name, value in self._records[-1].items()
                            if name != "epoch")
        print(f"Epoch {self.epoch}/{total} - {seconds:.0f}s" + (f" - {values}" if values else ""),
              flush=True)

    # --- model.fit ----------------------------------------------------------------------------

    def callback(self, budget=None):
        """A Keras callback that saves at the end of every epoch of ``model.fit``.

        Start ``fit`` with ``initial_epoch=ckpt.epoch`` so that it resumes where the last run
        stopped. Under ``fit(verbose=0)`` the callback shows a progress bar over the epochs with
        the latest losses (``progress.EpochBar``); with ``verbose=1`` or ``2`` Keras prints its own
        progress and the callback draws no bar, so the two never overwrite each other. ``budget``: the
        ``budget.TimeBudget`` of the same ``fit``, which the bar then counts against.
        """
        return _SaveEveryEpoch(self, budget)


class _SaveEveryEpoch(progress.EpochBarCallback):
    """Calls ``TrainingCheckpoint.save`` with fit's logs after every epoch; draws the epoch bar."""

    def __init__(self, checkpoint, budget=None):
        super().__init__(description=checkpoint.run_name, start=checkpoint.epoch, budget=budget)
        self.checkpoint = checkpoint

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if epoch != self.checkpoint.epoch:
            raise RuntimeError(
                f"fit starts at epoch {epoch + 1} but the checkpoint has {self.checkpoint.epoch} "
                f"finished epoch(s): pass initial_epoch=ckpt.epoch to fit."
            )

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.save(logs)
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        print(f"Checkpoint: {self.checkpoint.epoch} epoch(s) saved in {self.checkpoint.location}")
