"""The chapter-12 checks pass the solution, and the solution's pieces work together."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import CheckFailed
from course_utils.checks import transformer as checks
from course_utils.chapters.ch12 import (GPT, Block, causal_attention, generate_cached, generate_recomputed,
                                        merge_heads, sample_next, split_heads)

# --- solutions: chapter 12's exported code, and its one solution that is not exported ---------------

def random_windows(ids, context, batch_size, seed=0):
    text = tf.constant(ids, tf.int32)
    n_starts = len(ids) - context
    starts = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % n_starts, tf.int32))
    windows = starts.map(lambda start: text[start:start + context + 1])
    pairs = windows.map(lambda window: (window[:-1], window[1:]))
    return pairs.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# --- the checks pass the solutions ---------------------------------------------------------------


def test_causal_attention_passes(capsys):
    checks.check_causal_attention(causal_attention)
    assert "PASSED" in capsys.readouterr().out


def test_split_merge_heads_passes(capsys):
    checks.check_split_merge_heads(split_heads, merge_heads)
    assert "PASSED" in capsys.readouterr().out


def test_block_passes(capsys):
    checks.check_block(Block)
    assert "PASSED" in capsys.readouterr().out


def test_gpt_passes(capsys):
    checks.check_gpt(GPT)
    assert "PASSED" in capsys.readouterr().out


def test_random_windows_passes(capsys):
    checks.check_random_windows(random_windows)
    assert "PASSED" in capsys.readouterr().out


def test_sample_next_passes(capsys):
    checks.check_sample_next(sample_next)
    assert "PASSED" in capsys.readouterr().out


def test_generate_cached_passes(capsys):
    checks.check_generate_cached(generate_cached, GPT)
    assert "PASSED" in capsys.readouterr().out


def test_unfinished_exercise_is_not_a_failed_check():
    def unfinished(*args):
        raise NotImplementedError("Exercise: write your code here (replace this line), then run the check cell below.")

    with pytest.raises(NotImplementedError, match="Exercise"):
        checks.check_causal_attention(unfinished)


def test_cached_generation_equals_recomputation_on_a_model_that_fits():
    """The pieces as the notebook uses them: a model trains a few steps, then both generators agree."""
    model = GPT(vocab_size=20, context=16, width=16, heads=2, depth=2)
    model.compile(keras.optimizers.AdamW(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = np.arange(400) % 20
    model.fit(random_windows(ids, 16, 8, seed=0), steps_per_epoch=5, epochs=1, verbose=0)
    run = tf.function(model.run, reduce_retracing=True)
    draws = []
    for generate in (generate_cached, generate_recomputed):
        rng = np.random.default_rng(0)
        draws.append(generate(run, [1, 2, 3], 13, lambda logits: sample_next(logits, 1.0, 5, rng)))
    assert draws[0] == draws[1] and len(draws[0]) == 13


def test_attention_weights_are_causal_and_sum_to_one():
    model = GPT(vocab_size=20, context=16, width=16, heads=2, depth=2)
    _, presents, maps = model.run(tf.constant([[1, 2, 3, 4, 5]]))
    weights = np.asarray(maps[0])
    assert weights.shape == (1, 2, 5, 5) and np.allclose(weights.sum(-1), 1, atol=1e-5)
    assert np.allclose(np.triu(weights[0, 0], 1), 0)
    assert presents[0][0].shape == (1, 2, 5, 8)
