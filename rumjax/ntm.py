"""A small Neural Turing Machine (Graves, Wayne & Danihelka 2014, arXiv 1410.5401), baselines.md §6.

Memory M_t (b, N, W): N slots of width W; one read head and one write head; an LSTM controller
that sees [x_t; r_{t−1}]. Each head emits (k, β, g, s, γ) and addresses in four stages:

    w^c(i) = softmax_i(β · cos(k, M(i)))                 content, β = softplus(·)
    w^g    = g w^c + (1 − g) w_{t−1}                      interpolation, g = σ(·)
    w̃(i)   = Σ_j w^g(j) s((i − j) mod N)                  circular shift over {−1, 0, +1}, s = softmax(·)
    w(i)   = w̃(i)^γ / Σ_j w̃(j)^γ                         sharpening, γ = 1 + softplus(·)

The write head also emits erase e = σ(·) and add a = tanh(·):

    M_t(i) = M_{t−1}(i) ⊙ (1 − w(i) e) + w(i) a;   then the read head reads r_t = Σ_i w(i) M_t(i).

Output: y_t = W_o [h_t; r_t], of the controller's size. Start: M_0 = 10⁻⁶, both weightings on slot 0,
r_0 = 0. Options: slots N (64), width W (20), as suggested for the recall task in baselines.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["NTMCarry", "NTMCell", "address"]

SHIFTS = 3  # {−1, 0, +1}


class NTMCarry(NamedTuple):
    controller: tuple  # LSTM (c, h)
    memory: jax.Array  # (b, N, W)
    read_w: jax.Array  # (b, N)
    write_w: jax.Array  # (b, N)
    read: jax.Array  # (b, W)

    @property
    def h(self):
        return self.controller[1]


def address(params: jax.Array, memory: jax.Array, w_prev: jax.Array) -> jax.Array:
    """The weighting of one head from its raw parameters (b, W + 1 + 1 + 3 + 1); see the module docstring."""
    width = memory.shape[-1]
    k = params[..., :width]
    beta = jax.nn.softplus(params[..., width])
    g = jax.nn.sigmoid(params[..., width + 1])
    s = jax.nn.softmax(params[..., width + 2 : width + 2 + SHIFTS], axis=-1)
    gamma = 1.0 + jax.nn.softplus(params[..., width + 2 + SHIFTS])
    eps = 1e-8
    cos = jnp.einsum("...nw,...w->...n", memory, k) / (
        jnp.linalg.norm(memory, axis=-1) * jnp.linalg.norm(k, axis=-1, keepdims=True) + eps
    )
    w_c = jax.nn.softmax(beta[..., None] * cos, axis=-1)
    w_g = g[..., None] * w_c + (1.0 - g[..., None]) * w_prev
    # shift by −1, 0, +1: w̃(i) = Σ_j w_g(j) s(i − j)
    w_s = s[..., 0:1] * jnp.roll(w_g, -1, axis=-1) + s[..., 1:2] * w_g + s[..., 2:3] * jnp.roll(w_g, 1, axis=-1)
    w_pow = jnp.power(w_s + eps, gamma[..., None])
    return w_pow / jnp.sum(w_pow, axis=-1, keepdims=True)


class NTMCell(nnx.RNNCellBase):
    """NTM with an LSTM controller on [x_t; r_{t−1}], one read and one write head (module docstring):

    w_t = address(head_t, M_{t−1}, w_{t−1});  M_t(i) = M_{t−1}(i) ⊙ (1 − w(i) e) + w(i) a;
    r_t = Σ_i w(i) M_t(i);  y_t = W_o [h_t; r_t]
    """

    def __init__(
        self, in_features, hidden_features, *, slots=64, width=20, dtype=None, param_dtype=jnp.float32, rngs: nnx.Rngs
    ):
        self.hidden_features = hidden_features
        self.slots, self.width = slots, width
        head = width + 2 + SHIFTS + 1
        self.controller = nnx.LSTMCell(
            in_features + width, hidden_features, dtype=dtype, param_dtype=param_dtype, rngs=rngs
        )
        self.read_head = nnx.Linear(hidden_features, head, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.write_head = nnx.Linear(hidden_features, head + 2 * width, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        self.out = nnx.Linear(hidden_features + width, hidden_features, dtype=dtype, param_dtype=param_dtype, rngs=rngs)

    def __call__(self, carry: NTMCarry, x):  # type: ignore[override]
        controller, memory, read_w, write_w, read = carry
        controller, h = self.controller(controller, jnp.concatenate([x.astype(read.dtype), read], axis=-1))
        h = h.astype(memory.dtype)
        wp = self.write_head(h).astype(memory.dtype)
        head = self.width + 2 + SHIFTS + 1
        write_w = address(wp[..., :head], memory, write_w)
        erase = jax.nn.sigmoid(wp[..., head : head + self.width])
        add = jnp.tanh(wp[..., head + self.width :])
        memory = (
            memory * (1.0 - write_w[..., :, None] * erase[..., None, :]) + write_w[..., :, None] * add[..., None, :]
        )
        read_w = address(self.read_head(h).astype(memory.dtype), memory, read_w)
        read = jnp.einsum("...n,...nw->...w", read_w, memory)
        y = self.out(jnp.concatenate([h, read], axis=-1)).astype(memory.dtype)
        return NTMCarry(controller, memory, read_w, write_w, read), y

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> NTMCarry:
        batch = tuple(input_shape[:-1])

        def zeros():  # a new buffer for every leaf: carries get donated
            return jnp.zeros((*batch, self.hidden_features), jnp.float32)

        def first():
            return jnp.zeros((*batch, self.slots), jnp.float32).at[..., 0].set(1.0)

        return NTMCarry(
            (zeros(), zeros()),
            jnp.full((*batch, self.slots, self.width), 1e-6, jnp.float32),
            first(),
            first(),
            jnp.zeros((*batch, self.width), jnp.float32),
        )

    @property
    def num_feature_axes(self) -> int:
        return 1
