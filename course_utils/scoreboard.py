"""The scoreboards: every MNIST generator the course trains side by side on one yardstick, every model
of text on chapter 10's validation text, and the face generators on chapter 13's yardstick.

Every number is read from the results files of the full runs, ``solutions/results/NN_name.json``
(written by ``python -m tools.run_course``); none is typed by hand. A number a file does not hold shows
as "—". ``GENERATORS`` below says where each generator's numbers live: its results file and the model
its entries name; numbers are found by what they measure (``results.find``), never by their printed
names. Correct a model name there, and only there.

    rows()              the data: one dict per generator
    markdown_table(rs)  the rows as a Markdown table (the README's scoreboard is this table)
    show()              for a notebook: the table and a bar chart of Fréchet distance per generator
                        (``this_notebook=``: that notebook's rows from the run in progress)
    text_rows(), text_markdown_table(rs), show_text()    the same for the text scoreboard (``TEXT_MODELS``)
    face_rows(), face_markdown_table(rs), show_faces()   the same for the faces scoreboard (``FACE_MODELS``)
"""

import datetime
import re
from collections import namedtuple
from pathlib import Path

from course_utils import results, runmode
from course_utils.files import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "solutions" / "results"
MISSING = "—"
SAMPLES = 10000  # the sampling-time column is the time to draw this many samples

Generator = namedtuple("Generator", "name results_file model training_time sampling_time likelihood",
                       defaults=(False,))

# Where each generator's numbers live: its results file and the ``model`` its entries name
# (``metrics.report_generative_quality(..., label=model)`` reports its quality). ``training_time``: the
# models whose training times (``results.TRAINING_TIME``, minutes) add up to the generator's (latent
# diffusion: its autoencoder and its denoiser; ``None``: the chapter's one unnamed training time);
# ``sampling_time``: the model whose ``results.SAMPLING_TIME`` entry timed drawing the samples scored;
# ``likelihood``: the model gives the exact likelihood of 8-bit pixels, reported as test bits per dimension
# (``results.BITS_PER_DIMENSION``). The others have none to report: a GAN or a sampler has no likelihood,
# and the VAEs' bound is of binarised digits, another quantity.
# Chapter 11's pixel-space model's ancestral sampler is scored on 300 samples only (1,000 U-Net calls per
# sample), so that row's distance has a higher floor than the others; the table names the sample count.
GENERATORS = (
    Generator("dense VAE", "03_variational_autoencoders.json", "dense VAE", ("dense VAE",), "dense VAE"),
    Generator("conv VAE", "03_variational_autoencoders.json", "conv VAE", ("conv VAE",), "conv VAE"),
    Generator("VAE, autoregressive decoder", "03_variational_autoencoders.json", "conv VAE, autoregressive decoder",
              ("conv VAE, autoregressive decoder",), "conv VAE, autoregressive decoder"),
    Generator("dense GAN (averaged generator)", "04_gan_mnist.json", "averaged generator", (None,),
              "averaged generator"),
    Generator("AC-GAN", "07_conditional_gan.json", "AC-GAN", ("AC-GAN",), "AC-GAN"),
    Generator("WGAN-GP (dense)", "08_gan_failure_modes_wgan_gp.json", "WGAN-GP (dense)", ("WGAN-GP (dense)",),
              "WGAN-GP (dense)"),
    Generator("pixel-space diffusion, DDPM 1000 steps", "11_diffusion_models.json", "pixel-space DDPM (DDPM 1000)",
              ("pixel-space DDPM",), "pixel-space DDPM (DDPM 1000)"),
    Generator("pixel-space diffusion, DDIM 25 steps", "11_diffusion_models.json", "pixel-space DDPM (DDIM 25)",
              ("pixel-space DDPM",), "pixel-space DDPM (DDIM 25)"),
    Generator("latent diffusion, DDPM 1000 steps", "11_diffusion_models.json", "latent diffusion (DDPM 1000)",
              ("autoencoder", "latent diffusion (denoiser)"), "latent diffusion"),
    Generator("VQ-VAE + transformer prior", "14_vq_vae.json", "VQ-VAE + transformer prior",
              ("VQ-VAE (128 codes)", "transformer prior"), "VQ-VAE + transformer prior"),
    Generator("RealNVP (normalizing flow)", "15_normalizing_flows.json", "RealNVP", ("RealNVP",), "RealNVP",
              likelihood=True),
    Generator("latent flow matching, Heun 10 steps", "15_normalizing_flows.json", "latent flow matching (Heun 10)",
              ("latent flow matching (autoencoder)", "latent flow matching (velocity network)"),
              "latent flow matching (Heun 10)"),
)

COLUMNS = ("generator", "Fréchet distance (floor)", "confidently classified", "class coverage", "test bits/dim",
           "training time", f"time to draw {SAMPLES:,} samples", "hardware, date")
NO_LIKELIHOOD = "n/a"


def _record(results_dir, name, cache):
    """The full-run results file ``name`` as a dict, or None (no file, or not a full run)."""
    if name not in cache:
        record = results.read(Path(results_dir) / name)
        cache[name] = record if record is not None and record.get("mode", "full") == "full" else None
    return cache[name]


def _value(entry):
    return None if entry is None else entry["value"]


def _minutes(record, models):
    """The training minutes of ``models`` added up, or None if any of them is missing."""
    values = [_value(results.find(record, results.TRAINING_TIME, model)) for model in models]
    return None if None in values else sum(values)


def _machine(record):
    """The hardware, date and speed index (None where not measured) of the run ``record``, all None without one."""
    if record is None:
        return {"hardware": None, "date": None, "speed_index": None}
    index = record.get("speed", {}).get("index")
    return {"hardware": record["hardware"], "date": record["date"], "speed_index": index}


def _machine_cell(row):
    """"CPU only, 2 cores (AMD EPYC), 2026-12-08 (speed index 2.68)": two runs whose hardware reads alike may
    still differ in speed, and their training times are only comparable beside the index."""
    where = f"{row['hardware']}, {row['date']}"
    return where if row["speed_index"] is None else f"{where} (speed index {row['speed_index']:.2f})"


def rows(results_dir=RESULTS_DIR, running=None):
    """One dict per generator of ``GENERATORS``, in that order; None for every number not in the files.

    ``running``: ``{results file name: record}`` read in place of those stored files (a run in progress).

    Keys: generator, results_file, frechet_distance, floor, samples (how many the distance compared),
    confidently_classified (%), class_coverage, classes, bits_per_dimension, likelihood, training_time_min, sampling_time_s (for
    ``SAMPLES`` samples, scaled when the run drew another number), sampling_samples (how many it drew),
    hardware, date, speed_index (of the machine, where the run measured it).
    """
    cache, table = dict(running or {}), []
    for generator in GENERATORS:
        record = _record(results_dir, generator.results_file, cache)
        distance = results.find(record, results.FRECHET_DISTANCE, generator.model)
        coverage = results.find(record, results.CLASS_COVERAGE, generator.model)
        classes = re.search(r"of (\d+)", coverage.get("unit", "")) if coverage else None
        sampling = results.find(record, results.SAMPLING_TIME, generator.sampling_time)
        drawn = sampling.get("samples") if sampling else None
        row = {"generator": generator.name, "results_file": generator.results_file,
               "frechet_distance": _value(distance), "samples": distance.get("samples") if distance else None,
               "floor": _value(results.find(record, results.FRECHET_FLOOR, generator.model)),
               "confidently_classified": _value(results.find(record, results.CONFIDENTLY_CLASSIFIED, generator.model)),
               "class_coverage": _value(coverage), "classes": int(classes.group(1)) if classes else None,
               "bits_per_dimension": _value(results.find(record, results.BITS_PER_DIMENSION, generator.model)),
               "likelihood": generator.likelihood,
               "training_time_min": _minutes(record, generator.training_time),
               "sampling_time_s": None if sampling is None else (
                   sampling["value"] if drawn in (None, SAMPLES) else sampling["value"] * SAMPLES / drawn),
               "sampling_samples": drawn,
               **_machine(record)}
        table.append(row)
    return table


def _cell(value, form):
    """``value`` written by ``form`` (a format string for it), or "—" when it is missing."""
    return MISSING if value is None else form.format(value)


def _seconds(seconds):
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.0f} s"


def _row_cells(row):
    distance = MISSING
    if row["frechet_distance"] is not None:
        details = [f"floor {row['floor']:.2f}" if row["floor"] is not None else f"floor {MISSING}"]
        if row["samples"] not in (None, SAMPLES):
            details.append(f"{row['samples']:,} samples")
        distance = f"{row['frechet_distance']:.1f} ({'; '.join(details)})"
    coverage = _cell(row["class_coverage"], "{} of " + str(row["classes"] or "?"))
    sampling = MISSING
    if row["sampling_time_s"] is not None:
        sampling = _seconds(row["sampling_time_s"])
        if row["sampling_samples"] not in (None, SAMPLES):
            sampling = f"≈{sampling} (scaled from {row['sampling_samples']:,})"
    numbers = ("frechet_distance", "confidently_classified", "class_coverage", "training_time_min", "sampling_time_s")
    measured = row["hardware"] is not None and any(row[key] is not None for key in numbers)
    where = _machine_cell(row) if measured else MISSING  # the machine of the numbers shown
    bits = _cell(row["bits_per_dimension"], "{:.2f}") if row["likelihood"] else NO_LIKELIHOOD
    return [row["generator"], distance,
            _cell(row["confidently_classified"], "{:.1f}%"), coverage, bits,
            _cell(row["training_time_min"], "{:.1f} min"), sampling, where]


def markdown_table(table):
    """``table`` (from ``rows()``) as a Markdown table, "—" where a number is not in the files."""
    lines = [f"| {' | '.join(COLUMNS)} |", "|" + "---|" * len(COLUMNS)]
    lines += [f"| {' | '.join(_row_cells(row))} |" for row in table]
    return "\n".join(lines)


def bar_chart(table):
    """A horizontal bar chart of Fréchet distance per generator, each generator's floor marked.

    Generators without a distance are left out. Returns the matplotlib figure (None: nothing measured).
    """
    import matplotlib.pyplot as plt

    measured = [row for row in table if row["frechet_distance"] is not None]
    if not measured:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(measured) + 1.2))
    positions = range(len(measured))
    ax.barh(positions, [row["frechet_distance"] for row in measured], color="tab:blue")
    floors = [(i, row["floor"]) for i, row in enumerate(measured) if row["floor"] is not None]
    if floors:
        ax.scatter([f for _, f in floors], [i for i, _ in floors], marker="|", s=400, color="black", zorder=3,
                   label="floor (real train vs real test)")
        ax.legend(loc="lower right")
    for i, row in enumerate(measured):
        ax.text(row["frechet_distance"], i, f" {row['frechet_distance']:.1f}", va="center")
    ax.set_yticks(list(positions), [row["generator"] for row in measured])
    ax.invert_yaxis()
    ax.set_xlabel("Fréchet distance (MNIST classifier features; lower is better)")
    ax.set_title("Every MNIST generator of the course, from the full runs' results files")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# The text scoreboard: every model of text, on chapter 10's validation text
# ---------------------------------------------------------------------------------------------

TextModel = namedtuple("TextModel", "name results_file model counted")

# Where each text model's numbers live: its results file and the ``model`` its entries name (None: the
# chapter's one unnamed model); ``counted``: a
# model made by counting characters in the training text, with no training. Each is measured on the same
# text (tiny-shakespeare's last 10%, after training on the first 90%).
TEXT_MODELS = (
    TextModel("unigram baseline (character frequencies)", "10_text_generation_lstm.json", "unigram baseline", True),
    TextModel("n-gram (character counts)", "12_transformer_text_generation.json", "n-gram", True),
    TextModel("LSTM (chapter 10)", "10_text_generation_lstm.json", None, False),  # the chapter's one network
    TextModel("transformer (chapter 12)", "12_transformer_text_generation.json", "transformer", False),
)
COUNTED = "none (counted)"
TEXT_COLUMNS = ("model", "validation bits/char", "parameters", "training time", "generation speed", "hardware, date")


def text_rows(results_dir=RESULTS_DIR, running=None):
    """One dict per model of ``TEXT_MODELS``; None for every number not in the files.

    Keys: model, results_file, counted, bits_per_character, parameters, training_time_min, characters_per_second,
    hardware, date, speed_index. ``running`` as for ``rows``.
    """
    cache, table = dict(running or {}), []
    for text_model in TEXT_MODELS:
        record = _record(results_dir, text_model.results_file, cache)
        number = {measure: _value(results.find(record, measure, text_model.model))
                  for measure in (results.BITS_PER_CHARACTER, results.PARAMETERS, results.TRAINING_TIME,
                                  results.GENERATION_SPEED)}
        table.append({"model": text_model.name, "results_file": text_model.results_file, "counted": text_model.counted,
                      "bits_per_character": number[results.BITS_PER_CHARACTER],
                      "parameters": number[results.PARAMETERS], "training_time_min": number[results.TRAINING_TIME],
                      "characters_per_second": number[results.GENERATION_SPEED],
                      **_machine(record)})
    return table


def text_markdown_table(table):
    """``table`` (from ``text_rows()``) as a Markdown table, "—" where a number is not in the files."""
    lines = [f"| {' | '.join(TEXT_COLUMNS)} |", "|" + "---|" * len(TEXT_COLUMNS)]
    for row in table:
        measured = row["bits_per_character"] is not None and row["hardware"] is not None
        cells = [row["model"], _cell(row["bits_per_character"], "{:.3f}"), _cell(row["parameters"], "{:,}"),
                 COUNTED if row["counted"] else _cell(row["training_time_min"], "{:.1f} min"),
                 _cell(row["characters_per_second"], "{:,.0f} chars/s"),
                 _machine_cell(row) if measured else MISSING]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The faces scoreboard: chapter 13's generators, on its own yardstick
# ---------------------------------------------------------------------------------------------

FaceModel = namedtuple("FaceModel", "name results_file model")

# The face generators and the ``model`` their entries name. Their yardstick is chapter 13's: the Fréchet
# distance in the features of a network trained on the faces themselves (``course_utils.faces_yardstick``),
# another scale than the MNIST table's, so faces get a table of their own.
FACE_MODELS = (
    FaceModel("DCGAN (chapter 13)", "13_faces_dcgan_vae.json", "DCGAN"),
    FaceModel("conv VAE (chapter 13)", "13_faces_dcgan_vae.json", "conv VAE"),
)
FACE_COLUMNS = ("generator", "faces Fréchet distance (floor; samples)", "training time", "faces", "hardware, date")


def face_rows(results_dir=RESULTS_DIR, running=None):
    """One dict per generator of ``FACE_MODELS``; None for every number not in the files.

    Keys: generator, results_file, frechet_distance, floor, samples, training_time_min, data (which faces the run
    used), hardware, date, speed_index. ``running`` as for ``rows``.
    """
    cache, table = dict(running or {}), []
    for face_model in FACE_MODELS:
        record = _record(results_dir, face_model.results_file, cache)
        distance = results.find(record, results.FRECHET_DISTANCE, face_model.model)
        table.append({"generator": face_model.name, "results_file": face_model.results_file,
                      "frechet_distance": _value(distance), "samples": distance.get("samples") if distance else None,
                      "floor": _value(results.find(record, results.FRECHET_FLOOR, face_model.model)),
                      "training_time_min": _value(results.find(record, results.TRAINING_TIME, face_model.model)),
                      "data": _value(results.find(record, results.DATA)),
                      **_machine(record)})
    return table


def face_markdown_table(table):
    """``table`` (from ``face_rows()``) as a Markdown table, "—" where a number is not in the files."""
    lines = [f"| {' | '.join(FACE_COLUMNS)} |", "|" + "---|" * len(FACE_COLUMNS)]
    for row in table:
        distance = MISSING
        if row["frechet_distance"] is not None:
            distance = (f"{row['frechet_distance']:.2f} (floor {_cell(row['floor'], '{:.2f}')}; "
                        f"{_cell(row['samples'], '{:,}')})")
        measured = row["frechet_distance"] is not None and row["hardware"] is not None
        cells = [row["generator"], distance, _cell(row["training_time_min"], "{:.1f} min"), row["data"] or MISSING,
                 _machine_cell(row) if measured else MISSING]
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


def _this_run(results_file):
    """This notebook's numbers so far as ``{results_file: record}``, when the course runner records the run.

    The runner writes a notebook's results file only after the notebook has finished; until then its
    numbers are in ``runmode.results_file()``. Empty when the run is not recorded (a learner's run).
    """
    path = runmode.results_file()
    if results_file is None or path is None or not path.exists():
        return {}
    from course_utils.accelerator import hardware_line

    record = {"metrics": results.read(path).get("metrics", {}), "hardware": hardware_line(),
              "date": datetime.date.today().isoformat(), "mode": runmode.mode()}
    return {results_file: record if record["mode"] == "full" else None}


def _display(text, missing):
    """Show the Markdown table ``text`` in a notebook (printed elsewhere), then the names of ``missing`` rows."""
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        in_notebook = get_ipython() is not None
    except ImportError:
        in_notebook = False
    if in_notebook:
        display(Markdown(text))
    else:
        print(text)
    if missing:
        print("not measured yet: " + ", ".join(missing))


def _no_results_folder(results_dir):
    """Say so in one line and return True when the results folder is not here (the package installed alone)."""
    if Path(results_dir).is_dir():
        return False
    print(f"No scoreboard: the results folder {results_dir} is not here (it comes with a checkout of the "
          f"course's repository, not with the package alone).")
    return True


def _show_table(rows, markdown_table, name, measured, results_dir, this_notebook):
    """Show the table that ``rows`` reads from ``results_dir``, then the ``name`` of each row without a
    ``measured`` value; returns the rows (None without a results folder)."""
    if _no_results_folder(results_dir):
        return None
    table = rows(Path(results_dir), running=_this_run(this_notebook))
    _display(markdown_table(table), [row[name] for row in table if row[measured] is None])
    return table


def show_text(results_dir=RESULTS_DIR, this_notebook=None):
    """Show the text scoreboard (``this_notebook``: as for ``show``); returns its rows."""
    return _show_table(text_rows, text_markdown_table, "model", "bits_per_character", results_dir, this_notebook)


def show_faces(results_dir=RESULTS_DIR, this_notebook=None):
    """Show the faces scoreboard (``this_notebook``: as for ``show``); returns its rows."""
    return _show_table(face_rows, face_markdown_table, "generator", "frechet_distance", results_dir, this_notebook)


def show(results_dir=RESULTS_DIR, this_notebook=None):
    """Show the scoreboard: the table, the bar chart and the generators not measured yet.

    ``this_notebook``: the results file name of the notebook calling (e.g. "11_diffusion_models.json"),
    whose rows then come from this very run when the course runner records it. Without a results folder
    (the package installed alone, e.g. on Colab), says so in one line.
    """
    if _no_results_folder(results_dir):
        return None
    table = rows(Path(results_dir), running=_this_run(this_notebook))
    _display(markdown_table(table), [row["generator"] for row in table if row["frechet_distance"] is None])
    fig = bar_chart(table)
    if fig is not None:
        import matplotlib.pyplot as plt
        plt.show()
    return table
