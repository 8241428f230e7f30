"""The cell registry: one name per recurrent cell, every cell behind the `nnx.RNNCellBase` interface.

Every entry builds a cell as ``factory(in_features, hidden_features, *, rngs, dtype, **options)``;
the cell is then ``cell(carry, x_t) -> (carry, y_t)`` with ``cell.initialize_carry(input_shape, rngs)``,
and y_t has `hidden_features` units, so `models.run_cell`, `nnx.RNN` and `jax.lax.scan` run any of them.

``CELL_OPTIONS[name]`` lists the options a cell accepts and their defaults; configs carry one
block of options per cell (``config.rum.lam``), and only the chosen cell's block is used.
"""

from __future__ import annotations

from typing import Any, Callable

from flax import nnx

from rumjax.eunn import EUNNCell
from rumjax.fast_weights import FastWeightsCell
from rumjax.fs_rnn import FSRNNCell
from rumjax.goru import GORUCell
from rumjax.learned_memory import LearnedMemoryCell
from rumjax.ln_lstm import LNLSTMCell
from rumjax.ntm import NTMCell
from rumjax.rum import RUMCell

__all__ = ["CELLS", "CELL_OPTIONS", "make_cell"]


def _rum(nx, nh, *, rngs, dtype=None, lam=0, eta=None, layer_norm=False, reversible=False):
    return RUMCell(nx, nh, lam=lam, eta=eta, layer_norm=layer_norm, reversible=reversible, dtype=dtype, rngs=rngs)


def _lstm(nx, nh, *, rngs, dtype=None):
    return nnx.LSTMCell(nx, nh, dtype=dtype, rngs=rngs)


def _gru(nx, nh, *, rngs, dtype=None):
    return nnx.GRUCell(nx, nh, dtype=dtype, rngs=rngs)


def _fs_rnn(nx, nh, *, rngs, dtype=None, fast_cell="ln_lstm", slow_cell="rum", num_fast=2, slow_hidden=400,
            slow_lam=0, slow_eta=None, slow_layer_norm=False):
    """FS-RNN-k: `num_fast` fast cells of `nh` units and one slow cell of `slow_hidden` units."""
    for role, name in (("fast_cell", fast_cell), ("slow_cell", slow_cell)):
        if name not in CELLS or name == "fs_rnn":
            raise ValueError(f"fs_rnn: {role}={name!r} is not a registered cell; valid: {', '.join(sorted(CELLS))}.")
    slow_options = dict(lam=slow_lam, eta=slow_eta, layer_norm=slow_layer_norm) if slow_cell == "rum" else {}
    fast = [make_cell(fast_cell, nx if i == 0 else (slow_hidden if i == 1 else 1), nh, rngs=rngs, dtype=dtype)
            for i in range(num_fast)]
    slow = make_cell(slow_cell, nh, slow_hidden, rngs=rngs, dtype=dtype, **slow_options)
    return FSRNNCell(fast, slow)


CELLS: dict[str, Callable[..., nnx.RNNCellBase]] = {
    "rum": _rum,
    "lstm": _lstm,
    "gru": _gru,
    "ln_lstm": lambda nx, nh, *, rngs, dtype=None: LNLSTMCell(nx, nh, dtype=dtype, rngs=rngs),
    "eunn": lambda nx, nh, *, rngs, dtype=None, **kw: EUNNCell(nx, nh, dtype=dtype, rngs=rngs, **kw),
    "goru": lambda nx, nh, *, rngs, dtype=None, **kw: GORUCell(nx, nh, dtype=dtype, rngs=rngs, **kw),
    "fast_weights": lambda nx, nh, *, rngs, dtype=None, **kw: FastWeightsCell(nx, nh, dtype=dtype, rngs=rngs, **kw),
    "learned_memory": lambda nx, nh, *, rngs, dtype=None, **kw: LearnedMemoryCell(nx, nh, dtype=dtype, rngs=rngs,
                                                                                  **kw),
    "ntm": lambda nx, nh, *, rngs, dtype=None, **kw: NTMCell(nx, nh, dtype=dtype, rngs=rngs, **kw),
    "fs_rnn": _fs_rnn,
}

CELL_OPTIONS: dict[str, dict[str, Any]] = {
    "rum": {"lam": 0, "eta": None, "layer_norm": False, "reversible": False},
    "lstm": {},
    "gru": {},
    "ln_lstm": {},
    "eunn": {"capacity": 2, "fft": False},
    "goru": {"capacity": 2, "fft": False},
    "fast_weights": {"decay": 0.95, "eta": 0.5, "inner_steps": 1},
    "learned_memory": {"memories": 2},
    "ntm": {"slots": 64, "width": 20},
    "fs_rnn": {"fast_cell": "ln_lstm", "slow_cell": "rum", "num_fast": 2, "slow_hidden": 400, "slow_lam": 0,
               "slow_eta": None, "slow_layer_norm": False},
}


def make_cell(name: str, in_features: int, hidden_features: int, *, rngs: nnx.Rngs, dtype=None, **options):
    """Build the registered cell `name`; unknown names or options raise a ValueError listing the valid ones."""
    if name not in CELLS:
        raise ValueError(f"Unknown cell {name!r}; valid cells: {', '.join(sorted(CELLS))}.")
    unknown = set(options) - set(CELL_OPTIONS[name])
    if unknown:
        valid = ", ".join(sorted(CELL_OPTIONS[name])) or "none"
        raise ValueError(f"Cell {name!r} got unknown option(s) {sorted(unknown)}; valid options: {valid}.")
    if not isinstance(hidden_features, int) or hidden_features < 1:
        raise ValueError(f"hidden size must be a positive integer, got {hidden_features!r}.")
    return CELLS[name](in_features, hidden_features, rngs=rngs, dtype=dtype, **options)
