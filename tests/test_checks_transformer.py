"""The chapter-12 checks pass the solution, and the solution's pieces work together."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_utils.checks import CheckFailed
from course_utils.checks import transformer as checks

# --- solutions (as in solutions/12_transformer_text_generation.ipynb) ------------------------------


def causal_attention(q, k, v):
    scores = tf.matmul(q, k, transpose_b=True) / tf.sqrt(tf.cast(tf.shape(q)[-1], q.dtype))
    n_queries, n_keys = tf.shape(q)[-2], tf.shape(k)[-2]
    visible = tf.range(n_keys)[None, :] <= tf.range(n_queries)[:, None] + (n_keys - n_queries)
    scores = tf.where(visible, scores, tf.constant(-1e9, scores.dtype))
    weights = tf.nn.softmax(scores, axis=-1)
    return tf.matmul(weights, v), weights


def split_heads(x, heads):
    batch, length = tf.shape(x)[0], tf.shape(x)[1]
    x = tf.reshape(x, (batch, length, heads, x.shape[-1] // heads))
    return tf.transpose(x, (0, 2, 1, 3))


def merge_heads(x):
    x = tf.transpose(x, (0, 2, 1, 3))
    batch, length = tf.shape(x)[0], tf.shape(x)[1]
    return tf.reshape(x, (batch, length, x.shape[2] * x.shape[3]))


class CausalSelfAttention(layers.Layer):
    def __init__(self, width, heads, **kwargs):
        super().__init__(**kwargs)
        self.heads = heads
        self.qkv = layers.Dense(3 * width, name="qkv")
        self.out = layers.Dense(width, name="out")

    def call(self, x, past=None):
        q, k, v = (split_heads(part, self.heads) for part in tf.split(self.qkv(x), 3, axis=-1))
        if past is not None:
            k, v = tf.concat([past[0], k], axis=2), tf.concat([past[1], v], axis=2)
        attended, weights = causal_attention(q, k, v)
        return self.out(merge_heads(attended)), (k, v), weights


class Block(layers.Layer):
    def __init__(self, width, heads, **kwargs):
        super().__init__(**kwargs)
        self.norm1 = layers.LayerNormalization(epsilon=1e-5, name="norm1")
        self.attention = CausalSelfAttention(width, heads, name="attention")
        self.norm2 = layers.LayerNormalization(epsilon=1e-5, name="norm2")
        self.mlp = keras.Sequential([layers.Dense(4 * width, activation="gelu"), layers.Dense(width)], name="mlp")

    def call(self, x, past=None):
        attended, present, weights = self.attention(self.norm1(x), past)
        x = x + attended
        x = x + self.mlp(self.norm2(x))
        return x, present, weights


class GPT(keras.Model):
    def __init__(self, vocab_size, context, width=128, heads=4, depth=4, **kwargs):
        super().__init__(**kwargs)
        self.context = context
        self.token_embedding = layers.Embedding(vocab_size, width, name="token_embedding")
        self.position_embedding = layers.Embedding(context, width, name="position_embedding")
        self.blocks = [Block(width, heads, name=f"block_{i}") for i in range(depth)]
        self.final_norm = layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.to_logits = layers.Dense(vocab_size, name="logits")

    def call(self, tokens):
        return self.run(tokens)[0]

    def run(self, tokens, past=None):
        start = 0 if past is None else tf.shape(past[0][0])[2]
        positions = start + tf.range(tf.shape(tokens)[1])
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        presents, maps = [], []
        for block, block_past in zip(self.blocks, past or [None] * len(self.blocks)):
            x, present, weights = block(x, block_past)
            presents.append(present)
            maps.append(weights)
        return self.to_logits(self.final_norm(x)), presents, maps


def random_windows(ids, context, batch_size, seed=0):
    text = tf.constant(ids, tf.int32)
    n_starts = len(ids) - context
    starts = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % n_starts, tf.int32))
    windows = starts.map(lambda start: text[start:start + context + 1])
    pairs = windows.map(lambda window: (window[:-1], window[1:]))
    return pairs.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def sample_next(logits, temperature, top_k, rng):
    scaled = np.asarray(logits, np.float64) / temperature
    if top_k is not None:
        scaled = np.where(scaled >= np.sort(scaled)[-top_k], scaled, -np.inf)
    probabilities = np.exp(scaled - scaled.max())
    return int(rng.choice(len(probabilities), p=probabilities / probabilities.sum()))


def generate_cached(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids], tf.int32))
    new_ids = []
    for _ in range(n_new):
        new_ids.append(pick(np.asarray(logits[0, -1])))
        logits, past, _ = run(tf.constant([new_ids[-1:]], tf.int32), past)
    return new_ids


def generate_recomputed(run, prompt_ids, n_new, pick):
    ids = list(prompt_ids)
    for _ in range(n_new):
        logits, _, _ = run(tf.constant([ids], tf.int32))
        ids.append(pick(np.asarray(logits[0, -1])))
    return ids[len(prompt_ids):]


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
