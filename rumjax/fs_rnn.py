"""Fast-Slow RNN, FS-RNN-k (Mujika, Meier & Steger 2017, arXiv 1705.08639), baselines.md §5.1.

A chain of k fast cells F_1 … F_k sharing one state, and one slow cell S:

    h^{F1}_t = F_1(h^{Fk}_{t−1}, x_t)        F_1 continues from the last fast state of the previous step
    h^{S}_t  = S(h^{S}_{t−1}, h^{F1}_t)      the slow cell reads F_1's output
    h^{F2}_t = F_2(h^{F1}_t, h^{S}_t)        F_2 reads S's output
    h^{Fi}_t = F_i(h^{F(i−1)}_t, 0)          3 ≤ i ≤ k, no input (a zero of width 1)
    y_t      = h^{Fk}_t

Any cells of the registry can play F and S: FS-LSTM-2 is (ln_lstm ×2, ln_lstm), FS-RUM-2 of the
RUM paper (Table 5) is (ln_lstm ×2, rum). The fast cells must share one carry structure.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax.numpy as jnp
from flax import nnx

__all__ = ["FSRNNCarry", "FSRNNCell"]


class FSRNNCarry(NamedTuple):
    fast: Any
    slow: Any

    @property
    def h(self):
        from rumjax.zoneout import hidden_state

        return hidden_state(self.fast)


class FSRNNCell(nnx.RNNCellBase):
    def __init__(self, fast_cells: Sequence[nnx.RNNCellBase], slow_cell: nnx.RNNCellBase):
        if len(fast_cells) < 2:
            raise ValueError(f"FS-RNN needs k >= 2 fast cells, got {len(fast_cells)}.")
        self.fast = nnx.List(fast_cells)
        self.slow = slow_cell
        self.hidden_features = fast_cells[0].hidden_features

    def __call__(self, carry: FSRNNCarry, x):  # type: ignore[override]
        fast, slow = carry
        fast, y = self.fast[0](fast, x)
        slow, s = self.slow(slow, y)
        fast, y = self.fast[1](fast, s)
        for cell in self.fast[2:]:
            fast, y = cell(fast, jnp.zeros((*y.shape[:-1], 1), y.dtype))
        return FSRNNCarry(fast, slow), y

    def initialize_carry(self, input_shape, rngs=None, carry_init=None):  # type: ignore[override]
        batch = tuple(input_shape[:-1])
        fast = self.fast[0].initialize_carry((*batch, 1), rngs)
        slow = self.slow.initialize_carry((*batch, self.hidden_features), rngs)
        return FSRNNCarry(fast, slow)

    @property
    def num_feature_axes(self) -> int:
        return 1
