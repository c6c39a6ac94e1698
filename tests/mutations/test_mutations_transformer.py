"""Chapter 12's checks against wrong answers a learner writes, and correct answers written differently."""

import math

import keras
import numpy as np
import tensorflow as tf

from course_utils.checks import transformer as checks
from tests.mutations.harness import check_tests
from tests.test_checks_transformer import GPT, Block, generate_cached, merge_heads, sample_next, split_heads

# --- exercise 1: causal_attention ------------------------------------------------------------------


def attention_with(scale=lambda d: 1 / math.sqrt(d), mask="causal", axis=-1, how="before"):
    """A causal_attention with one thing changed: the scale, the mask, the softmax's axis or the masking."""
    def causal_attention(q, k, v):
        d = q.shape[-1]
        scores = tf.matmul(q, k, transpose_b=True) * scale(d)
        n_q, n_k = tf.shape(q)[-2], tf.shape(k)[-2]
        rows, cols = tf.range(n_q)[:, None] + (n_k - n_q), tf.range(n_k)[None, :]
        keep = {"causal": cols <= rows, "none": tf.ones_like(cols <= rows), "future": cols >= rows,
                "strict": cols < rows,
                "band_part": tf.cast(tf.linalg.band_part(tf.ones((n_q, n_k)), -1, 0), tf.bool)}[mask]
        if how == "before":
            weights = tf.nn.softmax(tf.where(keep, scores, -1e9), axis=axis)
        elif how == "after":
            weights = tf.nn.softmax(scores, axis=axis) * tf.cast(keep, scores.dtype)
        else:  # "zero": scores multiplied by the mask
            weights = tf.nn.softmax(scores * tf.cast(keep, scores.dtype), axis=axis)
        return tf.matmul(weights, v), weights
    return causal_attention


def numpy_attention(q, k, v):
    q, k, v = (np.asarray(x) for x in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    n_q, n_k = scores.shape[-2:]
    scores = np.where(np.tril(np.ones((n_q, n_k)), n_k - n_q) > 0, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


ATTENTION_MISTAKES = {
    "no_scale": (attention_with(scale=lambda d: 1.0), "not scaled"),
    "divided_by_d": (attention_with(scale=lambda d: 1 / d), "divided the scores by d"),
    "times_sqrt_d": (attention_with(scale=math.sqrt), "multiplied the scores by sqrt"),
    "no_mask": (attention_with(mask="none"), "every query sees every key"),
    "upper_triangle": (attention_with(mask="future"), "wrong way round"),
    "diagonal_hidden": (attention_with(mask="strict"), "diagonal"),
    "softmax_over_queries": (attention_with(axis=-2), "over the queries"),
    "mask_after_softmax": (attention_with(how="after"), "after the softmax"),
    "mask_multiplies_scores": (attention_with(how="zero"), "set to 0"),
    "band_part_from_first_key": (attention_with(mask="band_part"), "LAST positions"),
    "numpy_in_a_graph": (numpy_attention, "compiled training step"),
    "returns_output_only": (lambda q, k, v: attention_with()(q, k, v)[0], "should return 2 things"),
    "forgot_return": (lambda q, k, v: None, "returned None"),
}


def attention_by_einsum(q, k, v):
    scores = tf.einsum("...qd,...kd->...qk", q, k) / tf.sqrt(tf.cast(tf.shape(q)[-1], tf.float32))
    n_q, n_k = tf.shape(q)[-2], tf.shape(k)[-2]
    mask = tf.linalg.band_part(tf.ones((n_q, n_k)), -1, n_k - n_q)
    weights = tf.nn.softmax(scores + (1.0 - mask) * -1e9)
    return tf.einsum("...qk,...kd->...qd", weights, v), weights


def attention_with_keras_ops(q, k, v):
    ops = keras.ops
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / ops.sqrt(ops.cast(ops.shape(q)[-1], "float32"))
    n_q, n_k = ops.shape(q)[-2], ops.shape(k)[-2]
    future = ops.arange(n_k)[None, :] > ops.arange(n_q)[:, None] + (n_k - n_q)
    weights = ops.softmax(ops.where(future, float("-inf"), scores), axis=-1)
    return ops.matmul(weights, v), weights


test_causal_attention_mistake_is_rejected, test_causal_attention_written_differently_is_accepted = check_tests(
    checks.check_causal_attention, ATTENTION_MISTAKES, [attention_by_einsum, attention_with_keras_ops])


# --- exercise 2: split_heads and merge_heads -------------------------------------------------------


def reshape_only(x, heads):
    return tf.reshape(x, (tf.shape(x)[0], heads, tf.shape(x)[1], x.shape[-1] // heads))


def no_transpose(x, heads):
    return tf.reshape(x, (tf.shape(x)[0], tf.shape(x)[1], heads, x.shape[-1] // heads))


def interleaved(x, heads):
    x = tf.reshape(x, (tf.shape(x)[0], tf.shape(x)[1], x.shape[-1] // heads, heads))
    return tf.transpose(x, (0, 3, 1, 2))


def static_batch(x, heads):
    batch, length, width = x.shape
    return tf.transpose(tf.reshape(x, (batch, length, heads, width // heads)), (0, 2, 1, 3))


def merge_reshape_only(x):
    return tf.reshape(x, (tf.shape(x)[0], tf.shape(x)[2], x.shape[1] * x.shape[3]))


def two_heads_always(x, heads):
    return split_heads(x, 2)


SPLIT_MISTAKES = {
    "reshape_without_transpose": (lambda: (reshape_only, merge_heads), "reshapes straight"),
    "no_transpose_at_all": (lambda: (no_transpose, merge_heads), "did not move the heads"),
    "interleaved_features": (lambda: (interleaved, merge_heads), "contiguous features"),
    "merge_reshape_only": (lambda: (split_heads, merge_reshape_only), "transpose back"),
    "static_batch_size": (lambda: (static_batch, merge_heads), "tf.shape"),
    "heads_hard_coded": (lambda: (two_heads_always, merge_heads), r"\(batch, heads, T, width / heads\)"),
    "merge_keeps_heads": (lambda: (split_heads, lambda x: tf.transpose(x, (0, 2, 1, 3))), "back into"),
    "forgot_return": (lambda: (lambda x, heads: None, merge_heads), "returned None"),
}


def split_by_tf_split(x, heads):
    return tf.stack(tf.split(x, heads, axis=-1), axis=1)


def merge_by_concat(x):
    return tf.concat(tf.unstack(x, num=x.shape[1], axis=1), axis=-1)


def split_with_einops_style(x, heads):
    shape = tf.shape(x)
    return tf.einsum("bthd->bhtd", tf.reshape(x, tf.concat([shape[:2], [heads, -1]], 0)))


def merge_with_einsum(x):
    x = tf.einsum("bhtd->bthd", x)
    return tf.reshape(x, tf.concat([tf.shape(x)[:2], [-1]], 0))


def check_pair(make_pair):
    checks.check_split_merge_heads(*make_pair())


test_split_merge_heads_mistake_is_rejected, test_split_merge_heads_written_differently_is_accepted = check_tests(
    check_pair, SPLIT_MISTAKES, {"split_and_stack": lambda: (split_by_tf_split, merge_by_concat),
                                 "einsum": lambda: (split_with_einops_style, merge_with_einsum)})


# --- exercises 3 and 4: Block and GPT --------------------------------------------------------------


def block_calling(body):
    """The notebook's Block with its call written by ``body(self, x, past)`` -> (x, present, weights)."""
    class LearnerBlock(Block):
        def call(self, x, past=None):
            return body(self, x, past)
    return LearnerBlock


def pre_ln(self, x, past):
    attended, present, weights = self.attention(self.norm1(x), past)
    x = x + attended
    return x + self.mlp(self.norm2(x)), present, weights


def post_ln(self, x, past):
    attended, present, weights = self.attention(x, past)
    x = self.norm1(x + attended)
    return self.norm2(x + self.mlp(x)), present, weights


def no_attention_residual(self, x, past):
    x, present, weights = self.attention(self.norm1(x), past)
    return x + self.mlp(self.norm2(x)), present, weights


def no_mlp_residual(self, x, past):
    attended, present, weights = self.attention(self.norm1(x), past)
    return self.mlp(self.norm2(x + attended)), present, weights


def normalised_stream(self, x, past):
    x = self.norm1(x)
    attended, present, weights = self.attention(x, past)
    x = x + attended
    return x + self.mlp(self.norm2(x)), present, weights


def norm1_reused(self, x, past):
    attended, present, weights = self.attention(self.norm1(x), past)
    x = x + attended
    return x + self.mlp(self.norm1(x)), present, weights


def parallel_branches(self, x, past):
    attended, present, weights = self.attention(self.norm1(x), past)
    return x + attended + self.mlp(self.norm2(x)), present, weights


def past_dropped(self, x, past):
    return pre_ln(self, x, None)


def output_only(self, x, past):
    return pre_ln(self, x, past)[0]


BLOCK_MISTAKES = {
    "post_ln": (block_calling(post_ln), "post-LayerNorm"),
    "no_attention_residual": (block_calling(no_attention_residual), "attention's residual"),
    "no_mlp_residual": (block_calling(no_mlp_residual), "MLP's residual"),
    "normalised_stream": (block_calling(normalised_stream), "residual stream itself is normalised"),
    "norm1_reused": (block_calling(norm1_reused), "norm2"),
    "parallel": (block_calling(parallel_branches), "one after the other"),
    "past_dropped": (block_calling(past_dropped), "pass past on"),
    "output_only": (block_calling(output_only), "should return 3 things"),
}


def pre_ln_in_one_line(self, x, past):
    attended, present, weights = self.attention(self.norm1(x), past=past)
    y = attended + x
    return self.mlp(self.norm2(y)) + y, present, weights


def pre_ln_as_list(self, x, past):
    out = self.attention(self.norm1(x), past)
    h = keras.ops.add(x, out[0])
    return [keras.ops.add(h, self.mlp(self.norm2(h))), out[1], out[2]]


test_block_mistake_is_rejected, test_block_written_differently_is_accepted = check_tests(
    checks.check_block, BLOCK_MISTAKES, [block_calling(pre_ln_in_one_line), block_calling(pre_ln_as_list)])


def gpt_running(body):
    """The notebook's GPT with its run written by ``body(self, tokens, past)``."""
    class LearnerGPT(GPT):
        def run(self, tokens, past=None):
            return body(self, tokens, past)
    return LearnerGPT


def gpt_with(positions="continue", final_norm=True, chain=True, softmax=False, pass_past=True):
    def run(self, tokens, past):
        start = 0 if past is None or positions == "restart" else tf.shape(past[0][0])[2]
        x = self.token_embedding(tokens)
        if positions == "tokens":
            x += self.position_embedding(tokens)
        elif positions != "none":
            x += self.position_embedding(start + tf.range(tf.shape(tokens)[1]))
        first, presents, maps = x, [], []
        for i, block in enumerate(self.blocks):
            block_past = None if past is None or not pass_past else past[i]
            x, present, weights = block(x if chain else first, block_past)
            presents.append(present)
            maps.append(weights)
        logits = self.to_logits(self.final_norm(x) if final_norm else x)
        return (tf.nn.softmax(logits) if softmax else logits), presents, maps
    return gpt_running(run)


def last_block_only(self, tokens, past):
    x = self.token_embedding(tokens) + self.position_embedding(tf.range(tf.shape(tokens)[1]))
    x, present, weights = self.blocks[-1](x, None if past is None else past[-1])
    return self.to_logits(self.final_norm(x)), [present] * len(self.blocks), [weights] * len(self.blocks)


GPT_MISTAKES = {
    "no_positions": (gpt_with(positions="none"), "positional embedding is missing"),
    "positions_from_tokens": (gpt_with(positions="tokens"), "looked up with the character ids"),
    "positions_restart_after_cache": (gpt_with(positions="restart"), "start again at 0"),
    "no_final_norm": (gpt_with(final_norm=False), "final LayerNorm"),
    "blocks_not_chained": (gpt_with(chain=False), "previous block's output"),
    "softmax": (gpt_with(softmax=True), "probabilities"),
    "past_not_passed": (gpt_with(pass_past=False), "pass each block its own past"),
    "last_block_only": (gpt_running(last_block_only), "previous block's output"),
    "logits_only": (gpt_running(lambda self, tokens, past: self.to_logits(self.token_embedding(tokens))),
                    "should return 3 things"),
}


def run_with_keras_ops(self, tokens, past):
    ops = keras.ops
    start = 0 if past is None else ops.shape(past[0][0])[2]
    x = self.token_embedding(tokens) + self.position_embedding(ops.arange(ops.shape(tokens)[1]) + start)[None]
    pasts = past if past is not None else [None] * len(self.blocks)
    outputs = []
    for block, block_past in zip(self.blocks, pasts):
        x, present, weights = block(x, block_past)
        outputs.append((present, weights))
    return self.to_logits(self.final_norm(x)), [p for p, _ in outputs], [w for _, w in outputs]


def run_with_positions_gathered(self, tokens, past):
    length = tf.shape(tokens)[1]
    start = tf.shape(past[0][1])[-2] if past else 0
    table = self.position_embedding(tf.range(self.context))
    x = self.token_embedding(tokens) + tf.gather(table, tf.range(start, start + length))
    presents, maps = [], []
    for i in range(len(self.blocks)):
        x, present, weights = self.blocks[i](x, past[i] if past else None)
        presents.append(present)
        maps.append(weights)
    return self.to_logits(self.final_norm(x)), presents, maps


test_gpt_mistake_is_rejected, test_gpt_written_differently_is_accepted = check_tests(
    checks.check_gpt, GPT_MISTAKES, [gpt_running(run_with_keras_ops), gpt_running(run_with_positions_gathered)])


# --- exercise 5: random_windows ----------------------------------------------------------------------


def windows_with(n_starts=lambda n, context: n - context, target_shift=1, swap=False, endless=True):
    def random_windows(ids, context, batch_size, seed=0):
        text = tf.constant(ids, tf.int32)
        count = n_starts(len(ids), context)
        starts = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % count, tf.int32))
        if not endless:
            starts = starts.take(3 * batch_size)
        windows = starts.map(lambda s: text[s:s + context + target_shift])
        pairs = windows.map(lambda w: (w[target_shift:], w[:-target_shift]) if swap else
                            (w[:-target_shift], w[target_shift:]))
        return pairs.batch(batch_size, drop_remainder=True)
    return random_windows


def numpy_random_start(ids, context, batch_size, seed=0):
    text = tf.constant(ids, tf.int32)
    windows = tf.data.Dataset.range(10**9).map(
        lambda i: text[np.random.randint(len(ids) - context):][:context + 1])
    return windows.map(lambda w: (w[:-1], w[1:])).batch(batch_size)


def consecutive_windows_shuffled(ids, context, batch_size, seed=0):
    windows = tf.data.Dataset.from_tensor_slices(ids).batch(context + 1, drop_remainder=True)
    return windows.map(lambda w: (w[:-1], w[1:])).shuffle(1000, seed=seed).repeat().batch(batch_size)


def unseeded(ids, context, batch_size, seed=0):
    text = tf.constant(ids, tf.int32)
    starts = tf.data.Dataset.range(10**9).map(
        lambda _: tf.random.uniform((), 0, len(ids) - context, dtype=tf.int32))
    return starts.map(lambda s: (text[s:s + context], text[s + 1:s + context + 1])).batch(batch_size)


WINDOW_MISTAKES = {
    "last_start_missing": (windows_with(n_starts=lambda n, c: n - c - 1), "off-by-one"),
    "not_shifted": (lambda ids, c, b, seed=0: windows_with()(ids, c, b, seed).map(lambda x, y: (x, x)),
                    "equal the inputs"),
    "swapped": (windows_with(swap=True), "swapped"),
    "shift_by_two": (windows_with(n_starts=lambda n, c: n - c - 1, target_shift=2), "shifted by"),
    "finite": (windows_with(endless=False), "ended after"),
    "numpy_random_in_map": (numpy_random_start, "drawn once"),
    "consecutive_windows_shuffled": (consecutive_windows_shuffled, "multiples of 7"),
    "unseeded": (unseeded, "same seed"),
    "not_batched": (lambda ids, c, b, seed=0: windows_with()(ids, c, b, seed).unbatch(), "shape"),
    "forgot_return": (lambda ids, c, b, seed=0: None, "returned None"),
}


def windows_from_uniform_starts(ids, context, batch_size, seed=0):
    text = tf.constant(ids)
    draw = tf.random.Generator.from_seed(seed)
    starts = tf.data.Dataset.from_tensors(0).repeat().map(
        lambda _: draw.uniform((), 0, len(ids) - context, dtype=tf.int64))
    windows = starts.map(lambda s: tf.slice(text, [s], [context + 1]))
    return windows.map(lambda w: (w[:context], w[1:])).batch(batch_size)


def windows_cut_per_batch(ids, context, batch_size, seed=0):
    text = tf.constant(ids, tf.int64)
    offsets = tf.range(context + 1, dtype=tf.int64)[None, :]
    starts = tf.data.Dataset.random(seed=seed).map(lambda r: r % (len(ids) - context)).batch(batch_size)
    windows = starts.map(lambda s: tf.gather(text, s[:, None] + offsets))
    return windows.map(lambda w: (w[:, :-1], w[:, 1:]))


test_random_windows_mistake_is_rejected, test_random_windows_written_differently_is_accepted = check_tests(
    checks.check_random_windows, WINDOW_MISTAKES, [windows_from_uniform_starts, windows_cut_per_batch])


# --- exercise 6: sample_next -------------------------------------------------------------------------


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def sampler(cut, scale=lambda logits, t: logits / t, fill=-np.inf):
    """A sample_next whose top-k cut keeps ``cut(logits, k)`` (indices) and fills the rest with ``fill``."""
    def sample_next(logits, temperature, top_k, rng):
        scaled = scale(np.asarray(logits, np.float64), temperature)
        if top_k is not None:
            kept = np.full(len(scaled), fill)
            index = cut(scaled, top_k)
            kept[index] = scaled[index]
            scaled = kept
        return int(rng.choice(len(scaled), p=softmax(scaled)))
    return sample_next


def probabilities_cut_not_renormalised(logits, temperature, top_k, rng):
    p = softmax(np.asarray(logits) / temperature)
    if top_k is not None:
        p[np.argsort(p)[:-top_k]] = 0
    return int(rng.choice(len(p), p=p))


def top_k_with_none_crashes(logits, temperature, top_k, rng):
    scaled = np.asarray(logits, np.float64) / temperature
    scaled[np.argsort(scaled)[:-top_k]] = -np.inf
    return int(rng.choice(len(scaled), p=softmax(scaled)))


SAMPLE_MISTAKES = {
    "top_k_ignored": (sampler(lambda s, k: np.arange(len(s))), "top_k has no effect"),
    "smallest_k": (sampler(lambda s, k: np.argsort(s)[:k]), "SMALLEST"),
    "k_plus_one": (sampler(lambda s, k: np.argsort(s)[-k - 1:]), "k \\+ 1"),
    "k_minus_one": (sampler(lambda s, k: np.argsort(s)[-k + 1:] if k > 1 else np.argsort(s)[-1:]), "k - 1"),
    "zero_fill": (sampler(lambda s, k: np.argsort(s)[-k:], fill=0.0), "set to 0"),
    "multiplied_by_t": (sampler(lambda s, k: np.argsort(s)[-k:], scale=lambda l, t: l * t), "multiplied"),
    "temperature_ignored": (sampler(lambda s, k: np.argsort(s)[-k:], scale=lambda l, t: l), "temperature has no"),
    "not_renormalised": (probabilities_cut_not_renormalised, "do not sum to 1"),
    "argmax": (lambda logits, t, k, rng: int(np.argmax(logits)), "argmax"),
    "global_random": (lambda logits, t, k, rng: int(np.random.choice(len(logits), p=softmax(logits / t)))
                      if k is None else sample_next(logits, t, k, np.random.default_rng()), "same rng seed"),
    "top_k_none_crashes": (top_k_with_none_crashes, "top_k=None means no cut"),
    "returns_probabilities": (lambda logits, t, k, rng: softmax(logits / t), "one character index"),
}


def sample_by_gumbel(logits, temperature, top_k, rng):
    scaled = np.asarray(logits, np.float64) / temperature
    if top_k:
        scaled[np.argsort(scaled)[:-top_k]] = -np.inf
    return int(np.argmax(scaled + rng.gumbel(size=len(scaled))))


def sample_with_tensorflow_top_k(logits, temperature, top_k, rng):
    scaled = tf.constant(logits, tf.float64) / temperature
    k = len(logits) if top_k is None else top_k
    values, indices = tf.math.top_k(scaled, k=k)
    p = tf.nn.softmax(values).numpy()
    return int(indices.numpy()[rng.choice(k, p=p)])


def check_sampling_quietly(sample):
    """check_sample_next without numpy's warnings: some wrong samplers overflow on purpose."""
    with np.errstate(all="ignore"):
        checks.check_sample_next(sample)


test_sample_next_mistake_is_rejected, test_sample_next_written_differently_is_accepted = check_tests(
    check_sampling_quietly, SAMPLE_MISTAKES, [sample_by_gumbel, sample_with_tensorflow_top_k])


# --- exercise 7: generate_cached -------------------------------------------------------------------------


def recomputing(run, prompt_ids, n_new, pick):
    ids = list(prompt_ids)
    for _ in range(n_new):
        ids.append(pick(np.asarray(run(tf.constant([ids]))[0][0, -1])))
    return ids[len(prompt_ids):]


def cache_never_updated(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    new = [pick(np.asarray(logits[0, -1]))]
    while len(new) < n_new:
        logits, _, _ = run(tf.constant([new[-1:]]), past)
        new.append(pick(np.asarray(logits[0, -1])))
    return new


def whole_text_with_cache(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    ids = list(prompt_ids)
    for _ in range(n_new):
        ids.append(pick(np.asarray(logits[0, -1])))
        if len(ids) < len(prompt_ids) + n_new:
            logits, past, _ = run(tf.constant([ids]), past)
    return ids[len(prompt_ids):]


def first_position(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    new = [pick(np.asarray(logits[0, 0]))]
    while len(new) < n_new:
        logits, past, _ = run(tf.constant([new[-1:]]), past)
        new.append(pick(np.asarray(logits[0, -1])))
    return new


def one_last_run_unused(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    new = []
    for _ in range(n_new):
        new.append(pick(np.asarray(logits[0, -1])))
        logits, past, _ = run(tf.constant([new[-1:]]), past)
    return new


def returns_prompt_too(run, prompt_ids, n_new, pick):
    return list(prompt_ids) + generate_cached(run, prompt_ids, n_new, pick)


def feeds_the_prompt_end(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    new = [pick(np.asarray(logits[0, -1]))]
    while len(new) < n_new:
        logits, past, _ = run(tf.constant([[int(prompt_ids[-1])]]), past)
        new.append(pick(np.asarray(logits[0, -1])))
    return new


def logits_of_a_batch(run, prompt_ids, n_new, pick):
    logits, past, _ = run(tf.constant([prompt_ids]))
    new = [pick(np.asarray(logits[:, -1]))]
    return new


GENERATE_MISTAKES = {
    "no_cache": (recomputing, "without the cache"),
    "cache_never_updated": (cache_never_updated, "does not grow"),
    "whole_text_with_cache": (whole_text_with_cache, "count twice"),
    "first_position": (first_position, "FIRST position"),
    "returns_prompt_too": (returns_prompt_too, "only the n_new new ids"),
    "feeds_the_prompt_end": (feeds_the_prompt_end, "feed each new id"),
    "logits_of_a_batch": (logits_of_a_batch, "1-D logits"),
    "n_new_minus_one": (lambda run, p, n, pick: generate_cached(run, p, n, pick)[:-1], "should return"),
    "forgot_return": (lambda run, p, n, pick: None, "returned None"),
}


def cached_while_loop(run, prompt_ids, n_new, pick):
    logits, past, _ = run(np.asarray(prompt_ids)[None])
    new = []
    while True:
        new.append(pick(logits.numpy()[0, -1]))
        if len(new) == n_new:
            return np.array(new)
        logits, past, _ = run(np.array([[new[-1]]], np.int32), past=past)


def cached_first_then_loop(run, prompt_ids, n_new, pick):
    logits, cache, _ = run(tf.constant(prompt_ids, tf.int32)[None, :])
    new = [pick(logits[0, -1].numpy())]
    for _ in range(n_new - 1):
        logits, cache, _ = run(tf.constant([[new[-1]]], tf.int32), cache)
        new.append(pick(logits[0, -1].numpy()))
    return new


test_generate_cached_mistake_is_rejected, test_generate_cached_written_differently_is_accepted = check_tests(
    lambda answer: checks.check_generate_cached(answer, GPT), GENERATE_MISTAKES,
    [cached_while_loop, cached_first_then_loop, one_last_run_unused])
