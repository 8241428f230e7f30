"""Sequence models built from any registered cell: input → scan of the cell → readout.

Shape legend: b = batch, t = time, v = vocabulary, d = cell input size, n = hidden size, c = classes.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.cells import make_cell
from rumjax.fs_rnn import FSRNNCell
from rumjax.stacked import StackedCell
from rumjax.zoneout import ZoneoutCell

__all__ = ["run_cell", "build_cell", "SequenceClassifier", "LanguageModel"]

READOUTS = ("all", "last")


def draws_random_numbers(module: nnx.Module) -> bool:
    """Whether `module` samples in its current mode: dropout, zoneout or FS-RNN dropout at a rate > 0, not in
    eval mode (``deterministic``)."""
    for _, node in nnx.iter_graph(module):
        if getattr(node, "deterministic", True):
            continue
        if isinstance(node, nnx.Dropout) and node.rate > 0:
            return True
        if isinstance(node, ZoneoutCell) and (node.cell_rate > 0 or node.hidden_rate > 0):
            return True
        if isinstance(node, FSRNNCell) and node.dropout > 0:
            return True
    return False


def _require_rng(module: nnx.Module, rng):
    """`rng`, or an error when a model that samples in training mode got none (one fixed key would reuse
    the same masks every step)."""
    if rng is None and draws_random_numbers(module):
        raise ValueError(
            f"{type(module).__name__} samples dropout or zoneout masks in training mode: pass rng= "
            "(a fresh key per step), or call model.eval() to use their expectations."
        )
    return jax.random.key(0) if rng is None else rng


def run_cell(
    cell: nnx.RNNCellBase,
    xs: jax.Array,
    *,
    carry: Any = None,
    rng: jax.Array | None = None,
    unroll: int = 1,
    remat: bool = False,
) -> tuple[Any, jax.Array]:
    """Scan `cell` over xs (b, t, d) from its initial carry; returns (final carry, ys (b, t, n)).

    `rng` seeds the initial carry of stochastic cells (zoneout); a fixed key when None.
    A cell with a whole-sequence method ``cell.sequence(carry, xs, unroll=..., remat=...)`` (RUM)
    runs through it.

    A plain `jax.lax.scan` over ``cell(carry, x_t)``: the cell's parameters are closed over,
    so gradients reach them. `unroll` unrolls the loop; `remat` recomputes each step's
    activations in the backward pass instead of storing them (`jax.checkpoint`).
    """
    if carry is None:
        key = jax.random.key(0) if rng is None else rng
        carry = cell.initialize_carry(xs.shape[:1] + xs.shape[2:], rngs=nnx.Rngs(carry=key))
    if hasattr(cell, "sequence"):
        return cell.sequence(carry, xs, unroll=unroll, remat=remat)
    graphdef, state = nnx.split(cell)

    def body(carry, x_t):
        return nnx.merge(graphdef, state)(carry, x_t)

    if remat:
        body = jax.checkpoint(body)
    carry, ys = jax.lax.scan(body, carry, jnp.swapaxes(xs, 0, 1), unroll=unroll)  # ys: (t, b, n)
    return carry, jnp.swapaxes(ys, 0, 1)


def build_cell(
    cell: str,
    in_features: int,
    hidden: int,
    *,
    cell_options: dict[str, Any] | None = None,
    num_layers: int = 1,
    zoneout_cell: float = 0.0,
    zoneout_hidden: float = 0.0,
    dtype: jnp.dtype | None = None,
    rngs: nnx.Rngs,
) -> nnx.RNNCellBase:
    """A registered cell, stacked `num_layers` deep, each layer wrapped in zoneout when a rate is > 0."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
    cells = []
    for layer in range(num_layers):
        c = make_cell(
            cell, in_features if layer == 0 else hidden, hidden, rngs=rngs, dtype=dtype, **(cell_options or {})
        )
        if zoneout_cell or zoneout_hidden:
            zone = lambda inner: ZoneoutCell(inner, cell_rate=zoneout_cell, hidden_rate=zoneout_hidden)  # noqa: E731
            if isinstance(c, FSRNNCell):  # zoneout acts on each fast and slow cell, as in the FS-RNN code
                c.fast = nnx.List([zone(f) for f in c.fast])
                c.slow = zone(c.slow)
            else:
                c = zone(c)
        cells.append(c)
    return cells[0] if num_layers == 1 else StackedCell(cells)


class SequenceClassifier(nnx.Module):
    """tokens (b, t) → one-hot or embedding (b, t, d) → cell scan (b, t, n) → [ReLU layer] → logits.

    readout="all" gives logits at every step (b, t, c); readout="last" at the last step (b, c).
    num_layers > 1 stacks copies of the cell; zoneout rates > 0 wrap each in `ZoneoutCell`.
    Tokens (b, t, w) are bags of words, one per step (bAbI's sentence format): each step's input is
    the sum of its words' one-hot vectors or embeddings, id −1 marking an empty slot; with
    `separate_last_embed` the last step (the question) has an embedding of its own (rumjax 0.3's bAbI
    sentence model; the authors' code shares the table). `readout_hidden` > 0 puts a ReLU layer of that size before the readout (Ba et al.'s
    associative-retrieval model).
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        num_classes: int,
        cell: str,
        hidden: int,
        cell_options: dict | None = None,
        embed_dim: int = 0,
        num_layers: int = 1,
        zoneout_cell: float = 0.0,
        zoneout_hidden: float = 0.0,
        readout: str = "all",
        dtype=None,
        unroll: int = 1,
        remat: bool = False,
        readout_hidden: int = 0,
        separate_last_embed: bool = False,
        rngs: nnx.Rngs,
    ):
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        self.vocab_size = vocab_size
        self.readout = readout
        self.unroll = unroll
        self.remat = remat
        self.embed = nnx.Embed(vocab_size, embed_dim, rngs=rngs) if embed_dim else None
        self.embed_last = nnx.Embed(vocab_size, embed_dim, rngs=rngs) if embed_dim and separate_last_embed else None
        self.cell = build_cell(
            cell,
            embed_dim or vocab_size,
            hidden,
            cell_options=cell_options,
            num_layers=num_layers,
            zoneout_cell=zoneout_cell,
            zoneout_hidden=zoneout_hidden,
            dtype=dtype,
            rngs=rngs,
        )
        self.hidden_layer = nnx.Linear(hidden, readout_hidden, rngs=rngs) if readout_hidden else None
        self.head = nnx.Linear(readout_hidden or hidden, num_classes, rngs=rngs)

    def _inputs(self, tokens: jax.Array) -> jax.Array:
        """(b, t) ids or (b, t, w) bags of ids (−1 empty) → (b, t, d) inputs: one-hot or embedded, bags summed."""
        if self.embed is None:
            xs = jax.nn.one_hot(tokens, self.vocab_size, dtype=jnp.float32)  # one_hot(−1) is all zero
            return xs.sum(axis=2) if tokens.ndim == 3 else xs
        if tokens.ndim == 2:
            return self.embed(tokens)
        present = (tokens >= 0)[..., None]
        ids = jnp.maximum(tokens, 0)
        xs = jnp.sum(jnp.where(present, self.embed(ids), 0.0), axis=2)  # (b, t, d)
        if self.embed_last is not None:
            last = jnp.sum(jnp.where(present[:, -1], self.embed_last(ids[:, -1]), 0.0), axis=1)  # (b, d)
            xs = xs.at[:, -1].set(last)
        return xs

    def __call__(self, tokens: jax.Array, *, rng: jax.Array | None = None, step=None) -> jax.Array:
        """Logits of `tokens`; `step` (training progress) is unused here, as by every recurrent model."""
        rng = _require_rng(self, rng)
        _, hs = run_cell(self.cell, self._inputs(tokens), rng=rng, unroll=self.unroll, remat=self.remat)  # (b, t, n)
        if self.readout == "last":
            hs = hs[:, -1]  # (b, n)
        hs = hs.astype(jnp.float32)
        if self.hidden_layer is not None:
            hs = jax.nn.relu(self.hidden_layer(hs))
        return self.head(hs)


class LanguageModel(nnx.Module):
    """Next-token model with an explicit carry, for truncated BPTT:

        tokens (b, t) → embedding (b, t, d) → dropout → cell scan from `carry` (b, t, n) → dropout → logits (b, t, v)

    Returns (logits, final carry); the trainer passes the carry on to the next segment. Dropout is
    the paper's non-recurrent dropout, on the embedding and on the cell's output; zoneout, the
    recurrent one, wraps the cell (``zoneout_cell``, ``zoneout_hidden``).
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        cell: str,
        hidden: int,
        embed_dim: int,
        cell_options: dict | None = None,
        num_layers: int = 1,
        zoneout_cell: float = 0.0,
        zoneout_hidden: float = 0.0,
        dropout: float = 0.0,
        dtype=None,
        unroll: int = 1,
        remat: bool = False,
        rngs: nnx.Rngs,
    ):
        if embed_dim < 1:
            raise ValueError(f"LanguageModel needs embed_dim >= 1, got {embed_dim}.")
        self.embed = nnx.Embed(vocab_size, embed_dim, embedding_init=nnx.initializers.orthogonal(), rngs=rngs)
        self.cell = build_cell(
            cell,
            embed_dim,
            hidden,
            cell_options=cell_options,
            num_layers=num_layers,
            zoneout_cell=zoneout_cell,
            zoneout_hidden=zoneout_hidden,
            dtype=dtype,
            rngs=rngs,
        )
        self.dropout = nnx.Dropout(dropout)
        self.head = nnx.Linear(hidden, vocab_size, rngs=rngs)
        self.embed_dim, self.unroll, self.remat = embed_dim, unroll, remat

    def initial_carry(self, batch_size: int, rng: jax.Array | None = None):
        key = jax.random.key(0) if rng is None else rng
        return self.cell.initialize_carry((batch_size, self.embed_dim), rngs=nnx.Rngs(carry=key))

    def __call__(self, tokens: jax.Array, carry, *, rng: jax.Array | None = None):
        k_in, k_out = jax.random.split(_require_rng(self, rng))
        xs = self.dropout(self.embed(tokens), rngs=k_in)  # (b, t, d)
        carry, hs = run_cell(self.cell, xs, carry=carry, unroll=self.unroll, remat=self.remat)  # (b, t, n)
        hs = self.dropout(hs.astype(jnp.float32), rngs=k_out)
        return self.head(hs), carry
