"""The cell registry: one name per recurrent cell, every cell behind the `nnx.RNNCellBase` interface.

Every entry builds a cell as ``factory(in_features, hidden_features, *, rngs, dtype, **options)``;
the cell is then ``cell(carry, x_t) -> (carry, y_t)`` with ``cell.initialize_carry(input_shape, rngs)``,
so `models.run_cell`, `nnx.RNN` and `jax.lax.scan` run any of them.

``CELL_OPTIONS[name]`` lists the options a cell accepts and their defaults; configs carry one
block of options per cell (``config.rum.lam``), and only the chosen cell's block is used.
"""

from __future__ import annotations

from typing import Any, Callable

from flax import nnx

from rumjax.rum import RUMCell

__all__ = ["CELLS", "CELL_OPTIONS", "make_cell"]


def _rum(in_features, hidden_features, *, rngs, dtype=None, lam=0, eta=None):
    return RUMCell(in_features, hidden_features, lam=lam, eta=eta, dtype=dtype, rngs=rngs)


def _lstm(in_features, hidden_features, *, rngs, dtype=None):
    return nnx.LSTMCell(in_features, hidden_features, dtype=dtype, rngs=rngs)


def _gru(in_features, hidden_features, *, rngs, dtype=None):
    return nnx.GRUCell(in_features, hidden_features, dtype=dtype, rngs=rngs)


CELLS: dict[str, Callable[..., nnx.RNNCellBase]] = {
    "rum": _rum,
    "lstm": _lstm,
    "gru": _gru,
}

CELL_OPTIONS: dict[str, dict[str, Any]] = {
    "rum": {"lam": 0, "eta": None},
    "lstm": {},
    "gru": {},
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
