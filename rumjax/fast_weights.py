"""Fast weights with layer norm, FW-LN (Ba, Hinton, Mnih, Leibo & Ionescu 2016, arXiv 1610.06258).

Equations as in shared/papers/baselines.md §2.1, f = ReLU, S inner ("settling") steps:

    z        = W h_{t−1} + C x_t + b                    slow weights, fixed through the inner loop
    h^0      = f(LN(z))                                 preliminary state
    h^{s+1}  = f(LN(z + A_{t−1} h^s)),  s = 0 … S−1     inner loop
    h_t      = h^S
    A_t      = λ A_{t−1} + η h_t h_tᵀ,   A_0 = 0        fast memory, per example, never trained

Argument names: λ → `decay`, η → `eta`, S → `inner_steps`. A_{t−1} already holds h_{t−1} when h_t
is computed, as in the paper (one re-implementation updates A after the inner loop; that is an
off-by-one). The paper does not settle whether LN applies to h^0: `ln_h0` chooses, "shared" (default)
the same LN as the inner loop, "separate" an LN of its own, "none" h^0 = f(z) (as some
re-implementations do).

Memory: the carry holds A_t of shape (b, n, n), i.e. b·n² floats per sequence (128·50² floats
= 1.3 MB at the recall shapes), and backpropagation through a scan stores one A_t per step. The
step touches A_{t−1} twice: once in the batched matrix-vector products A h^s, once in the
fused update λA + η h hᵀ, which XLA computes in one pass without a temporary outer product.
Initialisation: W = 0.05·I (as re-implementations of the paper's IRNN-style start), C LeCun-normal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["FastWeightsCarry", "FastWeightsCell"]

LN_H0 = ("shared", "separate", "none")


class FastWeightsCarry(NamedTuple):
    h: jax.Array  # (b, n)
    memory: jax.Array  # (b, n, n) A_t


class FastWeightsCell(nnx.RNNCellBase):
    """FW-LN fast weights (module docstring); `ln_h0` is the layer norm of the preliminary state h^0."""

    def __init__(
        self,
        in_features,
        hidden_features,
        *,
        decay=0.95,
        eta=0.5,
        inner_steps=1,
        ln_h0="shared",
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if ln_h0 not in LN_H0:
            raise ValueError(f"fast weights: ln_h0 must be one of {LN_H0}, got {ln_h0!r}.")
        if not 0.0 <= decay <= 1.0 or eta <= 0 or inner_steps < 1:
            raise ValueError(
                f"fast weights: need 0 <= decay <= 1, eta > 0, inner_steps >= 1; got decay={decay}, eta={eta}, "
                f"inner_steps={inner_steps}."
            )
        n = hidden_features
        self.hidden_features = n
        self.decay, self.eta, self.inner_steps = decay, eta, inner_steps
        self.dtype = dtype
        self.w = nnx.Param((0.05 * jnp.eye(n)).astype(param_dtype))
        self.c = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), (in_features, n), param_dtype))
        self.b = nnx.Param(jnp.zeros((n,), param_dtype))
        self.ln = nnx.LayerNorm(n, epsilon=1e-5, param_dtype=param_dtype, rngs=rngs)
        self.ln_h0 = ln_h0
        if ln_h0 == "separate":
            self.ln0 = nnx.LayerNorm(n, epsilon=1e-5, param_dtype=param_dtype, rngs=rngs)

    def __call__(self, carry: FastWeightsCarry, x):  # type: ignore[override]
        h_prev, a_prev = carry
        dtype = self.dtype or h_prev.dtype
        z = h_prev.astype(dtype) @ self.w[...].astype(dtype) + x.astype(dtype) @ self.c[...].astype(dtype)
        z = z.astype(h_prev.dtype)
        z = z + jnp.broadcast_to(self.b[...], z.shape)
        h = jax.nn.relu(self._ln_h0(z))
        for _ in range(self.inner_steps):
            h = jax.nn.relu(self.ln(z + jnp.einsum("...ij,...j->...i", a_prev, h)))
        a = self.decay * a_prev + self.eta * h[..., :, None] * h[..., None, :]
        return FastWeightsCarry(h, a), h

    def _ln_h0(self, z):
        """The layer norm of h^0 = f(LN(z)) per `ln_h0`."""
        if self.ln_h0 == "none":
            return z
        return (self.ln0 if self.ln_h0 == "separate" else self.ln)(z)

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> FastWeightsCarry:
        batch = tuple(input_shape[:-1])
        n = self.hidden_features
        return FastWeightsCarry(jnp.zeros((*batch, n), jnp.float32), jnp.zeros((*batch, n, n), jnp.float32))

    @property
    def num_feature_axes(self) -> int:
        return 1
