"""Associative Recall of length T (paper §4.2, appendix B; the layout of the original generator).

T/2 keys with ids 1..T/2 in a random order (each key once), each followed by a value id drawn
with replacement from T/2+1..T/2+10; then two `?` tokens (id 0); then one query key drawn from
the keys. Length T + 3; inputs are one-hot over T/2 + 11 ids. The target is the query's value,
as one of 10 classes (value id − T/2 − 1), read from the last step. Example (T = 10,
letters for keys, digits for values): ``a1s2d3f4g5??d → 3``.

Training data: fresh sequences every step (``train_size=0``, the default), or, as the authors'
code, one fixed set of `train_size` sequences cycled in order: sequence i of the set is drawn from
``fold_in(key(train_seed), i)`` (so the set is never stored), and the batch of step s is sequences
[(s mod k)·B, (s mod k + 1)·B) with k = ⌊train_size / B⌋, a function of the step alone, so a
resumed run sees the same batches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tasks.metrics import classification_sums

NUM_VALUES = 10
QUERY_MARK = 0


class RecallTask:
    num_classes = NUM_VALUES
    readout = "last"

    def __init__(self, length: int = 30, train_size: int = 0, train_seed: int = 0):
        if isinstance(length, bool) or not isinstance(length, int) or length < 2 or length % 2:
            raise ValueError(f"recall: length T must be an even integer >= 2, got {length!r}.")
        if isinstance(train_size, bool) or not isinstance(train_size, int) or train_size < 0:
            raise ValueError(
                f"recall: train_size must be 0 (fresh data every step) or a number of sequences, got {train_size!r}."
            )
        self.length = length
        self.num_keys = length // 2
        self.vocab_size = self.num_keys + NUM_VALUES + 1
        self.seq_len = length + 3
        self.train_size = train_size
        self.train_seed = train_seed

    def train_data(self, batch_size: int):
        """Synthetic: no stored data (a fixed set is regenerated from its seed)."""
        return None

    def train_batch(self, key: jax.Array, batch_size: int, step, data=None) -> dict:
        """The training batch of `step`: fresh from `key`, or with a fixed set, batch `step` of the cycle."""
        if not self.train_size:
            return self.sample(key, batch_size)
        per_cycle = self.train_size // batch_size
        if per_cycle < 1:
            raise ValueError(f"recall: train_size={self.train_size} is smaller than one batch of {batch_size}.")
        return self.fixed_set(jnp.asarray(step) % per_cycle * batch_size + jnp.arange(batch_size))

    def fixed_set(self, index: jax.Array) -> dict:
        """Sequences `index` (b,) of the fixed training set, each drawn from fold_in(key(train_seed), i)."""
        base = jax.random.key(self.train_seed)
        one = jax.vmap(lambda i: self.sample(jax.random.fold_in(base, i), 1))(index)
        return jax.tree.map(lambda a: a[:, 0], one)

    @property
    def chance_accuracy(self) -> float:
        return 1.0 / NUM_VALUES

    def sample(self, key: jax.Array, batch_size: int) -> dict:
        """{'inputs': (b, T + 3) int32, 'targets': (b,) int32 in [0, 10)}, a pure function of key."""
        k_perm, k_val, k_query = jax.random.split(key, 3)
        order = jnp.argsort(jax.random.uniform(k_perm, (batch_size, self.num_keys)), axis=1)
        keys = (order + 1).astype(jnp.int32)  # (b, T/2) a permutation of 1..T/2
        values = jax.random.randint(k_val, (batch_size, self.num_keys), 0, NUM_VALUES, jnp.int32)
        value_ids = values + self.num_keys + 1  # (b, T/2) in T/2+1..T/2+10
        pairs = jnp.stack([keys, value_ids], axis=2).reshape(batch_size, self.length)
        pick = jax.random.randint(k_query, (batch_size, 1), 0, self.num_keys)
        query = jnp.take_along_axis(keys, pick, axis=1)  # (b, 1)
        marks = jnp.full((batch_size, 2), QUERY_MARK, jnp.int32)
        inputs = jnp.concatenate([pairs, marks, query], axis=1)
        targets = jnp.take_along_axis(values, pick, axis=1)[:, 0]
        return {"inputs": inputs, "targets": targets}

    def answer(self, inputs) -> int:
        """The target of one sequence (T + 3,), found by reading it: the value after the query's key."""
        inputs = [int(i) for i in inputs]
        query = inputs[-1]
        for key, value in zip(inputs[0 : self.length : 2], inputs[1 : self.length : 2]):
            if key == query:
                return value - self.num_keys - 1
        raise ValueError(f"query key {query} does not occur in the sequence {inputs}.")

    def metrics(self, logits: jax.Array, batch: dict) -> dict:
        return classification_sums(logits, batch["targets"])
