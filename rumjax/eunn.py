"""EUNN, real (orthogonal) version: an N×N orthogonal matrix as a product of layers of 2×2 rotations.

Jing et al. 2017, "Tunable Efficient Unitary Neural Networks"; equations in shared/papers/baselines.md §3.2.

    W = F^(1) F^(2) ⋯ F^(L),   each F a layer of disjoint plane rotations [[cos θ, −sin θ], [sin θ, cos θ]]
                               on coordinate pairs (i, j); unpaired coordinates pass through unchanged.

Only the real version is built here (no phases φ, no diagonal D), as GORU uses it. A layer is
applied in O(N) without forming a matrix:

    F x = c ⊙ x + s ⊙ x[perm],   c_i = cos θ_p,  s_i = −sin θ_p for the first member i of pair p
                                 and +sin θ_p for the second, perm swapping the members of each pair.

Layouts:

* tunable, capacity L: layers alternate F_A, pairs (0,1), (2,3), …, and F_B, pairs (1,2), (3,4), …;
  L = N reaches the whole rotation group.
* FFT: log₂N layers; the layer applied first pairs j with j + N/2 inside blocks of N, the next
  j with j + N/4 inside blocks of N/2, …, the last neighbours. N must be a power of 2.

`EUNNCell` is the EUNN-RNN, h_t = modReLU(W h_{t−1} + U x_t; b).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

__all__ = ["EUNNLayout", "tunable_layout", "fft_layout", "eunn_apply", "eunn_matrix", "mod_relu", "EUNN", "EUNNCell"]


class EUNNLayout(NamedTuple):
    """Static index arrays of L layers, in the order they act on x (first row acts first).

    perm (L, N): partner of each coordinate (itself if unpaired); angle (L, N): index of its
    pair's angle in the flat θ vector (0 if unpaired); sign (L, N): −1 first member, +1 second, 0 unpaired.
    """

    perm: np.ndarray
    angle: np.ndarray
    sign: np.ndarray
    num_angles: int


def _layout(n: int, layers_pairs: list[list[tuple[int, int]]]) -> EUNNLayout:
    depth = len(layers_pairs)
    perm = np.tile(np.arange(n), (depth, 1))
    angle = np.zeros((depth, n), np.int32)
    sign = np.zeros((depth, n), np.float32)
    k = 0
    for layer, pairs in enumerate(layers_pairs):
        for i, j in pairs:
            perm[layer, i], perm[layer, j] = j, i
            angle[layer, i] = angle[layer, j] = k
            sign[layer, i], sign[layer, j] = -1.0, 1.0
            k += 1
    return EUNNLayout(perm, angle, sign, k)


def tunable_layout(n: int, capacity: int) -> EUNNLayout:
    """Tunable EUNN of `capacity` layers alternating F_A (pairs (0,1), (2,3), …) and F_B ((1,2), (3,4), …)."""
    if capacity < 1:
        raise ValueError(f"EUNN: capacity must be >= 1, got {capacity}.")
    layers = []
    for layer in range(capacity):
        start = layer % 2  # F_A, then F_B, ...
        layers.append([(i, i + 1) for i in range(start, n - 1, 2)])
    return _layout(n, layers)


def fft_layout(n: int) -> EUNNLayout:
    """FFT-style EUNN: log₂N butterfly layers, pairing distance N/2 first and neighbours last."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"EUNN: the FFT layout needs the hidden size to be a power of 2, got {n}.")
    layers = []
    for level in range(1, int(math.log2(n)) + 1):
        half = n >> level  # pairing distance
        block = 2 * half
        layers.append([(s + j, s + j + half) for s in range(0, n, block) for j in range(half)])
    return _layout(n, layers)


def eunn_apply(theta: jax.Array, layout: EUNNLayout, h: jax.Array) -> jax.Array:
    """W h for W = (last layer) ⋯ (first layer), h of shape (..., N); O(L·N)."""
    for perm, angle, sign in zip(layout.perm, layout.angle, layout.sign):
        t = theta[angle]  # (N,)
        paired = sign != 0
        c = jnp.where(paired, jnp.cos(t), 1.0).astype(h.dtype)
        s = (sign * jnp.sin(t)).astype(h.dtype)
        h = jnp.broadcast_to(c, h.shape) * h + jnp.broadcast_to(s, h.shape) * h[..., perm]
    return h


def eunn_matrix(theta: jax.Array, layout: EUNNLayout) -> jax.Array:
    """The dense W (N, N): columns are W applied to the unit vectors."""
    n = layout.perm.shape[1]
    return eunn_apply(theta, layout, jnp.eye(n, dtype=theta.dtype)).T


def mod_relu(z: jax.Array, b: jax.Array) -> jax.Array:
    """Real modReLU: sign(z) · max(0, abs(z) + b), per unit."""
    return jnp.sign(z) * jax.nn.relu(jnp.abs(z) + b)


@functools.lru_cache(maxsize=None)
def make_layout(n: int, capacity: int, fft: bool) -> EUNNLayout:
    """The layout of an N-dimensional EUNN (cached: cells rebuild it at every trace)."""
    return fft_layout(n) if fft else tunable_layout(n, capacity)


def _uniform(scale):
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -scale, scale)


class EUNN(nnx.Module):
    """The orthogonal W of a real EUNN as a module: angles θ ~ U(−π, π) (the authors' init), W h in O(L·N)."""

    def __init__(self, n: int, *, capacity: int = 2, fft: bool = False, param_dtype=jnp.float32, rngs: nnx.Rngs):
        self.n, self.capacity, self.fft = n, capacity, fft
        self.theta = nnx.Param(_uniform(math.pi)(rngs.params(), (self.layout.num_angles,), param_dtype))

    @property
    def layout(self) -> EUNNLayout:
        return make_layout(self.n, self.capacity, self.fft)

    def __call__(self, h: jax.Array) -> jax.Array:
        return eunn_apply(self.theta[...], self.layout, h)

    def matrix(self) -> jax.Array:
        return eunn_matrix(self.theta[...], self.layout)


class EUNNCell(nnx.RNNCellBase):
    """EUNN-RNN: h_t = modReLU(W h_{t−1} + U x_t; b), W orthogonal (`EUNN`, attribute `w`).

    Options: capacity (tunable layers, default 2), fft (FFT layout instead; N a power of 2).
    Initialisation as the authors' code: θ ~ U(−π, π), U ~ U(−0.01, 0.01), b = 0.01.
    """

    def __init__(
        self,
        in_features,
        hidden_features,
        *,
        capacity=2,
        fft=False,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.hidden_features = hidden_features
        self.dtype = dtype
        self.w = EUNN(hidden_features, capacity=capacity, fft=fft, param_dtype=param_dtype, rngs=rngs)
        self.w_x = nnx.Param(_uniform(0.01)(rngs.params(), (in_features, hidden_features), param_dtype))
        self.b = nnx.Param(jnp.full((hidden_features,), 0.01, param_dtype))

    def __call__(self, h, x):  # type: ignore[override]
        dtype = self.dtype or h.dtype
        z = self.w(h) + (x.astype(dtype) @ self.w_x[...].astype(dtype)).astype(h.dtype)
        h = mod_relu(z, jnp.broadcast_to(self.b[...], z.shape))
        return h, h

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> jax.Array:
        return jnp.zeros((*input_shape[:-1], self.hidden_features), jnp.float32)

    @property
    def num_feature_axes(self) -> int:
        return 1
