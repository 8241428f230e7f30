"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016, arXiv 1607.06450), as in baselines.md §7.

    (f, i, o, g) = LN(W_h h_{t−1}) + LN(W_x x_t) + b      one LN per gate block and per source
    c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(LN(c_t))

The forget-gate bias starts at +1 and the kernels are orthogonal, as in the Fast-Slow RNN code.
The carry is (c, h) like flax's LSTMCell, so wrappers that treat LSTM carries treat this one too.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.layer_norm import layer_norm

__all__ = ["LNLSTMCell"]


EPS = 1e-3  # LN ε of the Fast-Slow RNN code


class LNLSTMCell(nnx.RNNCellBase):
    def __init__(self, in_features, hidden_features, *, dtype=None, param_dtype=jnp.float32, rngs: nnx.Rngs):
        n = hidden_features
        self.hidden_features = n
        self.dtype = dtype
        ortho = nnx.initializers.orthogonal()
        self.w_x = nnx.Param(ortho(rngs.params(), (in_features, 4 * n), param_dtype))
        self.w_h = nnx.Param(ortho(rngs.params(), (n, 4 * n), param_dtype))
        self.b = nnx.Param(jnp.zeros((4, n), param_dtype).at[0].set(1.0))  # blocks f, i, o, g
        self.gain_x = nnx.Param(jnp.ones((4, n), param_dtype))
        self.gain_h = nnx.Param(jnp.ones((4, n), param_dtype))
        self.bias_x = nnx.Param(jnp.zeros((4, n), param_dtype))
        self.bias_h = nnx.Param(jnp.zeros((4, n), param_dtype))
        self.gain_c = nnx.Param(jnp.ones((n,), param_dtype))
        self.bias_c = nnx.Param(jnp.zeros((n,), param_dtype))

    def __call__(self, carry, x):  # type: ignore[override]
        c, h = carry
        n = self.hidden_features
        dtype = self.dtype or h.dtype
        zx = (x.astype(dtype) @ self.w_x[...].astype(dtype)).astype(h.dtype).reshape(*x.shape[:-1], 4, n)
        zh = (h.astype(dtype) @ self.w_h[...].astype(dtype)).astype(h.dtype).reshape(*h.shape[:-1], 4, n)
        z = layer_norm(zh, self.gain_h[...], self.bias_h[...], EPS) + layer_norm(zx, self.gain_x[...], self.bias_x[...], EPS)
        z = z + jnp.broadcast_to(self.b[...], z.shape)
        f, i, o, g = (z[..., k, :] for k in range(4))
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(layer_norm(c, self.gain_c[...], self.bias_c[...], EPS))
        return (c, h), h

    def initialize_carry(self, input_shape, rngs=None, carry_init=None):  # type: ignore[override]
        shape = (*input_shape[:-1], self.hidden_features)
        return (jnp.zeros(shape, jnp.float32), jnp.zeros(shape, jnp.float32))  # two buffers: carries get donated

    @property
    def num_feature_axes(self) -> int:
        return 1
