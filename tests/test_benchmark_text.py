"""The text benchmark: chapter 10's LSTM against chapter 12's transformer, and its section of the results page."""

import json

import numpy as np
import pytest

from tools import benchmark_text, results_pages
from tools.benchmark import NOT_REACHED, time_ratio


def _model(name, bits, reached, parameters=1000):
    curve = [{"minutes": 0.0, "bits_per_character": 6.0}, {"minutes": 1.0, "bits_per_character": bits}]
    return {"name": name, "source": f"solutions/{name}.ipynb", "parameters": parameters, "batch": "16 windows of 64",
            "xla": name == "transformer", "steps": 120, "training_minutes": 1.0, "curve": curve, "final": curve[-1],
            "minutes_to_2.5_bits": reached, "2.5_bits_after_minutes": 0.0 if reached != NOT_REACHED else None}


def test_the_ratio_is_the_lstms_minutes_over_the_transformers_or_says_who_missed():
    names, target = ("the LSTM", "the transformer"), "2.5 bits/char"
    assert time_ratio(6.0, 3.0, names, target) == 2.0
    assert time_ratio(NOT_REACHED, 3.0, names, target) == (
        "not defined: the LSTM did not reach 2.5 bits/char within the budget")
    assert "the LSTM and the transformer" in time_ratio(NOT_REACHED, NOT_REACHED, names, target)


def test_results_page_states_who_is_ahead_and_the_ratio(tmp_path):
    record = {"text": {"target_bits": 2.5, "budget_min": 1.0, "budget_from": "--minutes", "validation_characters": 111540,
                       "hardware": "CPU only, 2 cores (x86_64)", "date": "2026-12-07", "measured_at_min": [0.0, 1.0],
                       "models": {"lstm": _model("lstm", 2.4, 1.0), "transformer": _model("transformer", 2.6, NOT_REACHED)},
                       "ahead_at_the_end": "lstm", "minutes_to_2.5_bits_ratio": "not defined: ...",
                       "figure": "benchmark_text.png"}}
    (tmp_path / "benchmark.json").write_text(json.dumps(record))
    summary = results_pages.text_benchmark_summary(tmp_path)
    assert "**lstm** is ahead" in summary and "minutes to 2.5 bits/char: **not defined: ...**" in summary
    assert "| 0.00 to 1.00 |" in summary and "| > budget |" in summary
    assert "| 1.00 | 2.400 | 2.600 |" in summary
    assert "![" not in summary, "no picture is linked while its file is missing"


@pytest.mark.slow
def test_both_models_train_on_their_own_clocks_and_are_scored_alike(monkeypatch):
    text_ids = np.random.default_rng(0).integers(0, 65, 30_000).astype(np.int32)
    monkeypatch.setattr(benchmark_text, "corpus", lambda: (text_ids[:27_000], text_ids[27_000:], 65))
    monkeypatch.setenv("COURSE_MODE", "smoke")  # chapter 12's XLA probe: a step or two each way
    record = benchmark_text.text_case(budget=0.02, every=1, log=lambda line: None)
    assert set(record["models"]) == {"lstm", "transformer"}
    for model in record["models"].values():
        minutes = [point["minutes"] for point in model["curve"]]
        assert minutes[0] == 0.0 and minutes == sorted(minutes) and model["steps"] > 0
        assert 5.0 < model["curve"][0]["bits_per_character"] < 7.5, "untrained: about log2(65) = 6.02 bits"
    assert record["ahead_at_the_end"] in record["models"]
