"""Checks for chapter 14, a VQ-VAE and a transformer prior over its codes.

- ``check_nearest_codes``: the index of the nearest codebook vector for each encoder output, all
  distances at once (no loop over the vectors or the codes), also inside a compiled training step.
- ``check_straight_through``: the decoder's input z_e + stop_gradient(z_q - z_e), the codebook loss
  (moves only the codes) and the commitment loss (moves only the encoder), judged by their values and
  by where their gradients go.
- ``check_codebook_usage``: perplexity exp(entropy) of the code frequencies, and the number of dead codes.
- ``check_prior_sequences``: code grids in raster order behind a class token, targets shifted by one.

Each check compares the learner's answer with a NumPy reference and, when it differs, with the answers
the usual mistakes give, to name the most likely one.
"""

import numpy as np

from course_utils.checks._numeric import close
from course_utils.checks._verdict import (CheckFailed, call_learner, learner_array, learner_tuple, passed, require,
                                          scalar_result, traced_error)

_ATOL = 1e-5  # float32 distances and losses against float64 references


# --- exercise 1: the nearest code -----------------------------------------------------------------


def squared_distances(z, codebook):
    """``(N, K)`` squared Euclidean distances between rows of ``z`` (N, D) and of ``codebook`` (K, D) (NumPy)."""
    z, codebook = np.asarray(z, np.float64), np.asarray(codebook, np.float64)
    return ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(axis=-1)


def nearest_reference(z, codebook):
    """The index of the nearest codebook row for each row of ``z`` (NumPy)."""
    return squared_distances(z, codebook).argmin(axis=1)


def nearest_case(seed, n=64, k=10, d=4):
    """Encoder outputs ``z`` (n, d) and a codebook (k, d) whose rows have very different lengths, so that the
    largest dot product, a distance without ``|e|^2`` and the L1 distance each pick other codes than the
    squared Euclidean distance for many rows."""
    rng = np.random.default_rng(seed)
    codebook = rng.normal(size=(k, d)) * rng.uniform(0.2, 3.0, size=(k, 1))
    z = 1.5 * rng.normal(size=(n, d))
    return z.astype(np.float32), codebook.astype(np.float32)


def _nearest_mistakes(z, codebook):
    """``[(indices a mistake gives, message)]`` for the usual wrong ways to pick the nearest code."""
    z64, e64 = np.asarray(z, np.float64), np.asarray(codebook, np.float64)
    dot = z64 @ e64.T
    norms = (e64 ** 2).sum(axis=1)[None, :]
    return [
        (squared_distances(z, codebook).argmax(axis=1),
         "you pick the FARTHEST code (argmax of the distances): the nearest one has the smallest distance, "
         "tf.argmin(distances, axis=1)."),
        (dot.argmax(axis=1),
         "you pick the code with the largest dot product z . e (or leave |e|^2 out of the distance): that is the "
         "nearest code only when all codes have the same length. Use the whole squared distance "
         "|z|^2 - 2 z . e + |e|^2."),
        (dot.argmin(axis=1),
         "you pick the code with the smallest dot product z . e: use the squared distance |z|^2 - 2 z . e + |e|^2 "
         "and take its argmin."),
        ((2 * dot + norms).argmin(axis=1),
         "the cross term has the wrong sign: |z - e|^2 = |z|^2 - 2 z . e + |e|^2, with a MINUS before 2 z . e."),
        ((-dot + norms).argmin(axis=1),
         "the factor 2 of the cross term is missing: |z - e|^2 = |z|^2 - 2 z . e + |e|^2."),
        (np.abs(z64[:, None, :] - e64[None, :, :]).sum(axis=-1).argmin(axis=1),
         "you pick the code nearest in the L1 distance (sum of absolute differences): the VQ-VAE's codebook and "
         "commitment losses are squared Euclidean distances, so the nearest code is the one with the smallest "
         "SQUARED distance."),
    ]


def _indices_shape_message(shape, n, k, d):
    if shape == (k,):
        return (f"you return {k} indices, one per code: the argmin ran over the vectors (axis 0). Take it over the "
                f"codes, tf.argmin(distances, axis=1), for one index per vector, shape ({n},).")
    if shape == (n, k):
        return (f"you return shape ({n}, {k}), the distances themselves: return the index of the smallest "
                f"distance in each row, tf.argmin(distances, axis=1), shape ({n},).")
    if shape == (n, d):
        return (f"you return shape ({n}, {d}), which looks like the nearest codebook VECTORS: return their "
                f"indices, shape ({n},) (the model looks the vectors up with tf.gather).")
    return f"for {n} vectors and {k} codes, return {n} indices, shape ({n},); you returned shape {shape}."


def _check_indices(result, z, codebook, what):
    """Name what is wrong with the indices ``result`` for ``z`` and ``codebook``, if anything."""
    (n, d), k = z.shape, len(codebook)
    indices = learner_array(result, what, dtype=None)
    require(indices.shape == (n,), _indices_shape_message(indices.shape, n, k, d))
    require(indices.dtype.kind in "iu",
            f"{what} returns {indices.dtype} numbers: indices are integers (tf.gather needs them); tf.argmin "
            "returns them, so don't cast its result to a float.")
    want = nearest_reference(z, codebook)
    if np.array_equal(indices, want):
        return
    for wrong, message in _nearest_mistakes(z, codebook):
        if np.array_equal(indices, wrong):
            raise CheckFailed(message)
    rows = int(np.sum(indices != want))
    raise CheckFailed(f"{what} picks another code than the nearest one for {rows} of {n} vectors. Compute the "
                      "squared distances |z|^2 - 2 z . e + |e|^2 for all pairs and take tf.argmin over the codes.")


def _traced_nearest(nearest_codes, d, k):
    """``nearest_codes`` traced as the model's training step traces it: the number of vectors unknown."""
    import tensorflow as tf

    compiled = tf.function(nearest_codes, input_signature=[tf.TensorSpec((None, d), tf.float32),
                                                           tf.TensorSpec((k, d), tf.float32)])
    try:
        return compiled.get_concrete_function()
    except Exception as error:
        detail = traced_error(error)
        if any(sign in detail for sign in ("None", "Iterating over a symbolic", "len is not well defined")):
            raise CheckFailed(
                "inside the model's training step the number of vectors is unknown while the function is traced "
                f"(z.shape[0] is None), and your code fails on that ({detail}). A Python loop over the rows "
                "(range(z.shape[0]), len(z)) cannot run there: compute all distances at once with a matrix "
                "product and broadcasting.") from error
        if "numpy" in detail.lower() or "symbolic" in detail:
            raise CheckFailed(
                f"your code calls NumPy on a tensor ({detail}): inside the model's training step the tensors are "
                "symbolic and have no values yet. Use TensorFlow ops (tf.matmul, tf.reduce_sum, tf.argmin).") \
                from error
        raise CheckFailed(f"nearest_codes fails when traced inside a training step (number of vectors unknown): "
                          f"{detail}") from error


_LOOP_OPS = ("While", "StatelessWhile", "For")


def check_nearest_codes(nearest_codes):
    """``nearest_codes(z, codebook)``: for z (N, D) and codebook (K, D), the (N,) integer indices of the nearest
    codebook rows, computed without a loop, also inside a compiled training step (N unknown)."""
    import tensorflow as tf

    for seed in (0, 1):
        z, codebook = nearest_case(seed)
        what = f"nearest_codes(z, codebook) for z of shape {z.shape} and a codebook of shape {codebook.shape}"
        result = call_learner(f"{what} failed", nearest_codes, tf.constant(z), tf.constant(codebook))
        _check_indices(result, z, codebook, "nearest_codes")
    graphs = {}
    for k in (10, 20):
        concrete = _traced_nearest(nearest_codes, 4, k)
        operations = [op.type for op in concrete.graph.get_operations()]
        loops = sorted(set(operations) & set(_LOOP_OPS))
        if loops:
            raise CheckFailed(f"your function loops over the vectors (its compiled graph holds a {loops[0]} loop: "
                              "tf.map_fn, tf.while_loop, or a for loop over a tensor that AutoGraph turned into "
                              "one). Compute all N x K distances at once: |z|^2 - 2 z @ codebook^T + |e|^2 with "
                              "broadcasting.")
        graphs[k] = (concrete, len(operations))
    require(graphs[10][1] == graphs[20][1],
            f"your compiled function has {graphs[10][1]} operations for 10 codes and {graphs[20][1]} for 20: it "
            "loops over the codes in Python. Compute the distances to all codes at once with a matrix product, "
            "z @ codebook^T, and broadcasting.")
    z, codebook = nearest_case(2, n=37, k=20)
    try:
        traced = graphs[20][0](tf.constant(z), tf.constant(codebook))
    except Exception as error:
        raise CheckFailed(f"nearest_codes fails inside a compiled training step: {traced_error(error)}") from error
    _check_indices(traced, z, codebook, "nearest_codes, compiled,")
    passed("nearest_codes picks the code with the smallest squared distance for every vector, with no loop, "
           "also inside a compiled training step")


# --- exercise 2: the straight-through estimator and the two losses ---------------------------------------


def _straight_through_case():
    rng = np.random.default_rng(3)
    z_e = rng.normal(size=(6, 4)).astype(np.float32)
    z_q = (z_e + rng.normal(scale=0.7, size=(6, 4))).astype(np.float32)
    weights = rng.normal(size=(6, 4)).astype(np.float32)
    return z_e, z_q, weights


def _gradient(tape, target, source):
    """The gradient of ``target`` with respect to ``source`` as a NumPy array (zeros where none flows)."""
    import tensorflow as tf

    try:
        gradient = tape.gradient(target, source)
    except Exception:  # noqa: BLE001 - an integer target or one the tape cannot follow: no gradient
        gradient = None
    return np.zeros(source.shape) if gradient is None else np.asarray(tf.convert_to_tensor(gradient), np.float64)


def _flows(gradient):
    return bool(np.any(np.abs(gradient) > 1e-7))


def _check_decoder_input(z, gradient_e, gradient_q, z_e, z_q, weights):
    if close(z, z_e, atol=_ATOL):
        raise CheckFailed("the decoder's input equals the encoder's output z_e: the decoder must see the QUANTISED "
                          "vectors z_q. Write z_e + tf.stop_gradient(z_q - z_e): its value is z_q, its gradient "
                          "goes to z_e.")
    require(close(z, z_q, atol=_ATOL), "the decoder's input should equal z_q (its value) and pass the gradient to "
                                       "z_e: z_e + tf.stop_gradient(z_q - z_e).")
    if not _flows(gradient_e):
        where = ("; it reaches z_q instead: the difference z_q - z_e needs tf.stop_gradient around it"
                 if _flows(gradient_q) else
                 "; put tf.stop_gradient around the whole difference z_q - z_e, not around z_q alone (in "
                 "z_e + tf.stop_gradient(z_q) - z_e the gradients of +z_e and -z_e cancel)")
        raise CheckFailed("no gradient reaches the encoder's output z_e through the decoder's input, so the encoder "
                          f"would never learn (the argmin that picked z_q has no gradient){where}. The "
                          "straight-through estimator copies the decoder's gradient to z_e: "
                          "z_e + tf.stop_gradient(z_q - z_e).")
    require(not _flows(gradient_q),
            "the decoder's gradient also reaches z_q through the decoder's input: the codes would move with the "
            "decoder's gradient as well as with the codebook loss. Wrap z_q - z_e in tf.stop_gradient.")
    require(close(gradient_e, weights, atol=_ATOL),
            "the gradient that reaches z_e is not the decoder's gradient copied unchanged: the straight-through "
            "estimator is z_e + tf.stop_gradient(z_q - z_e), whose derivative with respect to z_e is 1.")


def _check_loss_value(value, z_e, z_q, name):
    squared = (np.asarray(z_e, np.float64) - z_q) ** 2
    want = squared.mean()
    candidates = [
        (squared.sum(), f"the {name} is a SUM of squared differences: take the mean (tf.reduce_mean), so its size "
                        "does not depend on the batch and on the code length."),
        (0.25 * want, f"the {name} is scaled by 0.25: return it without beta; the training step multiplies the "
                      "commitment loss by beta."),
        (np.abs(np.asarray(z_e, np.float64) - z_q).mean(),
         f"the {name} is a mean ABSOLUTE difference: it is a mean SQUARED difference, tf.square."),
        ((np.asarray(z_e, np.float64) - z_q).mean(),
         f"the {name} is the mean difference, not squared: positive and negative differences cancel. Square them."),
        (np.sqrt(squared.sum(axis=1)).mean(),
         f"the {name} is the mean Euclidean distance (a square root): use the mean SQUARED difference."),
        (squared.sum(axis=1).mean(),
         f"the {name} sums the squares over the {squared.shape[1]} numbers of each vector and averages over the "
         "vectors: take the mean over ALL numbers, tf.reduce_mean(tf.square(...)) with no axis, so that its size "
         "does not grow with the code length D."),
    ]
    if close(value, want, atol=_ATOL):
        return
    for wrong, message in candidates:
        if close(value, wrong, atol=_ATOL):
            raise CheckFailed(message)
    raise CheckFailed(f"the {name} is {value:.6g}; expected the mean squared difference of z_e and z_q, {want:.6g}.")


def check_straight_through(straight_through_and_losses):
    """``straight_through_and_losses(z_e, z_q)`` -> ``(z, codebook_loss, commitment_loss)``: the decoder's input
    z_e + sg(z_q - z_e), mean |sg(z_e) - z_q|^2 and mean |z_e - sg(z_q)|^2."""
    import tensorflow as tf

    z_e_array, z_q_array, weights = _straight_through_case()
    z_e, z_q = tf.Variable(z_e_array), tf.Variable(z_q_array)
    with tf.GradientTape(persistent=True) as tape:
        result = call_learner("straight_through_and_losses(z_e, z_q) failed for z_e and z_q of shape (6, 4)",
                              straight_through_and_losses, tf.convert_to_tensor(z_e), tf.convert_to_tensor(z_q))
        z, codebook_loss, commitment_loss = learner_tuple(result, "straight_through_and_losses",
                                                     ("z for the decoder", "codebook loss", "commitment loss"))
        require(all(tf.is_tensor(x) for x in (z, codebook_loss, commitment_loss)),
                "straight_through_and_losses returns NumPy values (or Python numbers): the gradient tape cannot "
                "follow NumPy. Compute all three with TensorFlow ops.")
        require(tuple(z.shape) == z_e_array.shape, f"the decoder's input should have the shape of z_e, "
                                                   f"{z_e_array.shape}; it has {tuple(z.shape)}.")
        decoder_objective = tf.reduce_sum(tf.cast(z, tf.float32) * weights)
    z_array = learner_array(z, "the decoder's input", dtype=None).astype(np.float64)
    _check_decoder_input(z_array, _gradient(tape, decoder_objective, z_e), _gradient(tape, decoder_objective, z_q),
                         z_e_array, z_q_array, weights)
    values = {}
    for name, loss in (("codebook loss", codebook_loss), ("commitment loss", commitment_loss)):
        values[name] = scalar_result(loss, f"the {name}")
        _check_loss_value(values[name], z_e_array, z_q_array, name)
    gradients = {name: (_flows(_gradient(tape, loss, z_e)), _flows(_gradient(tape, loss, z_q)))
                 for name, loss in (("codebook loss", codebook_loss), ("commitment loss", commitment_loss))}
    if gradients["codebook loss"] == (True, False) and gradients["commitment loss"] == (False, True):
        raise CheckFailed("the two losses are swapped: the codebook loss moves the CODES towards the encoder's "
                          "outputs, |sg(z_e) - z_q|^2, and the commitment loss moves the ENCODER towards its codes, "
                          "|z_e - sg(z_q)|^2.")
    for name, moves, keeps in (("codebook loss", "the codes z_q", "z_e"), ("commitment loss", "the encoder's z_e", "z_q")):
        to_e, to_q = gradients[name]
        wanted = (False, True) if name == "codebook loss" else (True, False)
        if (to_e, to_q) == wanted:
            continue
        if to_e and to_q:
            raise CheckFailed(f"the {name} sends gradients to both z_e and z_q: it should move only {moves}. Wrap "
                              f"{keeps} in tf.stop_gradient inside it.")
        if not (to_e or to_q):
            raise CheckFailed(f"the {name} sends no gradient anywhere: it should move {moves}. Put tf.stop_gradient "
                              f"around {keeps} only.")
        raise CheckFailed(f"the {name} moves the wrong tensor: it should move only {moves}, with tf.stop_gradient "
                          f"around {keeps}.")
    passed("the decoder sees z_q and its gradient reaches z_e unchanged; the codebook loss moves only the codes, "
           "the commitment loss only the encoder")


# --- exercise 3: codebook usage -----------------------------------------------------------------------


def usage_reference(indices, num_codes):
    """``(perplexity, dead codes)`` of ``indices`` (any shape) over ``num_codes`` codes (NumPy)."""
    counts = np.bincount(np.ravel(indices), minlength=num_codes)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p)))), int(np.sum(counts == 0))


def usage_cases():
    """``[(indices, num_codes)]``: a skewed grid batch with unused codes among them the last, an even use of
    every code, and one code only."""
    rng = np.random.default_rng(4)
    used = np.array([0, 1, 2, 4, 5, 6, 8, 9, 10])
    skewed = rng.choice(used, size=(40, 3, 3), p=np.arange(1, 10) / 45.0)
    return [(skewed, 12), (np.tile(np.arange(8), 5).reshape(5, 8), 8), (np.full((6, 2, 2), 3), 5)]


def _usage_mistakes(indices, num_codes):
    """``{what: (perplexity or None, dead or None, message)}`` for the usual mistakes."""
    flat = np.ravel(indices)
    counts = np.bincount(flat, minlength=num_codes)
    p = counts[counts > 0] / counts.sum()
    entropy = -np.sum(p * np.log(p))
    return [
        (entropy, None, "you return the entropy: the perplexity is exp(entropy), the number of equally used codes "
                        "that would give the same entropy."),
        (np.exp(entropy / np.log(2)), None,
         "you take the entropy in bits (log2) and then exp: use the same base both ways, exp of the entropy in nats "
         "(np.log), or 2 ** entropy in bits."),
        (2.0 ** entropy, None, "you take 2 ** of an entropy in nats: use the same base both ways, np.exp(entropy) "
                               "with np.log, or 2 ** with np.log2."),
        (float(len(p)), None, "you return the number of codes in use as the perplexity: the perplexity weighs each "
                              "code by how often it is used, exp(-sum p log p)."),
        (np.exp(-np.sum(counts / num_codes * np.log(np.maximum(counts, 1) / num_codes))), None,
         "the frequencies are counts divided by the number of codes: divide the counts by their total, the number "
         "of indices, so that they sum to 1."),
        (None, int(np.sum(counts > 0)), "you return the number of codes IN USE as the dead codes: a dead code is one "
                                        "that no index picks (a count of 0)."),
        (None, int(np.sum(np.bincount(flat) == 0)),
         "unused codes above the largest index used are not counted: np.bincount(..., minlength=num_codes) counts "
         "every code."),
    ]


def _one_usage(codebook_usage, indices, num_codes):
    what = f"codebook_usage(indices of shape {indices.shape}, num_codes={num_codes})"
    try:
        result = call_learner(f"{what} failed", codebook_usage, indices.copy(), num_codes)
    except CheckFailed as failure:
        if "too deep" in str(failure) or "1-d" in str(failure).lower() or "1 dimension" in str(failure):
            raise CheckFailed(f"{failure} The indices come as grids, shape {indices.shape}: flatten them first "
                              "(np.ravel).") from failure.__cause__
        raise
    perplexity, dead = learner_tuple(result, "codebook_usage", ("perplexity", "dead codes"))
    perplexity = scalar_result(perplexity, "the perplexity")
    dead_array = learner_array(dead, "the number of dead codes", dtype=None)
    require(dead_array.size == 1, f"the number of dead codes should be one number; it has shape {dead_array.shape}: "
                                  "count the codes whose count is 0, np.sum(counts == 0).")
    return perplexity, float(dead_array.reshape(()))


def check_codebook_usage(codebook_usage):
    """``codebook_usage(indices, num_codes)`` -> ``(perplexity, dead codes)`` for indices of any shape."""
    for indices, num_codes in usage_cases():
        perplexity, dead = _one_usage(codebook_usage, indices, num_codes)
        want_perplexity, want_dead = usage_reference(indices, num_codes)
        if np.isclose(perplexity, want_perplexity, rtol=1e-4) and dead == want_dead:
            continue
        require(np.isfinite(perplexity),
                f"the perplexity is {perplexity} for {num_codes} codes of which some are never used: 0 * log 0 is "
                "NaN in NumPy. Leave the unused codes out of the sum (p[p > 0]); their share of the entropy is 0.")
        for wrong_perplexity, wrong_dead, message in _usage_mistakes(indices, num_codes):
            perplexity_matches = wrong_perplexity is not None and np.isclose(perplexity, wrong_perplexity, rtol=1e-4)
            dead_matches = wrong_dead is not None and wrong_dead != want_dead and dead == wrong_dead
            if perplexity_matches and not np.isclose(wrong_perplexity, want_perplexity, rtol=1e-4) or dead_matches:
                raise CheckFailed(message)
        raise CheckFailed(f"for indices of shape {indices.shape} over {num_codes} codes you return perplexity "
                          f"{perplexity:.4g} and {dead:g} dead codes; expected {want_perplexity:.4g} and {want_dead}.")
    passed("perplexity exp(-sum p log p) over the codes used, and the number of codes never used")


# --- exercise 4: the prior's training sequences ----------------------------------------------------------


def sequences_reference(code_grids, labels, num_codes):
    """``(inputs, targets)``: the codes in raster order, behind the class token ``num_codes + label`` (NumPy)."""
    codes = np.asarray(code_grids).reshape(len(code_grids), -1)
    full = np.concatenate([num_codes + np.asarray(labels)[:, None], codes], axis=1)
    return full[:, :-1], full[:, 1:]


def sequences_case():
    """Three 3 x 4 grids over 9 codes, with labels 2, 10 (no class) and 0."""
    rng = np.random.default_rng(5)
    return rng.integers(0, 9, size=(3, 3, 4)), np.array([2, 10, 0]), 9


def _sequence_mistakes(code_grids, labels, num_codes):
    n = len(code_grids)
    right_inputs, right_targets = sequences_reference(code_grids, labels, num_codes)
    by_columns = np.transpose(code_grids, (0, 2, 1)).reshape(n, -1)
    class_tokens = num_codes + labels[:, None]
    return [
        ((np.concatenate([class_tokens, by_columns[:, :-1]], axis=1), by_columns),
         "the codes are read column by column: raster order reads each grid row by row, as a reshape of the "
         "(N, H, W) grids to (N, H * W) does."),
        ((np.concatenate([labels[:, None], right_targets[:, :-1]], axis=1), right_targets),
         "the class token is the label itself, which is also the id of a code: give classes their own ids after "
         "the codes, num_codes + label."),
        ((right_targets, right_inputs),
         "inputs and targets are swapped: the model reads the inputs (class token first) and predicts the targets, "
         "the same sequence one step later."),
        ((right_inputs, right_inputs),
         "the targets equal the inputs: the model would learn to copy. The target at each position is the NEXT "
         "token, so the targets are the inputs shifted by one (the codes themselves)."),
        ((right_targets, right_targets),
         "the inputs are the codes with no class token in front: start each input with num_codes + label, "
         "then the codes except the last."),
        ((right_targets, np.concatenate([right_targets[:, 1:], class_tokens], axis=1)),
         "the class token is at the end: it comes FIRST, so that every code is written knowing the class."),
        ((np.concatenate([num_codes - 1 + labels[:, None], right_targets[:, :-1]], axis=1), right_targets),
         "the class tokens are off by one: class y has id num_codes + y (ids 0 .. num_codes - 1 are the codes)."),
    ]


def check_prior_sequences(prior_sequences):
    """``prior_sequences(code_grids, labels, num_codes)`` -> ``(inputs, targets)``, each (N, H * W) integers."""
    code_grids, labels, num_codes = sequences_case()
    n, h, w = code_grids.shape
    result = call_learner(f"prior_sequences(code_grids of shape {code_grids.shape}, labels {labels.tolist()}, "
                          f"num_codes={num_codes}) failed", prior_sequences, code_grids.copy(), labels.copy(), num_codes)
    pair = learner_tuple(result, "prior_sequences", ("inputs", "targets"))
    inputs, targets = (learner_array(x, name, dtype=None) for x, name in zip(pair, ("the inputs", "the targets")))
    for array, name in ((inputs, "inputs"), (targets, "targets")):
        if array.shape == (n, h * w + 1):
            raise CheckFailed(f"the {name} have {h * w + 1} tokens per sequence (class token and all {h * w} codes): "
                              f"each should have {h * w}. The inputs leave out the last code (nothing comes after "
                              "it to predict), the targets leave out the class token (it is given, never predicted).")
        require(array.shape == (n, h * w), f"for {n} grids of {h} x {w} codes the {name} should have shape "
                                           f"({n}, {h * w}); they have shape {array.shape}.")
        require(array.dtype.kind in "iu", f"the {name} are {array.dtype}: token ids are integers (an Embedding "
                                          "layer looks them up).")
    want_inputs, want_targets = sequences_reference(code_grids, labels, num_codes)
    if np.array_equal(inputs, want_inputs) and np.array_equal(targets, want_targets):
        passed("inputs: the class token num_codes + label, then the codes in raster order but the last; "
               "targets: the codes, one step ahead")
        return
    for (wrong_inputs, wrong_targets), message in _sequence_mistakes(code_grids, labels, num_codes):
        if np.array_equal(inputs, wrong_inputs) and np.array_equal(targets, wrong_targets):
            raise CheckFailed(message)
    if np.array_equal(targets, want_targets):
        raise CheckFailed("the targets are right, the inputs are not: the class token num_codes + label, then the "
                          "codes in raster order without the last one.")
    raise CheckFailed("the targets should be the codes of each grid in raster order (reshape to (N, H * W)), and the "
                      "inputs the class token num_codes + label followed by the same codes without the last one.")
