"""Chapter 14's checks: the notebook's solutions pass, and the cases are built so that each mistake a check
names gives another answer than the right one."""

import numpy as np
import tensorflow as tf

from course_utils.checks import vq_vae as checks

# --- the notebook's solutions (as in solutions/14_vq_vae.ipynb) -----------------------------------


def nearest_codes(z, codebook):
    distances = (tf.reduce_sum(tf.square(z), axis=1, keepdims=True)
                 - 2.0 * tf.matmul(z, codebook, transpose_b=True)
                 + tf.reduce_sum(tf.square(codebook), axis=1)[None, :])
    return tf.argmin(distances, axis=1, output_type=tf.int32)


def straight_through_and_losses(z_e, z_q):
    z = z_e + tf.stop_gradient(z_q - z_e)
    codebook_loss = tf.reduce_mean(tf.square(tf.stop_gradient(z_e) - z_q))
    commitment_loss = tf.reduce_mean(tf.square(z_e - tf.stop_gradient(z_q)))
    return z, codebook_loss, commitment_loss


def codebook_usage(indices, num_codes):
    counts = np.bincount(np.ravel(indices), minlength=num_codes)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p)))), int(np.sum(counts == 0))


def prior_sequences(code_grids, labels, num_codes):
    codes = code_grids.reshape(len(code_grids), -1)
    class_tokens = num_codes + labels[:, None]
    return np.concatenate([class_tokens, codes[:, :-1]], axis=1), codes


def test_the_solutions_pass(capsys):
    checks.check_nearest_codes(nearest_codes)
    checks.check_straight_through(straight_through_and_losses)
    checks.check_codebook_usage(codebook_usage)
    checks.check_prior_sequences(prior_sequences)
    assert capsys.readouterr().out.count("PASSED") == 4


# --- the cases tell the mistakes apart -------------------------------------------------------------


def test_each_nearest_code_mistake_differs_from_the_nearest_code_in_both_cases():
    for seed in (0, 1):
        z, codebook = checks.nearest_case(seed)
        right = checks.nearest_reference(z, codebook)
        for wrong, message in checks._nearest_mistakes(z, codebook):
            assert np.sum(wrong != right) >= 5, message


def test_the_nearest_code_reference_is_the_brute_force_minimum():
    z, codebook = checks.nearest_case(0)
    for row, index in zip(z, checks.nearest_reference(z, codebook)):
        distances = [float(np.sum((row.astype(np.float64) - e) ** 2)) for e in codebook]
        assert index == int(np.argmin(distances))


def test_each_usage_mistake_gives_another_answer_on_the_first_case():
    indices, num_codes = checks.usage_cases()[0]
    perplexity, dead = checks.usage_reference(indices, num_codes)
    assert dead == 3 and 1 < perplexity < num_codes - dead
    for wrong_perplexity, wrong_dead, message in checks._usage_mistakes(indices, num_codes):
        if wrong_perplexity is not None:
            assert not np.isclose(wrong_perplexity, perplexity, rtol=1e-3), message
        if wrong_dead is not None:
            assert wrong_dead != dead, message


def test_usage_reference_on_even_and_single_use():
    perplexity, dead = checks.usage_reference(np.arange(8), 8)
    assert np.isclose(perplexity, 8.0) and dead == 0
    perplexity, dead = checks.usage_reference(np.full(10, 3), 5)
    assert np.isclose(perplexity, 1.0) and dead == 4


def test_each_sequence_mistake_differs_from_the_right_sequences():
    grids, labels, num_codes = checks.sequences_case()
    right_inputs, right_targets = checks.sequences_reference(grids, labels, num_codes)
    assert right_inputs[:, 0].tolist() == [11, 19, 9]
    for (inputs, targets), message in checks._sequence_mistakes(grids, labels, num_codes):
        assert not (np.array_equal(inputs, right_inputs) and np.array_equal(targets, right_targets)), message
