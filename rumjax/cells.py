"""The cell registry: one name per recurrent cell, every cell behind the `nnx.RNNCellBase` interface.

Every entry builds a cell as ``factory(in_features, hidden_features, *, rngs, dtype, **options)``;
the cell is then ``cell(carry, x_t) -> (carry, y_t)`` with ``cell.initialize_carry(input_shape, rngs)``,
and y_t has `hidden_features` units, so `models.run_cell`, `nnx.RNN` and `jax.lax.scan` run any of them.

``CELL_OPTIONS[name]`` lists the options a cell accepts and their defaults, read from the factory's
keyword-only arguments (so each default is written once, in the signature); configs carry one
block of options per cell (``config.rum.lam``), and only the chosen cell's block is used.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.eunn import EUNNCell
from rumjax.fast_weights import FastWeightsCell
from rumjax.fs_rnn import FSRNNCell
from rumjax.goru import GORUCell
from rumjax.learned_memory import LearnedMemoryCell
from rumjax.ln_lstm import LNLSTMCell
from rumjax.ntm import NTMCell
from rumjax.rum import LN_EPS, RUMCell

__all__ = ["CELLS", "CELL_OPTIONS", "make_cell"]


def _rum(
    nx,
    nh,
    *,
    rngs,
    dtype=None,
    param_dtype=jnp.float32,
    lam=0,
    eta=None,
    layer_norm=False,
    ln_update_gate=True,
    ln_eps=LN_EPS,
    reversible=True,
    gate_init="joint",
    eps_bias=True,
    hoist_inputs=None,
):
    return RUMCell(
        nx,
        nh,
        lam=lam,
        eta=eta,
        layer_norm=layer_norm,
        ln_update_gate=ln_update_gate,
        ln_eps=ln_eps,
        reversible=reversible,
        gate_init=gate_init,
        eps_bias=eps_bias,
        hoist_inputs=hoist_inputs,
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
    )


def _half_precision(cell: Any, param_dtype) -> Any:
    """A Flax cell built in float32 with its parameters cast to `param_dtype`: Flax's orthogonal recurrent
    initialiser runs QR in the parameter dtype, which has no bfloat16/float16 kernel on CPU."""
    if jnp.dtype(param_dtype) == jnp.dtype(jnp.float32):
        return cell
    params = nnx.state(cell, nnx.Param)
    nnx.update(cell, jax.tree.map(lambda p: p.astype(param_dtype), params))
    cell.param_dtype = param_dtype  # Flax's cells draw their carry in it
    return cell


def _lstm(nx, nh, *, rngs, dtype=None, param_dtype=jnp.float32, forget_bias=1.0):
    """Flax's LSTMCell; `forget_bias` initialises the forget gate's bias (the authors' LSTM baselines: 1.0,
    as TF's BasicLSTMCell; Flax's own default and rumjax 0.1: 0)."""
    cell = nnx.LSTMCell(nx, nh, dtype=dtype, rngs=rngs)
    bias = cell.hf.bias
    assert bias is not None  # Flax's LSTMCell gates have biases
    bias[...] = bias[...] + forget_bias
    return _half_precision(cell, param_dtype)


def _gru(nx, nh, *, rngs, dtype=None, param_dtype=jnp.float32):
    return _half_precision(nnx.GRUCell(nx, nh, dtype=dtype, rngs=rngs), param_dtype)


def _ln_lstm(nx, nh, *, rngs, dtype=None, param_dtype=jnp.float32, form="joint", forget_bias=1.0):
    return LNLSTMCell(nx, nh, form=form, forget_bias=forget_bias, dtype=dtype, param_dtype=param_dtype, rngs=rngs)


def _fs_rnn(
    nx,
    nh,
    *,
    rngs,
    dtype=None,
    param_dtype=jnp.float32,
    fast_cell="ln_lstm",
    slow_cell="rum",
    num_fast=2,
    slow_hidden=400,
    slow_lam=0,
    slow_eta=None,
    slow_layer_norm=False,
    slow_ln_update_gate=True,
    slow_ln_eps=LN_EPS,
    ln_lstm_form="joint",
    dropout=0.0,
):
    """FS-RNN-k: `num_fast` fast cells of `nh` units and one slow cell of `slow_hidden` units; `dropout` at
    the two inner sites (F_1 → S, S → F_2); `ln_lstm_form` is the form of its ln_lstm cells, fast or slow,
    and the ``slow_*`` options are a RUM slow cell's."""
    for role, name in (("fast_cell", fast_cell), ("slow_cell", slow_cell)):
        if name not in CELLS or name == "fs_rnn":
            raise ValueError(f"fs_rnn: {role}={name!r} is not a registered cell; valid: {', '.join(sorted(CELLS))}.")
    slow_options = {}
    if slow_cell == "rum":
        slow_options = dict(
            lam=slow_lam,
            eta=slow_eta,
            layer_norm=slow_layer_norm,
            ln_update_gate=slow_ln_update_gate,
            ln_eps=slow_ln_eps,
        )
    elif slow_cell == "ln_lstm":
        slow_options = dict(form=ln_lstm_form)
    fast_options = dict(form=ln_lstm_form) if fast_cell == "ln_lstm" else {}
    fast = [
        make_cell(
            fast_cell,
            nx if i == 0 else (slow_hidden if i == 1 else 1),
            nh,
            rngs=rngs,
            dtype=dtype,
            param_dtype=param_dtype,
            **fast_options,
        )
        for i in range(num_fast)
    ]
    slow = make_cell(slow_cell, nh, slow_hidden, rngs=rngs, dtype=dtype, param_dtype=param_dtype, **slow_options)
    return FSRNNCell(fast, slow, dropout=dropout)


CELLS: dict[str, Callable[..., nnx.RNNCellBase]] = {
    "rum": _rum,
    "lstm": _lstm,
    "gru": _gru,
    "ln_lstm": _ln_lstm,
    "eunn": EUNNCell,
    "goru": GORUCell,
    "fast_weights": FastWeightsCell,
    "learned_memory": LearnedMemoryCell,
    "ntm": NTMCell,
    "fs_rnn": _fs_rnn,
}

_NOT_OPTIONS = ("rngs", "dtype", "param_dtype")


def _options(factory: Callable) -> dict[str, Any]:
    """The keyword-only arguments of `factory` (a function or a class's __init__) and their defaults."""
    params = inspect.signature(factory.__init__ if inspect.isclass(factory) else factory).parameters.values()
    return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY and p.name not in _NOT_OPTIONS}


CELL_OPTIONS: dict[str, dict[str, Any]] = {name: _options(factory) for name, factory in CELLS.items()}


def make_cell(
    name: str,
    in_features: int,
    hidden_features: int,
    *,
    rngs: nnx.Rngs,
    dtype: jnp.dtype | None = None,
    param_dtype: jnp.dtype = jnp.float32,
    **options: Any,
) -> nnx.RNNCellBase:
    """Build the registered cell `name`; unknown names or options raise a ValueError listing the valid ones.
    `dtype` is the compute dtype (None: from inputs and parameters), `param_dtype` the parameters'."""
    if name not in CELLS:
        raise ValueError(f"Unknown cell {name!r}; valid cells: {', '.join(sorted(CELLS))}.")
    unknown = set(options) - set(CELL_OPTIONS[name])
    if unknown:
        valid = ", ".join(sorted(CELL_OPTIONS[name])) or "none"
        raise ValueError(f"Cell {name!r} got unknown option(s) {sorted(unknown)}; valid options: {valid}.")
    if not isinstance(hidden_features, int) or hidden_features < 1:
        raise ValueError(f"hidden size must be a positive integer, got {hidden_features!r}.")
    return CELLS[name](in_features, hidden_features, rngs=rngs, dtype=dtype, param_dtype=param_dtype, **options)
