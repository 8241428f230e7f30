"""`rumjax.RNN`: `flax.nnx.RNN` with the cell's whole-sequence path.

`nnx.RNN(cell)` scans ``cell(carry, x_t)`` one step at a time, so autodiff stores every step's carry:
for RUM with λ = 1 that is every R_t (t, b, n, n), and the reversible, hand-written λ = 1 backward of
`RUMCell.sequence` is never reached. `RNN` takes the same constructor and call arguments with the
same meaning and results (``initial_carry``, ``seq_lengths``, ``return_carry``, ``reverse``,
``keep_order``, ``time_major``, ``rngs``; it works inside `nnx.Bidirectional`), and runs

    carry_T, (h_1 … h_T) = cell.sequence(carry_0, (x_1 … x_T))

when the cell has a ``sequence`` method (`RUMCell`); any other cell runs through `nnx.RNN`'s scan.
Shape legend: b = batch (any leading axes), t = time, x = input features, n = hidden size.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from flax.nnx.nn.recurrent import flip_sequences

__all__ = ["RNN"]


class RNN(nnx.RNN):
    """A drop-in for `flax.nnx.RNN` that runs ``cell.sequence`` over the whole sequence where the cell has one.

    Args: as `flax.nnx.RNN` (``cell``, ``time_major``, ``return_carry``, ``reverse``, ``keep_order``,
    ``unroll``, ``state_axes``, ``broadcast_rngs``, ``rngs``). With ``seq_lengths`` the outputs after
    a sequence's end run on over the padding and the returned carry is the one after its last valid
    step, exactly as `nnx.RNN`'s.

    Example:

    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> import rumjax
    >>> cell = rumjax.RUMCell(8, 16, lam=1, eta=1.0, rngs=nnx.Rngs(0))
    >>> layer = rumjax.RNN(cell, return_carry=True)
    >>> carry, hs = layer(jnp.ones((4, 10, 8)))    # (b, t, x) -> h_t for every t: (b, t, n)
    >>> hs.shape, carry.memory.shape               # R_T: (b, n, n)
    ((4, 10, 16), (4, 16, 16))
    >>> reference = nnx.RNN(cell)(jnp.ones((4, 10, 8)))  # Flax's step-by-step scan: same values, slower
    >>> bool(jnp.allclose(hs, reference, atol=1e-5))
    True
    """

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        seq_lengths: jax.Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        rngs: nnx.Rngs | nnx.RngStream | None = None,
    ):
        if not hasattr(self.cell, "sequence") or self.cell.num_feature_axes != 1:
            return super().__call__(
                inputs,
                initial_carry=initial_carry,
                seq_lengths=seq_lengths,
                return_carry=return_carry,
                time_major=time_major,
                reverse=reverse,
                keep_order=keep_order,
                rngs=rngs,
            )
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        reverse = self.reverse if reverse is None else reverse
        keep_order = self.keep_order if keep_order is None else keep_order
        time_axis = 0 if time_major else inputs.ndim - 2
        batch = inputs.shape[1:-1] if time_major else inputs.shape[:-2]  # the batch axes, any number
        flip = lambda a: flip_sequences(a, seq_lengths, num_batch_dims=len(batch), time_major=time_major)  # noqa
        if reverse:
            inputs = flip(inputs)
        if initial_carry is None:
            if rngs is None:
                rngs = self.rngs
            if isinstance(rngs, nnx.Rngs):
                rngs = rngs.carry.fork()
            initial_carry = self.cell.initialize_carry(inputs.shape[:time_axis] + inputs.shape[time_axis + 1 :], rngs)
        xs = jnp.moveaxis(inputs, 0, -2) if time_major else inputs  # (*b, t, x)
        size = math.prod(batch)
        flat = lambda a: a.reshape(size, *a.shape[len(batch) :])  # noqa: E731  (*b, ...) -> (b, ...)
        lengths = None
        if seq_lengths is not None and return_carry:
            lengths = jnp.reshape(jnp.asarray(seq_lengths), (size,))
        carry, hs = self.cell.sequence(
            jax.tree.map(flat, initial_carry), flat(xs), unroll=self.unroll, seq_lengths=lengths
        )  # (b, t, n)
        carry = jax.tree.map(lambda a: a.reshape(*batch, *a.shape[1:]), carry)
        outputs = hs.reshape(*batch, *hs.shape[1:])
        if time_major:
            outputs = jnp.moveaxis(outputs, -2, 0)
        if reverse and keep_order:
            outputs = flip(outputs)
        return (carry, outputs) if return_carry else outputs
