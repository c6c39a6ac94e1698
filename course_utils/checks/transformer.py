"""Checks for chapter 12, a character-level transformer (a small GPT) written from scratch.

- ``check_causal_attention``: scaled dot-product attention in which no query sees a later key.
- ``check_split_merge_heads``: (batch, T, width) <-> (batch, heads, T, width / heads), head h owning
  features h*d .. (h+1)*d - 1.
- ``check_block``: a pre-LayerNorm transformer block with two residual connections.
- ``check_gpt``: token + position embeddings, the blocks in a chain, a final LayerNorm, the logits;
  positions continue after a key/value cache.
- ``check_random_windows``: an endless ``tf.data`` stream of (inputs, targets) batches cut at random
  positions, targets shifted by one character.
- ``check_sample_next``: one draw from softmax(logits / T) restricted to the k largest logits.
- ``check_generate_cached``: generation with a key/value cache gives the text of recomputation.
"""

import numpy as np

from course_utils.checks._numeric import close, softmax
from course_utils.checks._verdict import (CheckFailed, call_learner, learner_array, learner_tuple, passed, require,
                                          traced_error)

_ATOL = 1e-5  # float32 attention against float64 references, entries of order 1


# --- exercise 1: causal attention ------------------------------------------------------------------


def _attention_variants(q, k, v):
    """{name: (output, weights)} of the right attention and of the usual wrong ones (float64 NumPy)."""
    n_q, n_k, d = q.shape[-2], k.shape[-2], q.shape[-1]
    raw = q @ np.swapaxes(k, -1, -2)
    visible = np.arange(n_k)[None, :] <= np.arange(n_q)[:, None] + (n_k - n_q)

    def attend(scores, mask=visible, axis=-1, after=False):
        if after:
            weights = softmax(scores, axis) * mask
        else:
            weights = softmax(np.where(mask, scores, -1e9), axis)
        return weights @ v, weights

    top_left = np.arange(n_k)[None, :] <= np.arange(n_q)[:, None]
    return {
        "right": attend(raw / np.sqrt(d)),
        "no_scale": attend(raw),
        "scale_d": attend(raw / d),
        "scale_times": attend(raw * np.sqrt(d)),
        "no_mask": attend(raw / np.sqrt(d), mask=np.ones_like(visible)),
        "future": attend(raw / np.sqrt(d), mask=np.arange(n_k)[None, :] >= np.arange(n_q)[:, None] + (n_k - n_q)),
        "strict": attend(raw / np.sqrt(d), mask=np.arange(n_k)[None, :] < np.arange(n_q)[:, None] + (n_k - n_q)),
        "axis": attend(raw / np.sqrt(d), axis=-2) if n_q == n_k else None,
        "after": attend(raw / np.sqrt(d), after=True),
        "zero": (softmax(raw / np.sqrt(d) * visible) @ v, softmax(raw / np.sqrt(d) * visible)),
        "top_left": attend(raw / np.sqrt(d), mask=top_left) if n_q < n_k else None,
    }


_ATTENTION_MISTAKES = {
    "no_scale": "the scores are not scaled: divide q k^T by sqrt(d), d = the last size of q, so that the "
                "softmax does not saturate when d is large.",
    "scale_d": "you divided the scores by d; the scale is 1 / sqrt(d).",
    "scale_times": "you multiplied the scores by sqrt(d); divide by it.",
    "no_mask": "every query sees every key, the future included: set the scores of later keys to a large "
               "negative number (e.g. -1e9) before the softmax.",
    "future": "the mask is the wrong way round: each query sees its own and LATER keys. Keep key j for "
              "query i when j <= i (the lower triangle), hide the rest.",
    "strict": "a query does not see its own position: the mask hides the diagonal too. Keep key j for "
              "query i when j <= i, including j == i.",
    "axis": "the softmax runs over the queries (axis -2); each query's weights over the keys must sum to 1: "
            "softmax over the last axis.",
    "after": "the mask is applied after the softmax, so the remaining weights no longer sum to 1: mask the "
             "SCORES (large negative number) and take the softmax afterwards.",
    "zero": "masked scores were set to 0 (multiplying by the mask), and exp(0) = 1 still gives the future a "
            "weight: set them to a large negative number, e.g. tf.where(mask, scores, -1e9).",
    "top_left": "with fewer queries than keys (keys from a cache) the queries are the LAST positions: query i "
                "sits at position i + (Tk - Tq) and sees keys j <= i + (Tk - Tq). Your mask counts positions "
                "from the first key, e.g. tf.linalg.band_part on a (Tq, Tk) matrix of ones keeps only j <= i.",
}


def _attention_case(causal_attention, shape_q, shape_k, seed):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=shape).astype(np.float32) for shape in (shape_q, shape_k, shape_k))
    what = f"causal_attention failed on q of shape {shape_q} and k, v of shape {shape_k}"
    output, weights = learner_tuple(call_learner(what, causal_attention, tf.constant(q), tf.constant(k),
                                                 tf.constant(v)), "causal_attention", ("output", "weights"))
    output, weights = learner_array(output, "causal_attention's output"), learner_array(weights, "its weights")
    variants = _attention_variants(*(x.astype(np.float64) for x in (q, k, v)))
    right_output, right_weights = variants.pop("right")
    require(weights.shape == right_weights.shape,
            f"the weights for q of shape {shape_q} and k of shape {shape_k} should have shape "
            f"{right_weights.shape} (one row of key weights per query), got {weights.shape}.")
    require(output.shape == right_output.shape,
            f"the output should have the shape of q, {shape_q}; got {output.shape}: multiply the weights by v.")
    if close(weights, right_weights, atol=_ATOL):
        require(close(output, right_output, atol=_ATOL),
                "the weights are right but the output is not: the output is weights @ v (tf.matmul(weights, v)).")
        return
    for name, variant in variants.items():
        if variant is not None and close(weights, variant[1], atol=_ATOL):
            raise CheckFailed(_ATTENTION_MISTAKES[name])
    raise CheckFailed(f"for q of shape {shape_q} and k of shape {shape_k} the weights differ from "
                      "softmax(mask(q k^T / sqrt(d))) over the keys, the mask hiding keys after each query.")


def check_causal_attention(causal_attention):
    """``causal_attention(q, k, v)`` -> ``(output, weights)``; q (..., Tq, d), k and v (..., Tk, d), Tq <= Tk."""
    import tensorflow as tf

    _attention_case(causal_attention, (2, 3, 5, 4), (2, 3, 5, 4), seed=0)
    _attention_case(causal_attention, (1, 6, 16), (1, 6, 16), seed=1)
    _attention_case(causal_attention, (2, 3, 2, 4), (2, 3, 5, 4), seed=2)
    _attention_case(causal_attention, (2, 1, 1, 4), (2, 1, 5, 4), seed=3)
    spec = tf.TensorSpec((None, 2, None, 4), tf.float32)
    compiled = tf.function(lambda q, k, v: causal_attention(q, k, v)[0], input_signature=[spec] * 3)
    rng = np.random.default_rng(4)
    q, k, v = (tf.constant(rng.normal(size=(3, 2, 5, 4)), tf.float32) for _ in range(3))
    try:
        traced = np.asarray(compiled(q, k, v))
    except Exception as error:
        raise CheckFailed(f"causal_attention fails inside a compiled training step (tf.function, lengths unknown "
                          f"while tracing): {traced_error(error)}. Use tf.shape(q)[-2] for lengths, not q.shape, "
                          "and TensorFlow ops, not NumPy.") from error
    require(close(traced, _attention_variants(*(np.asarray(x, np.float64) for x in (q, k, v)))["right"][0],
                  atol=_ATOL),
            "causal_attention gives another result when compiled by tf.function than when run eagerly.")
    passed("scores q k^T / sqrt(d), the future masked before a softmax over the keys, then weights @ v; "
           "also with fewer queries than keys (a cache) and compiled")


# --- exercise 2: split and merge heads --------------------------------------------------------------


def _split_reference(x, heads):
    batch, length, width = x.shape
    return x.reshape(batch, length, heads, width // heads).transpose(0, 2, 1, 3)


def _check_split(split_heads, x, heads):
    import tensorflow as tf

    batch, length, width = x.shape
    d = width // heads
    what = f"split_heads failed on x of shape {x.shape} with heads={heads}"
    got = learner_array(call_learner(what, split_heads, tf.constant(x), heads), "split_heads")
    expected = _split_reference(x, heads)
    if got.shape == (batch, length, heads, d):
        raise CheckFailed(f"split_heads returned shape {got.shape}, (batch, T, heads, d): you reshaped but did not "
                          "move the heads before the positions. Transpose to (batch, heads, T, d), perm (0, 2, 1, 3), "
                          "so that attention runs over T within each head.")
    require(got.shape == expected.shape, f"split_heads should turn {x.shape} into (batch, heads, T, width / heads) "
                                         f"= {expected.shape}; got {got.shape}.")
    if np.array_equal(got, expected):
        return
    if np.array_equal(got, x.reshape(expected.shape)):
        raise CheckFailed("split_heads reshapes straight to (batch, heads, T, d), which cuts the flat memory into "
                          "pieces that mix positions: reshape to (batch, T, heads, d) first, then transpose.")
    if np.array_equal(got, x.reshape(batch, length, d, heads).transpose(0, 3, 1, 2)):
        raise CheckFailed(f"head h gets every {heads}-th feature (reshape to (batch, T, d, heads)); head h must get "
                          "the contiguous features h*d .. (h+1)*d - 1: reshape to (batch, T, heads, d).")
    raise CheckFailed(f"split_heads gives the right shape but wrong values: out[b, h, t] must be "
                      f"x[b, t, h*d:(h+1)*d] (here d = {d}).")


def _check_merge(merge_heads, x, heads):
    import tensorflow as tf

    split = _split_reference(x, heads)
    what = f"merge_heads failed on an input of shape {split.shape}"
    got = learner_array(call_learner(what, merge_heads, tf.constant(split)), "merge_heads")
    require(got.shape == x.shape, f"merge_heads should turn {split.shape} (batch, heads, T, d) back into "
                                  f"(batch, T, heads * d) = {x.shape}; got {got.shape}.")
    if np.array_equal(got, x):
        return
    if np.array_equal(got, split.reshape(x.shape)):
        raise CheckFailed("merge_heads reshapes (batch, heads, T, d) straight to (batch, T, width), which mixes "
                          "positions of different heads: transpose back to (batch, T, heads, d) first, "
                          "perm (0, 2, 1, 3), then reshape.")
    raise CheckFailed("merge_heads is not the inverse of splitting: out[b, t, h*d:(h+1)*d] must be x[b, h, t].")


def check_split_merge_heads(split_heads, merge_heads):
    """``split_heads(x, heads)``: (batch, T, width) -> (batch, heads, T, d); ``merge_heads`` undoes it."""
    import tensorflow as tf

    x = np.arange(2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
    for heads in (2, 4):
        _check_split(split_heads, x, heads)
        _check_merge(merge_heads, x, heads)
    _check_split(split_heads, np.arange(1 * 5 * 6, dtype=np.float32).reshape(1, 5, 6), 3)
    spec = tf.TensorSpec((None, None, 8), tf.float32)
    compiled = tf.function(lambda t: merge_heads(split_heads(t, 2)), input_signature=[spec])
    try:
        round_trip = np.asarray(compiled(tf.constant(x)))
    except Exception as error:
        raise CheckFailed(f"split_heads / merge_heads fail inside a compiled training step (batch size and length "
                          f"unknown while tracing): {traced_error(error)}. Use tf.shape(x)[0] and tf.shape(x)[1] "
                          "for the batch size and length; x.shape[-1] (the width) is known.") from error
    require(np.array_equal(round_trip, x), "compiled with unknown batch size and length, merge_heads(split_heads(x)) "
                                           "does not give x back.")
    passed("head h owns features h*d .. (h+1)*d - 1, shape (batch, heads, T, d); merge_heads undoes split_heads, "
           "also compiled with unknown batch size and length")


# --- exercises 3 and 4: the block and the model ------------------------------------------------------


def _randomise(layer, seed):
    """Give every weight of ``layer`` random values, so that no sublayer acts as the identity."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        scale = 1.0 if "embedding" in weight.path else 0.4
        offset = 1.0 if weight.path.endswith("gamma") else 0.0
        weight.assign(offset + scale * rng.normal(size=weight.shape).astype(np.float32))


def _block_variants(block, x, past):
    """{name: output} of the pre-LN block and of the usual wrong blocks, from the block's own sublayers."""
    attention, norm1, norm2, mlp = block.attention, block.norm1, block.norm2, block.mlp

    def attend(h):
        return attention(h, past)[0]

    h = x + attend(norm1(x))
    normed = norm1(x)
    post = norm1(x + attend(x))
    variants = {
        "right": h + mlp(norm2(h)),
        "post_ln": norm2(post + mlp(post)),
        "no_attention_residual": attend(norm1(x)) + mlp(norm2(attend(norm1(x)))),
        "no_mlp_residual": mlp(norm2(h)),
        "normed_stream": (normed + attend(normed)) + mlp(norm2(normed + attend(normed))),
        "norm1_twice": h + mlp(norm1(h)),
        "attention_not_normed": (x + attend(x)) + mlp(norm2(x + attend(x))),
        "mlp_not_normed": h + mlp(h),
        "parallel": x + attend(norm1(x)) + mlp(norm2(x)),
        "no_past": None,
    }
    if past is not None:
        h0 = x + attention(norm1(x))[0]
        variants["no_past"] = h0 + mlp(norm2(h0))
    return {name: None if out is None else np.asarray(out, np.float64) for name, out in variants.items()}


_BLOCK_MISTAKES = {
    "post_ln": "this is the post-LayerNorm block of the 2017 paper (norm after each residual sum); the GPT-2 "
               "block normalises the INPUT of each branch: x = x + attention(norm1(x)); x = x + mlp(norm2(x)).",
    "no_attention_residual": "the attention's residual connection is missing: add its output to x, "
                             "x = x + attention(norm1(x)).",
    "no_mlp_residual": "the MLP's residual connection is missing: x = x + mlp(norm2(x)).",
    "normed_stream": "the residual stream itself is normalised (x = norm1(x), then x + attention(x)): normalise "
                     "only the branch input and add the branch to the UNNORMALISED x.",
    "norm1_twice": "norm1 is used before the MLP too: the MLP has its own LayerNorm, norm2.",
    "attention_not_normed": "the attention reads x without its LayerNorm: attention(norm1(x)).",
    "mlp_not_normed": "the MLP reads x without its LayerNorm: mlp(norm2(x)).",
    "parallel": "the MLP reads the block's input, not x after the attention's residual: run the two branches "
                "one after the other, x = x + attention(norm1(x)), then x = x + mlp(norm2(x)).",
    "no_past": "with a cache (past given) the output is as if there were none: pass past on to "
               "self.attention(..., past).",
}


def _call_block(block, x, past, what):
    result = call_learner(what, block, x, past)
    output, present, weights = learner_tuple(result, "the block", ("output", "present", "weights"))
    return learner_array(output, "the block's output"), present, weights


def check_block(Block):
    """``Block(width, heads)`` called as ``block(x, past)`` -> ``(output, present, weights)``, pre-LayerNorm."""
    import tensorflow as tf

    block = call_learner("Block(width=8, heads=2) failed", Block, width=8, heads=2)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(2, 5, 8)), tf.float32)
    _call_block(block, x, None, "the block failed on x of shape (2, 5, 8)")
    _randomise(block, seed=1)
    past_source = tf.constant(rng.normal(size=(2, 3, 8)), tf.float32)
    past = block.attention(block.norm1(past_source))[1]
    for case, given_past in (("without a cache", None), ("with a cache of 3 positions", past)):
        output, present, _ = _call_block(block, x, given_past, f"the block failed on x of shape (2, 5, 8) {case}")
        variants = _block_variants(block, x, given_past)
        right = variants.pop("right")
        require(output.shape == right.shape, f"the block should keep the shape of x, (2, 5, 8); got {output.shape}.")
        if not close(output, right, atol=_ATOL):
            for name, variant in variants.items():
                if variant is not None and close(output, variant, atol=_ATOL):
                    raise CheckFailed(_BLOCK_MISTAKES[name])
            raise CheckFailed(f"{case} the output differs from x + attention(norm1(x)), then + mlp(norm2(x)).")
        keys = np.asarray(present[0])
        expected_length = 5 if given_past is None else 8
        require(keys.shape[-2] == expected_length,
                f"{case} the present keys cover {keys.shape[-2]} positions, expected {expected_length}: return "
                "the (keys, values) that self.attention returns.")
    passed("x + attention(norm1(x)), then x + mlp(norm2(x)); the cache is passed to the attention and returned")


def _gpt_variants(model, tokens, past):
    """{name: logits} of the right model and of the usual wrong ones, from the model's own sublayers."""
    import tensorflow as tf

    start = 0 if past is None else int(past[0][0].shape[2])
    length = tokens.shape[1]
    positions = start + tf.range(length)
    tokens_embedded = model.token_embedding(tokens)

    def through(x, chain=True, block_past=past):
        first = x
        for i, block in enumerate(model.blocks):
            x = block(x if chain else first, None if block_past is None else block_past[i])[0]
        return x

    def logits(x, norm=True):
        return np.asarray(model.to_logits(model.final_norm(x) if norm else x), np.float64)

    right_x = tokens_embedded + model.position_embedding(positions)
    variants = {
        "right": logits(through(right_x)),
        "no_positions": logits(through(tokens_embedded)),
        "positions_from_tokens": logits(through(tokens_embedded + model.position_embedding(tokens))),
        "no_final_norm": logits(through(right_x), norm=False),
        "not_chained": logits(through(right_x, chain=False)),
        "softmax": np.asarray(tf.nn.softmax(model.to_logits(model.final_norm(through(right_x)))), np.float64),
        "positions_restart": logits(through(tokens_embedded + model.position_embedding(tf.range(length))))
        if start else None,
        "no_past": logits(through(right_x, block_past=None)) if start else None,
    }
    return variants


_GPT_MISTAKES = {
    "no_positions": "the positional embedding is missing: without it attention cannot tell 'dog' from 'god'. "
                    "Add position_embedding(positions) to the token embeddings.",
    "positions_from_tokens": "the positional embedding is looked up with the character ids; look it up with the "
                             "positions 0, 1, ..., T - 1 (tf.range).",
    "no_final_norm": "the final LayerNorm is missing: logits = to_logits(final_norm(x)).",
    "not_chained": "each block reads the embeddings instead of the previous block's output: x, ... = block(x, ...).",
    "softmax": "the model returns probabilities (a softmax); return the logits, the loss takes from_logits=True.",
    "positions_restart": "after a cache of earlier positions the new tokens' positions start again at 0: they "
                         "continue from the cache's length, start = tf.shape(past[0][0])[2].",
    "no_past": "with past given, the result is as if there were no cache: pass each block its own past[i].",
}


def _run_model(model, tokens, past, what):
    output = call_learner(what, model.run, tokens, past)
    logits, presents, maps = learner_tuple(output, "run", ("logits", "presents", "attention maps"))
    require(isinstance(presents, (list, tuple)) and len(presents) == len(model.blocks),
            f"run should return one (keys, values) pair per block in presents, {len(model.blocks)} here; got "
            f"{type(presents).__name__}" + (f" of {len(presents)}" if isinstance(presents, (list, tuple)) else "") + ".")
    require(isinstance(maps, (list, tuple)) and len(maps) == len(model.blocks),
            f"run should return one attention map per block, {len(model.blocks)} here.")
    return learner_array(logits, "run's logits"), presents


def check_gpt(GPT):
    """``GPT(vocab_size, context, width, heads, depth).run(tokens, past)`` -> (logits, presents, maps)."""
    import tensorflow as tf

    model = call_learner("GPT(vocab_size=11, context=12, width=8, heads=2, depth=2) failed", GPT,
                         vocab_size=11, context=12, width=8, heads=2, depth=2)
    tokens = tf.constant(np.random.default_rng(0).integers(0, 11, size=(2, 7)), tf.int32)
    _run_model(model, tokens, None, "run failed on tokens of shape (2, 7)")
    _randomise(model, seed=2)
    logits, presents = _run_model(model, tokens, None, "run failed on tokens of shape (2, 7)")
    variants = _gpt_variants(model, tokens, None)
    right = variants.pop("right")
    require(logits.shape == right.shape, f"the logits for tokens of shape (2, 7) should have shape (2, 7, 11), "
                                         f"(batch, T, vocab_size); got {logits.shape}.")
    if not close(logits, right, atol=_ATOL):
        for name, variant in variants.items():
            if variant is not None and close(logits, variant, atol=_ATOL):
                raise CheckFailed(_GPT_MISTAKES[name])
        raise CheckFailed("the logits differ from to_logits(final_norm(blocks(token_embedding(tokens) + "
                          "position_embedding(0..T-1)))).")
    head, tail = tokens[:, :3], tokens[:, 3:]
    _, head_presents = _run_model(model, head, None, "run failed on tokens of shape (2, 3)")
    tail_logits, _ = _run_model(model, tail, head_presents, "run failed on 4 new tokens after a cache of 3")
    if not close(tail_logits, right[:, 3:], atol=_ATOL):
        variants = _gpt_variants(model, tail, head_presents)
        for name in ("positions_restart", "no_past"):
            if close(tail_logits, variants[name], atol=_ATOL):
                raise CheckFailed(_GPT_MISTAKES[name])
        raise CheckFailed("run(tokens[:, 3:], past) with the cache of run(tokens[:, :3]) should give the last 4 "
                          "logits of run(tokens); it does not.")
    compiled = tf.function(lambda t: model.run(t)[0], input_signature=[tf.TensorSpec((None, None), tf.int32)])
    try:
        traced = np.asarray(compiled(tokens))
    except Exception as error:
        raise CheckFailed(f"run fails inside a compiled training step (batch size and length unknown while "
                          f"tracing): {traced_error(error)}. Use tf.shape(tokens)[1] for the length.") from error
    require(close(traced, right, atol=_ATOL),
            "run gives another result when compiled by tf.function than when run eagerly.")
    passed("embeddings of tokens and positions, blocks in a chain, final LayerNorm, logits; positions go on "
           "after a cache, and the cached logits equal the recomputed ones")


# --- exercise 5: random windows ------------------------------------------------------------------


def _batches(random_windows, ids, context, batch_size, seed, limit):
    what = f"random_windows(ids of length {len(ids)}, context={context}, batch_size={batch_size}) failed"
    dataset = call_learner(what, random_windows, ids, context, batch_size, seed)
    require(dataset is not None, "random_windows returned None: did you forget `return`?")
    require(hasattr(dataset, "take"), f"random_windows should return a tf.data.Dataset; got {type(dataset).__name__}.")
    batches = call_learner(f"{what}; reading batches", lambda: list(dataset.take(limit)))
    require(len(batches) == limit,
            f"the dataset ended after {len(batches)} batches: the notebook trains for a number of steps "
            "(fit(steps_per_epoch=...)), so draw windows endlessly, e.g. from tf.data.Dataset.random(seed), "
            "or add .repeat().")
    return batches


def _as_pairs(batches, context, batch_size):
    inputs, targets = [], []
    for element in batches:
        require(isinstance(element, tuple) and len(element) == 2,
                "each element should be a pair (inputs, targets); "
                + ("a list becomes one stacked tensor in tf.data: return a tuple." if isinstance(element, list)
                   else f"got {type(element).__name__}."))
        x, y = (np.asarray(part) for part in element)
        require(x.shape == (batch_size, context) and y.shape == (batch_size, context),
                f"a batch should hold inputs and targets of shape (batch_size, context) = ({batch_size}, {context}); "
                f"got {x.shape} and {y.shape}.")
        require(np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer),
                f"inputs and targets should be integer character ids; got {x.dtype} and {y.dtype}.")
        inputs.append(x)
        targets.append(y)
    return np.concatenate(inputs), np.concatenate(targets)


def check_random_windows(random_windows):
    """``random_windows(ids, context, batch_size, seed)``: endless (inputs, targets) batches, windows at random
    starts in ``0 .. len(ids) - context - 1``, targets the inputs shifted by one."""
    n, context, batch_size = 40, 6, 8
    ids = np.arange(n, dtype=np.int32)  # each window shows where it starts
    inputs, targets = _as_pairs(_batches(random_windows, ids, context, batch_size, 0, 100), context, batch_size)
    require(np.all(np.diff(inputs, axis=1) == 1),
            "the inputs of a window are not consecutive characters of the text: cut each window as one slice, "
            "ids[start:start + context + 1].")
    shift = targets - inputs
    require(not np.all(shift == 0), "targets equal the inputs: the target at position t is the character at t + 1.")
    require(not np.all(shift == -1), "inputs and targets are swapped: the target is the NEXT character.")
    require(np.all(shift == 1), f"targets should be the inputs shifted by one character; they are shifted by "
                                f"{np.unique(shift).tolist()}. Cut context + 1 characters and split them.")
    starts = inputs[:, 0]
    last = n - context - 1
    counts = np.bincount(starts, minlength=last + 1)
    require(len(set(starts.tolist())) > 1, f"every window starts at {starts[0]}: the start is drawn once (NumPy or "
                                           "Python randomness inside Dataset.map runs once, when traced). Draw it with "
                                           "tf.data.Dataset.random or tf.random.uniform.")
    multiples = [step for step in (context, context + 1) if np.all(starts % step == 0)]
    require(not multiples, f"windows start only at multiples of {multiples[0] if multiples else 0}: these are "
                           "consecutive windows shuffled, not windows at random positions. Draw any start in "
                           "0 .. len(ids) - context - 1.")
    require(counts[0] > 0, "no window starts at position 0: the first possible start is 0.")
    require(counts[last] > 0, f"no window starts at {last} = len(ids) - context - 1, the last start whose window "
                              f"of context + 1 characters fits: an off-by-one in the range of starts.")
    require(np.all(counts > 0), f"some possible starts never occur in {len(starts)} windows "
                                f"(e.g. {np.flatnonzero(counts == 0)[:5].tolist()}): draw starts uniformly.")
    require(counts.max() < 4 * len(starts) / (last + 1),
            "some starts occur far more often than others: draw starts uniformly over 0 .. len(ids) - context - 1.")
    again, _ = _as_pairs(_batches(random_windows, ids, context, batch_size, 0, 5), context, batch_size)
    require(np.array_equal(again, inputs[:len(again)]),
            "the same seed gave different windows: draw with the seed given (tf.data.Dataset.random(seed=seed)), "
            "so that a run repeats itself.")
    passed("endless batches of (inputs, targets), windows at uniformly random starts 0 .. len - context - 1, "
           "targets shifted by one, repeatable with the seed")


# --- exercise 6: temperature and top-k sampling ----------------------------------------------------------

_LOGITS = np.array([2.0, 1.4, 0.9, 0.3, -0.4, -1.0])
_DRAWS = 1500
_TOLERANCE = 0.07  # total variation distance; sampling noise with 1,500 draws stays below ~0.03


def _top_k_probabilities(logits, temperature, k):
    keep = np.argsort(logits)[::-1][:k] if k else np.arange(len(logits))
    scaled = np.full(len(logits), -np.inf)
    scaled[keep] = logits[keep] / temperature
    return softmax(np.where(np.isfinite(scaled), scaled, -1e30))


def _sampling_variants(temperature, k):
    logits = _LOGITS
    bottom = np.argsort(logits)[:k] if k else np.arange(len(logits))
    zeroed = np.zeros(len(logits))
    keep = np.argsort(logits)[::-1][:k] if k else np.arange(len(logits))
    zeroed[keep] = logits[keep] / temperature
    smallest = np.full(len(logits), -1e30)
    smallest[bottom] = logits[bottom] / temperature
    return {
        "top_k ignored": (softmax(logits / temperature),
                          "top_k has no effect: keep only the k largest logits (set the others to -inf) before the "
                          "softmax."),
        "smallest": (softmax(smallest), "you keep the k SMALLEST logits; keep the k largest (np.argsort(logits)[-k:])."),
        "k plus one": (_top_k_probabilities(logits, temperature, k + 1) if k else None,
                       "you keep k + 1 characters: keep exactly k (mind the off-by-one in the slice)."),
        "k minus one": (_top_k_probabilities(logits, temperature, k - 1) if k and k > 1 else None,
                        "you keep k - 1 characters: keep exactly k (mind the off-by-one in the slice)."),
        "zeroed": (softmax(zeroed), "the logits outside the top k were set to 0, which still gives them "
                                    "probability (exp(0) = 1, more than a negative logit gets): set them to -inf."),
        "multiplied": (_top_k_probabilities(logits * temperature * temperature, temperature, k),
                       "you multiplied the logits by the temperature; divide them: softmax(logits / T)."),
        "temperature ignored": (_top_k_probabilities(logits, 1.0, k),
                                "the temperature has no effect: divide the logits by T before the softmax."),
    }


def _one_index(sample_next, logits, temperature, top_k, rng):
    try:
        index = call_learner(f"sample_next raised at temperature {temperature}, top_k={top_k}",
                             sample_next, logits.copy(), temperature, top_k, rng)
    except CheckFailed as failure:
        cause = str(failure.__cause__)
        if "sum to 1" in cause or "probabilities" in cause:
            raise CheckFailed(f"the probabilities you sample from do not sum to 1 ({cause}): cut to the top k and "
                              "divide by T on the LOGITS, then take a softmax.") from failure.__cause__
        if top_k is None and "None" in cause:
            raise CheckFailed(f"{failure} top_k=None means no cut: sample from all characters then.") \
                from failure.__cause__
        raise
    try:
        integral = np.ndim(index) == 0 and float(index) == int(index)
    except (TypeError, ValueError, OverflowError):
        integral = False
    require(integral, f"sample_next should return one character index (an int), got {index!r}.")
    return int(index)


def _frequencies(sample_next, temperature, top_k, seed):
    rng = np.random.default_rng(seed)
    draws = np.array([_one_index(sample_next, _LOGITS, temperature, top_k, rng) for _ in range(_DRAWS)])
    require(draws.min() >= 0 and draws.max() < len(_LOGITS),
            f"with {len(_LOGITS)} logits the index must lie in 0..{len(_LOGITS) - 1}; got {draws.min()}..{draws.max()}.")
    return np.bincount(draws, minlength=len(_LOGITS)) / _DRAWS


def _distance(p, q):
    return 0.5 * float(np.abs(p - q).sum())


def check_sample_next(sample_next):
    """``sample_next(logits, temperature, top_k, rng)`` draws one index from softmax(logits / T) over the k
    largest logits (all of them for top_k=None)."""
    cases = [(1.0, None), (0.5, 3), (2.0, 2), (1.0, 4), (1.5, None), (1.0, 1)]
    observations = {}
    for temperature, top_k in cases:
        observed = observations[temperature, top_k] = _frequencies(sample_next, temperature, top_k, seed=1)
        expected = _top_k_probabilities(_LOGITS, temperature, top_k)
        if _distance(observed, expected) <= _TOLERANCE:
            continue
        setting = f"at temperature {temperature} with top_k={top_k}"
        if observed.max() > 0.999 and top_k != 1:
            raise CheckFailed(f"{setting} every draw gave index {observed.argmax()}: you take the argmax (or draw "
                              "with a generator of your own, seeded anew at each call) instead of sampling with "
                              "the rng given: rng.choice(len(p), p=p).")
        for wrong, message in _sampling_variants(temperature, top_k).values():
            if wrong is not None and _distance(observed, wrong) <= _TOLERANCE:
                raise CheckFailed(f"{setting}: {message}")
        raise CheckFailed(f"{setting} the frequencies {np.round(observed, 3).tolist()} are far from "
                          f"{np.round(expected, 3).tolist()}: keep the k largest logits, divide them by T, softmax, "
                          "then draw one index with the rng.")
    require(np.array_equal(_frequencies(sample_next, 1.0, None, seed=1), observations[1.0, None]),
            "the same rng seed gave different draws: use the rng passed in (rng.choice), not np.random or tf.random.")
    with np.errstate(all="ignore"):
        cold = [_one_index(sample_next, np.array([300.0, 0.0, -300.0]), 0.01, 2, np.random.default_rng(s))
                for s in range(5)]
    require(cold == [0] * 5, f"for logits [300, 0, -300] at T = 0.01 expected always index 0, got {cold}: exp "
                             "overflowed. Subtract the largest logit before exp to keep the softmax stable.")
    passed("draws follow softmax(logits / T) over the k largest logits (all for top_k=None) and use the rng given")


# --- exercise 7: generation with a key/value cache -------------------------------------------------------


class _RunSpy:
    """Stands in for ``model.run``: calls it and records the number of new tokens and cached positions."""

    def __init__(self, model):
        self.model = model
        self.calls = []

    def __call__(self, tokens, past=None):
        import tensorflow as tf

        tokens = tf.convert_to_tensor(tokens)
        if tokens.shape.rank != 2:
            raise ValueError(f"run takes tokens of shape (batch, T); got shape {tuple(tokens.shape)}: "
                             "wrap the ids in a batch of one, e.g. tf.constant([ids]).")
        cached = 0 if past is None else int(past[0][0].shape[2])
        self.calls.append((int(tokens.shape[1]), cached))
        if cached and tokens.shape[1] > 1:
            raise ValueError(f"run was given {tokens.shape[1]} ids together with a cache of {cached} positions: the "
                             "cache already holds the earlier ones, so their keys would count twice. Feed only the "
                             "id just drawn")
        if cached + tokens.shape[1] > self.model.context:
            raise ValueError(f"run was asked for positions up to {cached + tokens.shape[1] - 1}, past the model's "
                             f"context of {self.model.context} positions (0 .. {self.model.context - 1}): don't call "
                             "run again after the last id has been drawn")
        return self.model.run(tokens, past)


def _picker(seed):
    """A ``pick(logits)`` that samples with its own seeded rng and insists on one position's 1-D logits."""
    rng = np.random.default_rng(seed)

    def pick(logits):
        logits = np.asarray(logits, np.float64)
        if logits.ndim != 1:
            raise ValueError(f"pick takes the 1-D logits of one position, shape (vocab_size,); got shape "
                             f"{logits.shape}: take logits[0, -1].")
        return int(rng.choice(len(logits), p=softmax(logits)))

    return pick


def _recomputed(model, prompt, n_new, seed, first_position=-1):
    import tensorflow as tf

    pick, ids = _picker(seed), list(prompt)
    for step in range(n_new):
        logits = model.run(tf.constant([ids], tf.int32))[0]
        ids.append(pick(logits[0, first_position if step == 0 else -1]))
    return ids[len(prompt):]


def check_generate_cached(generate_cached, GPT):
    """``generate_cached(run, prompt_ids, n_new, pick)`` returns the n_new ids that recomputation gives, reading
    the prompt once and then one new id per call of ``run``, with the cache."""
    model = GPT(vocab_size=11, context=16, width=16, heads=2, depth=2)
    model.run(np.zeros((1, 1), np.int32))
    _randomise(model, seed=3)
    for prompt, n_new in (([3, 1, 4, 1, 5], 6), ([7], 15), ([2, 6, 5, 3], 1)):
        spy = _RunSpy(model)
        what = f"generate_cached(run, prompt_ids={prompt}, n_new={n_new}, pick) failed"
        written = call_learner(what, generate_cached, spy, np.array(prompt, np.int32), n_new, _picker(0))
        require(written is not None, "generate_cached returned None: did you forget `return`?")
        written = learner_array(written, "generate_cached").astype(np.int64).ravel().tolist()
        expected = _recomputed(model, prompt, n_new, seed=0)
        if len(written) == len(prompt) + n_new and written[len(prompt):] == expected:
            raise CheckFailed("generate_cached returns the prompt too: return only the n_new new ids.")
        require(len(written) == n_new, f"with n_new={n_new} generate_cached should return {n_new} ids; "
                                       f"got {len(written)}.")
        lengths = [new for new, _ in spy.calls]
        require(spy.calls, "generate_cached never calls run: compute the logits with the run function it is given.")
        require(spy.calls[0] == (len(prompt), 0),
                f"the first call of run should read the whole prompt ({len(prompt)} ids) with no cache; it read "
                f"{spy.calls[0][0]} ids with {spy.calls[0][1]} cached positions.")
        if any(new > 1 for new in lengths[1:]):
            reason = ("with a cache of earlier positions: the cache already holds them, so their keys count twice"
                      if any(cached for new, cached in spy.calls[1:] if new > 1) else
                      "without the cache: that recomputes the whole text for every new character")
            raise CheckFailed(f"after the prompt, run was called with {max(lengths[1:])} ids at once {reason}. "
                              "Feed only the id just drawn, with past = the presents of the previous call.")
        cached = [cached for _, cached in spy.calls[1:]]
        require(cached == list(range(len(prompt), len(prompt) + len(cached))),
                f"the cache does not grow by one position per new id (cached positions per call: {cached}): "
                "keep the presents that run returns and pass them as past to the next call.")
        if written != expected:
            if written == _recomputed(model, prompt, n_new, seed=0, first_position=0):
                raise CheckFailed("the first id is drawn from the logits of the prompt's FIRST position: draw it "
                                  "from the last one, logits[0, -1].")
            raise CheckFailed(f"for prompt {prompt} generate_cached wrote {written}, recomputation writes {expected}: "
                              "feed each new id (the one just drawn) and draw from the logits of the last position.")
        require(len(spy.calls) <= n_new + 1, f"run was called {len(spy.calls)} times for {n_new} new ids: one call "
                                             "for the prompt and at most one per new id.")
    passed("the same ids as recomputing the whole text, reading the prompt once and then one id per step with "
           "the cache")
