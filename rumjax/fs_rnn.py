"""Fast-Slow RNN, FS-RNN-k (Mujika, Meier & Steger 2017, arXiv 1705.08639), baselines.md §5.1.

A chain of k fast cells F_1 … F_k sharing one state, and one slow cell S:

    h^{F1}_t = F_1(h^{Fk}_{t−1}, x_t)        F_1 continues from the last fast state of the previous step
    h^{S}_t  = S(h^{S}_{t−1}, h^{F1}_t)      the slow cell reads F_1's output
    h^{F2}_t = F_2(h^{F1}_t, h^{S}_t)        F_2 reads S's output
    h^{Fi}_t = F_i(h^{F(i−1)}_t, 0)          3 ≤ i ≤ k, no input (a zero of width 1)
    y_t      = h^{Fk}_t

Dropout (the FS-RNN code's non-recurrent dropout, at four sites): on x_t before F_1 and on y_t after
F_k (both in `LanguageModel`), and with ``dropout > 0`` here on F_1's output going into S and on S's
output going into F_2, with fresh masks every step (inverted dropout: kept units scaled by
1/(1 − rate)); none in eval mode (``deterministic``, set by ``model.eval()``). The random key then
travels in the carry, as zoneout's does.

Any cells of the registry can play F and S: FS-LSTM-2 is (ln_lstm ×2, ln_lstm), FS-RUM-2 of the
RUM paper (Table 5) is (ln_lstm ×2, rum). The fast cells must share one carry structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["FSRNNCarry", "FSRNNCell"]


class FSRNNCarry(NamedTuple):
    fast: Any
    slow: Any
    key: jax.Array | None = None  # dropout's key, only with dropout > 0

    @property
    def h(self):
        from rumjax.zoneout import hidden_state

        return hidden_state(self.fast)


class FSRNNCell(nnx.RNNCellBase):
    """FS-RNN-k over `fast_cells` (k >= 2) and `slow_cell`, with dropout `dropout` at the two inner sites."""

    def __init__(
        self,
        fast_cells: Sequence[nnx.RNNCellBase],
        slow_cell: nnx.RNNCellBase,
        *,
        dropout: float = 0.0,
        deterministic: bool = False,
    ):
        if len(fast_cells) < 2:
            raise ValueError(f"FS-RNN needs k >= 2 fast cells, got {len(fast_cells)}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"FS-RNN: dropout must be in [0, 1), got {dropout!r}.")
        self.fast = nnx.List(fast_cells)
        self.slow = slow_cell
        self.hidden_features: int = getattr(fast_cells[0], "hidden_features")  # every zoo cell has it
        self.dropout = float(dropout)
        self.deterministic = deterministic

    def _drop(self, key, y):
        """Inverted dropout of y with a fresh mask from `key`; identity in eval mode."""
        if self.deterministic:
            return y
        keep = 1.0 - self.dropout
        return jnp.where(jax.random.bernoulli(key, keep, y.shape), y / keep, 0.0).astype(y.dtype)

    def __call__(self, carry: FSRNNCarry, x):  # type: ignore[override]
        fast, slow, key = carry
        if self.dropout:
            assert key is not None, "FS-RNN with dropout carries a random key (initialize_carry with rngs)"
            key, k_fast, k_slow = jax.random.split(key, 3)
        fast, y = self.fast[0](fast, x)
        slow, s = self.slow(slow, self._drop(k_fast, y) if self.dropout else y)
        fast, y = self.fast[1](fast, self._drop(k_slow, s) if self.dropout else s)
        for cell in self.fast[2:]:
            fast, y = cell(fast, jnp.zeros((*y.shape[:-1], 1), y.dtype))
        return FSRNNCarry(fast, slow, key), y

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> FSRNNCarry:
        batch = tuple(input_shape[:-1])
        fast = self.fast[0].initialize_carry((*batch, 1), rngs)
        slow = self.slow.initialize_carry((*batch, self.hidden_features), rngs)
        key = None
        if self.dropout:
            key = rngs.carry() if isinstance(rngs, nnx.Rngs) else (rngs() if rngs is not None else jax.random.key(0))
        return FSRNNCarry(fast, slow, key)

    @property
    def num_feature_axes(self) -> int:
        return 1
