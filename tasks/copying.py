"""Copying Memory with delay T (paper §4.1, appendix A; the layout of Jing et al. 2017's generator).

Input, length T + 20: ten data symbols drawn uniformly from {1..8}, T − 1 blanks (0), the
marker (9), ten blanks. Target: T + 10 blanks (0), then the ten data symbols. Inputs are
one-hot over 10 symbols; 9 output classes (blank and the 8 data symbols); cross-entropy is
averaged over every position. A model that outputs blanks and then guesses uniformly scores

    baseline loss = 10 · ln 8 / (T + 20)   (nats per position).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from tasks.metrics import classification_sums

NUM_DATA = 10  # symbols to copy
NUM_SYMBOLS = 8  # data alphabet {1..8}
BLANK, MARKER = 0, 9


class CopyingTask:
    vocab_size = 10
    num_classes = 9
    readout = "all"

    def __init__(self, delay: int = 200):
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 1:
            raise ValueError(f"copying: delay T must be a positive integer, got {delay!r}.")
        self.delay = delay
        self.seq_len = delay + 2 * NUM_DATA

    @property
    def baseline_loss(self) -> float:
        """Cross-entropy of the best memoryless model: 10 ln 8 / (T + 20)."""
        return NUM_DATA * math.log(NUM_SYMBOLS) / self.seq_len

    def train_data(self, batch_size: int):
        """Synthetic: no stored data."""
        return None

    def train_batch(self, key: jax.Array, batch_size: int, step, data=None) -> dict:
        """The training batch of a step: fresh sequences from `key`."""
        return self.sample(key, batch_size)

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        """{'inputs': (b, T + 20) int32, 'targets': (b, T + 20) int32}, a pure function of key."""
        data = jax.random.randint(key, (batch_size, NUM_DATA), 1, NUM_SYMBOLS + 1, jnp.int32)
        inputs = jnp.concatenate(
            [
                data,
                jnp.full((batch_size, self.delay - 1), BLANK, jnp.int32),
                jnp.full((batch_size, 1), MARKER, jnp.int32),
                jnp.full((batch_size, NUM_DATA), BLANK, jnp.int32),
            ],
            axis=1,
        )
        targets = jnp.concatenate([jnp.full((batch_size, self.delay + NUM_DATA), BLANK, jnp.int32), data], axis=1)
        return {"inputs": inputs, "targets": targets}

    def metrics(self, logits: jax.Array, batch: dict) -> dict:
        """Sums over every position, plus `copy_*` over the ten output positions only."""
        sums = classification_sums(logits, batch["targets"])
        tail = classification_sums(logits[:, -NUM_DATA:], batch["targets"][:, -NUM_DATA:])
        sums["copy_correct"], sums["copy_count"] = tail["correct"], tail["count"]
        return sums
