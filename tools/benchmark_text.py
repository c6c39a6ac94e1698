"""Chapter 10's LSTM against chapter 12's transformer, for the same training minutes on one machine.

    python -m tools.benchmark --text [--minutes M]      # merged into benchmark.json under "text"

Both models are built and trained with their solution notebooks' own code (``notebook_definitions``):

1. chapter 10's LSTM: ``build_char_lstm`` and ``make_dataset`` (consecutive windows of 100 characters,
   batches of 64), Adam 3e-3 with the gradient norm clipped at 1, as that notebook compiles it;
2. chapter 12's transformer: ``compiled_model`` (AdamW, warm-up then cosine decay, clipping) and
   ``random_windows`` (windows at random starts). Its schedule needs the number of steps the run will take,
   so the chapter's own ``training_speeds`` times throw-away models with and without XLA, taking turns; the
   faster way is used, and the schedule spans that rate times the training time.

Both are seeded as chapter 12 is, without TensorFlow's deterministic ops (Keras refuses XLA with them on, and
one process cannot run one model with and one without). They train in alternating chunks in one process
(``benchmark.Recipe``): the LSTM trains until its clock
reaches the next measurement time and is measured, then the transformer does the same, and so on, so that
a machine that grows busier or quieter slows both alike. Each clock counts training alone. At each
measurement both are scored on the whole validation text (the last 10% of tiny-shakespeare) with their
notebook's own ``bits_per_character``, each reading it in windows of its own training length. Reported:
both curves, the final bits per character, and for each the first measured minute at or below
``TARGET_BITS`` (2.5 bits/char), with the ratio of those minutes (LSTM / transformer). The budget is by default
the shorter of the two chapters' full-run training times (from their results files).
"""

import datetime
import io
import time

import keras
import numpy as np

from course_utils import accelerator, data, results, runmode
from course_utils.files import REPO_ROOT, atomic_write
from tools.benchmark import Recipe, measurement_minutes, minutes_to_reach, time_ratio
from tools.notebook_code import notebook_definitions
from tools.run_course import RESULTS_DIR, versions

LSTM_NOTEBOOK = REPO_ROOT / "solutions" / "10_text_generation_lstm.ipynb"
TRANSFORMER_NOTEBOOK = REPO_ROOT / "solutions" / "12_transformer_text_generation.ipynb"
TARGET_BITS = 2.5
FIGURE = RESULTS_DIR / "benchmark_text.png"


def corpus():
    """tiny-shakespeare as ids over the vocabulary of the whole file, split 90/10 by position, as both chapters do."""
    text = data.load_text("tinyshakespeare")
    vocabulary = sorted(set(text))
    lookup = {char: i for i, char in enumerate(vocabulary)}
    ids = np.array([lookup[char] for char in text], dtype=np.int32)
    split = int(0.9 * len(ids))
    return ids[:split], ids[split:], len(vocabulary)


def lstm_recipe(train_ids, validation_ids, vocab_size):
    """Chapter 10's LSTM and its training, with a scorer of the validation text in that notebook's way."""
    ns = notebook_definitions(LSTM_NOTEBOOK, names=("build_char_lstm", "make_dataset", "bits_per_character",
                                                    "BATCH_SIZE", "SEQ_LEN"))
    model, _ = ns["build_char_lstm"](vocab_size)
    model.compile(optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    train = ns["make_dataset"](train_ids, shuffle=True).repeat()
    validation = ns["make_dataset"](validation_ids, shuffle=False)
    targets = np.concatenate([y.numpy() for _, y in validation])

    def score():
        return ns["bits_per_character"](model.predict(validation, verbose=0), targets)

    about = {"name": "LSTM (chapter 10)", "source": LSTM_NOTEBOOK.relative_to(REPO_ROOT).as_posix(),
             "parameters": model.count_params(), "batch": f"{ns['BATCH_SIZE']} windows of {ns['SEQ_LEN']}",
             "optimizer": "Adam 3e-3, clipnorm 1", "xla": False}
    return Recipe(lambda batch: model.train_on_batch(*batch), train, sampler=model), score, about


def transformer_recipe(train_ids, validation_ids, minutes):
    """Chapter 12's transformer with a schedule for ``minutes`` of training, and its scorer."""
    ns = notebook_definitions(TRANSFORMER_NOTEBOOK, names=("compiled_model", "training_speeds", "random_windows",
                                                           "bits_per_character", "BATCH_SIZE", "CONTEXT"))
    train = ns["random_windows"](train_ids, ns["CONTEXT"], ns["BATCH_SIZE"], seed=0)
    batches = iter(train)
    rates = ns["training_speeds"]((False, True), batches)
    use_xla = rates.get(True, 0.0) > rates[False]
    total_steps = int(rates[use_xla] * 60 * minutes)
    model = ns["compiled_model"](use_xla, total_steps)

    def score():
        return ns["bits_per_character"](model, validation_ids)

    about = {"name": "transformer (chapter 12)", "source": TRANSFORMER_NOTEBOOK.relative_to(REPO_ROOT).as_posix(),
             "parameters": None, "batch": f"{ns['BATCH_SIZE']} windows of {ns['CONTEXT']}",
             "optimizer": "AdamW, warm-up and cosine decay, global clipnorm 1", "xla": use_xla,
             "probe_steps_per_s": {"without XLA": round(rates[False], 2),
                                   "with XLA": round(rates[True], 2) if True in rates else None},
             "schedule_steps": total_steps}
    recipe = Recipe(lambda batch: model.train_on_batch(*batch), train, sampler=model)
    recipe.batches = batches  # go on where the probes stopped: the windows are random anyway
    model(np.zeros((1, ns["CONTEXT"]), np.int32))
    about["parameters"] = model.count_params()
    return recipe, score, about


def chapters_training_minutes(results_dir=RESULTS_DIR):
    """The shorter of chapters 10's and 12's full-run training times, in minutes."""
    found = {}
    for name, model in (("10_text_generation_lstm.json", None), ("12_transformer_text_generation.json", "transformer")):
        entry = results.find(results.read(results_dir / name), results.TRAINING_TIME, model)
        if entry is None:
            raise SystemExit(f"no training time in {results_dir / name}: run that chapter in full, or pass --minutes")
        found[name] = float(entry["value"])
    return min(found.values())


def text_case(budget, every=6, log=print):
    """Train both for ``budget`` minutes each in alternating chunks, scoring both at the same training minutes."""
    wall_start = time.perf_counter()
    runmode.set_seed(0, deterministic=False)  # Keras compiles with XLA only without deterministic ops (as chapter 12)
    train_ids, validation_ids, vocab_size = corpus()
    built = {"lstm": lstm_recipe(train_ids, validation_ids, vocab_size),
             "transformer": transformer_recipe(train_ids, validation_ids, budget)}
    marks = measurement_minutes(budget, every=every, early=1)
    curves = {key: [] for key in built}
    log(f"Text: {budget:.2f} training minutes per model, measured {len(marks)} times on {len(validation_ids):,} "
        f"validation characters")
    for index, mark in enumerate(marks, start=1):
        for key, (recipe, score, about) in built.items():
            recipe.train_until(60 * mark)
            point = {"minutes": round(recipe.seconds / 60, 4), "bits_per_character": round(score(), 4)}
            curves[key].append(point)
            log(f"[{index:2d}/{len(marks)}] at {mark:.2f} min: {about['name']}: {point['minutes']:.2f} training min, "
                f"{recipe.steps} steps, {point['bits_per_character']:.3f} bits/char")
    models = {}
    for key, (recipe, _, about) in built.items():
        reached, before = minutes_to_reach(curves[key], TARGET_BITS, key="bits_per_character")
        models[key] = {**about, "curve": curves[key], "final": curves[key][-1], "steps": recipe.steps,
                       "training_minutes": round(recipe.seconds / 60, 3),
                       f"minutes_to_{TARGET_BITS:g}_bits": reached, f"{TARGET_BITS:g}_bits_after_minutes": before}
    lstm_minutes = models["lstm"][f"minutes_to_{TARGET_BITS:g}_bits"]
    transformer_minutes = models["transformer"][f"minutes_to_{TARGET_BITS:g}_bits"]
    return {"hardware": accelerator.hardware_line(), "cpu": accelerator.cpu_model(),
            "date": datetime.date.today().isoformat(), "versions": versions(), "budget_min": round(budget, 3),
            "measured_at_min": [round(m, 4) for m in marks], "target_bits": TARGET_BITS,
            "validation_characters": len(validation_ids),
            "order": "alternating chunks in one process: each model trains up to the next measurement time, then "
                     "is scored; clocks count training only",
            "models": models,
            f"minutes_to_{TARGET_BITS:g}_bits_ratio": time_ratio(lstm_minutes, transformer_minutes,
                                                                  ("the LSTM", "the transformer"),
                                                                  f"{TARGET_BITS:g} bits/char"),
            "ahead_at_the_end": min(models, key=lambda key: models[key]["final"]["bits_per_character"]),
            "wall_minutes": round((time.perf_counter() - wall_start) / 60, 2)}


def text_figure(record, path):
    """Both models' validation bits per character against training minutes, with the target marked."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.6))
    ax = figure.subplots()
    for model in record["models"].values():
        ax.plot([p["minutes"] for p in model["curve"]], [p["bits_per_character"] for p in model["curve"]],
                marker="o", markersize=3, label=f"{model['name']}, {model['parameters']:,} parameters")
    ax.axhline(record["target_bits"], color="gray", linestyle="--", linewidth=1,
               label=f"{record['target_bits']:g} bits/char")
    ax.set_ylim(top=min(5.0, ax.get_ylim()[1]))
    ax.set_xlabel("training minutes")
    ax.set_ylabel("validation bits per character")
    ax.set_title(f"tiny-shakespeare, the same training time each; {record['cpu']}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    with atomic_write(path, mode="wb") as file:
        file.write(buffer.getvalue())
