"""Zoneout (Krueger et al. 2016, arXiv 1606.01305) as a wrapper for any cell.

For each unit of the hidden state (and the LSTM cell state), with fresh Bernoulli masks d per step:

    s_t = d ⊙ s_{t−1} + (1 − d) ⊙ s̃_t,    P(d = 1) = z   ("keep the old value"),

where s̃_t is the wrapped cell's new state, computed from the un-zoned candidate. At test time
(`deterministic=True`, set by ``model.eval()``) d is replaced by its expectation z.

Rates by carry: an LSTM carry (c, h) gets (`cell_rate`, `hidden_rate`); a named carry with a field
`h` (RUM, fast weights) gets `hidden_rate` on h and nothing on the rest (RUM's rotational memory
is not zoned); a plain array carry (GRU, GORU) gets `hidden_rate`. The random key travels in the
carry, so the cell stays a pure function of (carry, x) and runs in any scan. It is one key for the
whole batch, so `nnx.RNN`'s ``seq_lengths`` (which picks each example's carry at its own last step)
does not apply to a zoned cell: pad and mask instead, as the language models here do (they run full
lengths).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["ZoneoutCarry", "ZoneoutCell", "hidden_state"]


class ZoneoutCarry(NamedTuple):
    inner: Any
    key: jax.Array


def hidden_state(carry: Any) -> jax.Array:
    """The hidden state h of a carry: the carry itself, its field `h`, or the second member of (c, h)."""
    if isinstance(carry, ZoneoutCarry):
        return hidden_state(carry.inner)
    if hasattr(carry, "h"):
        return carry.h
    if isinstance(carry, tuple):
        return carry[1]
    return carry


def _rates(carry, cell_rate: float, hidden_rate: float):
    """A pytree of rates, one per carry leaf, by the rules in the module docstring."""
    if hasattr(carry, "_fields"):
        return type(carry)(
            *(
                None
                if getattr(carry, f) is None
                else jax.tree.map(lambda _: hidden_rate if f == "h" else 0.0, getattr(carry, f))
                for f in carry._fields
            )
        )
    if isinstance(carry, tuple):
        return (cell_rate, hidden_rate)
    return hidden_rate


class ZoneoutCell(nnx.RNNCellBase):
    """Zoneout around any cell: s_t = d ⊙ s_{t−1} + (1 − d) ⊙ s̃_t, d ~ Bernoulli(rate) per unit and step;
    in eval mode d is its expectation (module docstring for the rates of each carry)."""

    def __init__(
        self, cell: nnx.RNNCellBase, *, cell_rate: float = 0.0, hidden_rate: float = 0.0, deterministic: bool = False
    ):
        for name, rate in (("cell_rate", cell_rate), ("hidden_rate", hidden_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"zoneout: {name} must be in [0, 1), got {rate}.")
        self.cell = cell
        self.cell_rate, self.hidden_rate = cell_rate, hidden_rate
        self.deterministic = deterministic

    def __call__(self, carry: ZoneoutCarry, x):  # type: ignore[override]
        old, key = carry
        new, _ = self.cell(old, x)
        rates = _rates(old, self.cell_rate, self.hidden_rate)
        leaves_old, treedef = jax.tree.flatten(old)
        leaves_new, leaves_rate = jax.tree.leaves(new), jax.tree.leaves(rates)  # the same structure as `old`
        assert len(leaves_new) == len(leaves_rate) == len(leaves_old)
        key, sub = jax.random.split(key)
        keys = jax.random.split(sub, len(leaves_old))
        mixed = []
        for k, o, n, z in zip(keys, leaves_old, leaves_new, leaves_rate):
            if z == 0.0:
                mixed.append(n)
            elif self.deterministic:
                mixed.append(z * o + (1.0 - z) * n)
            else:
                mixed.append(jnp.where(jax.random.bernoulli(k, z, n.shape), o, n))
        zoned = jax.tree.unflatten(treedef, mixed)
        return ZoneoutCarry(zoned, key), hidden_state(zoned)

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> ZoneoutCarry:
        if isinstance(rngs, nnx.Rngs):
            key = rngs.carry()
        elif rngs is not None:
            key = rngs()
        else:
            key = jax.random.key(0)
        return ZoneoutCarry(self.cell.initialize_carry(input_shape, rngs), key)

    @property
    def num_feature_axes(self) -> int:
        return 1

    @property
    def hidden_features(self) -> int:
        return getattr(self.cell, "hidden_features")  # every cell of the zoo has it; RNNCellBase does not declare it
