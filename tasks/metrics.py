"""Classification loss and accuracy as sums plus counts, so batches and padding average correctly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def classification_sums(logits: jax.Array, labels: jax.Array, weights: jax.Array | None = None) -> dict:
    """Sums of cross-entropy (nats) and of correct predictions, and the count, over weighted positions.

    logits: (..., c); labels: (...) int; weights: (...) in {0, 1}, or None for all ones.
    """
    if weights is None:
        weights = jnp.ones(labels.shape, jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)
    correct = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
    return {
        "loss_sum": jnp.sum(ce * weights),
        "correct": jnp.sum(correct * weights),
        "count": jnp.sum(weights),
    }


def means(sums: dict) -> dict:
    """loss = loss_sum / count, accuracy = correct / count, and any other `<name>_correct / <name>_count`."""
    out = {"loss": sums["loss_sum"] / sums["count"], "accuracy": sums["correct"] / sums["count"]}
    for key in sums:
        if key.endswith("_correct"):
            name = key[: -len("_correct")]
            out[f"{name}_accuracy"] = sums[key] / sums[f"{name}_count"]
    return out
