"""A recurrent cell with several associative memories whose update rule is learned: ours, WeiNet-style.

What is known of WeiNet (Zhang & Zhou 2017, arXiv 1709.06493; shared/papers/baselines.md §1): only its
abstract. It learns the update rule of an auto-associative memory jointly with the task, instead of
the fixed Hebbian rule of fast weights, and uses several such memories. Its equations, sizes and
training setup are not available to us. This cell is therefore **our own design in that spirit, not
the published model**; the RUM paper's WeiNet numbers (Table 1: 100% at T = 30 and 50, 22k
parameters) are quoted, never attributed to this cell.

What we assumed: fast weights' structure (baselines.md §2) with K memories, where the write of
each memory is a learned function of [x_t; h_{t−1}] instead of the fixed ``λA + η h hᵀ``:

    z        = W h_{t−1} + C x_t + b
    q^k, v^k = Q^k [x_t; h_{t−1}],  V^k [x_t; h_{t−1}]          learned key and value,   k = 1 … K
    f^k, e^k = σ(w_f^k·[x_t; h_{t−1}] + c_f^k), σ(w_e^k·[…] + c_e^k)   learned forget and write gates (scalars)
    A^k_t    = f^k A^k_{t−1} + e^k v^k (q^k)ᵀ                  the learned update rule
    h^0      = ReLU(LN(z))
    h_t      = ReLU(LN(z + Σ_k A^k_t h^0))                      retrieval with the preliminary state

The retrieval is computed as Σ_k f^k (A^k_{t−1} h^0) + e^k v^k (q^kᵀ h^0), the same sum. Autodiff
then stores A_{t−1} for the backward pass and never reads A_t again.

Options: memories K (default 2). The carry holds K memories of shape (b, n, n).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["LearnedMemoryCarry", "LearnedMemoryCell"]


class LearnedMemoryCarry(NamedTuple):
    h: jax.Array  # (b, n)
    memory: jax.Array  # (b, K, n, n)


class LearnedMemoryCell(nnx.RNNCellBase):
    """K associative memories with a learned write (ours, WeiNet-style; not the published WeiNet):

        A^k_t = f^k A^k_{t−1} + e^k v^k (q^k)ᵀ,   h_t = ReLU(LN(W h_{t−1} + C x_t + b + Σ_k A^k_t h^0))

    with key q^k, value v^k and scalar gates f^k, e^k learned from [x_t; h_{t−1}] (module docstring).
    """

    def __init__(
        self, in_features, hidden_features, *, memories=2, dtype=None, param_dtype=jnp.float32, rngs: nnx.Rngs
    ):
        if memories < 1:
            raise ValueError(f"learned_memory: memories must be >= 1, got {memories}.")
        n, k = hidden_features, memories
        self.hidden_features, self.memories = n, k
        self.dtype = dtype
        init = nnx.initializers.lecun_normal()
        self.w = nnx.Param((0.05 * jnp.eye(n)).astype(param_dtype))
        self.c = nnx.Param(init(rngs.params(), (in_features, n), param_dtype))
        self.b = nnx.Param(jnp.zeros((n,), param_dtype))
        d = in_features + n
        self.q = nnx.Param(init(rngs.params(), (d, k * n), param_dtype))
        self.v = nnx.Param(init(rngs.params(), (d, k * n), param_dtype))
        self.gates = nnx.Param(init(rngs.params(), (d, 2 * k), param_dtype))
        self.gate_bias = nnx.Param(jnp.concatenate([jnp.full((k,), 2.0), jnp.zeros((k,))]).astype(param_dtype))
        self.ln = nnx.LayerNorm(n, epsilon=1e-5, param_dtype=param_dtype, rngs=rngs)

    def __call__(self, carry: LearnedMemoryCarry, x):  # type: ignore[override]
        h_prev, a_prev = carry
        n, k = self.hidden_features, self.memories
        dtype = self.dtype or h_prev.dtype
        xh = jnp.concatenate([x.astype(dtype), h_prev.astype(dtype)], axis=-1)  # (b, d)
        z = h_prev.astype(dtype) @ self.w[...].astype(dtype) + x.astype(dtype) @ self.c[...].astype(dtype)
        z = z.astype(h_prev.dtype)
        z = z + jnp.broadcast_to(self.b[...], z.shape)
        q = (xh @ self.q[...].astype(dtype)).astype(h_prev.dtype).reshape(*xh.shape[:-1], k, n)
        v = (xh @ self.v[...].astype(dtype)).astype(h_prev.dtype).reshape(*xh.shape[:-1], k, n)
        g = (xh @ self.gates[...].astype(dtype)).astype(h_prev.dtype)
        g = jax.nn.sigmoid(g + jnp.broadcast_to(self.gate_bias[...], g.shape))
        forget, write = g[..., :k, None, None], g[..., k:, None, None]  # (b, K, 1, 1)
        a = forget * a_prev + write * v[..., :, :, None] * q[..., :, None, :]  # (b, K, n, n)
        h0 = jax.nn.relu(self.ln(z))
        # Σ_k A^k_t h^0 = Σ_k f^k (A^k_{t−1} h^0) + e^k v^k (q^kᵀ h^0): the read uses A_{t−1}, which the
        # backward pass keeps anyway, and never A_t (benchmarks/README.md: the learned-update memory's read)
        stored = jnp.einsum("...kij,...j->...ki", a_prev, h0)  # (b, K, n)
        written = v * jnp.einsum("...ki,...i->...k", q, h0)[..., None]  # (b, K, n)
        read = jnp.sum(forget[..., 0] * stored + write[..., 0] * written, axis=-2)
        h = jax.nn.relu(self.ln(z + read))
        return LearnedMemoryCarry(h, a), h

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> LearnedMemoryCarry:
        batch = tuple(input_shape[:-1])
        n = self.hidden_features
        return LearnedMemoryCarry(
            jnp.zeros((*batch, n), jnp.float32), jnp.zeros((*batch, self.memories, n, n), jnp.float32)
        )

    @property
    def num_feature_axes(self) -> int:
        return 1
