"""Layer-normalised LSTM, in the two forms the RUM paper's baselines use (baselines.md §7).

``form="joint"`` (default): the Fast-Slow RNN code's cell, which the RUM authors' FS-LSTM-2 and
FS-RUM-2 runs used; one LN per gate block over the joint pre-activation, and a constant forget bias:

    (f, i, o, g) = LN([x_t; h_{t−1}]·[W_x; W_h] + b)       one LN per gate block, b starts at 0
    c_t = σ(f + forget_bias) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)     forget_bias = 1, not trained
    h_t = σ(o) ⊙ tanh(LN(c_t))

``form="ba"``: Ba, Kiros & Hinton (2016, arXiv 1607.06450), the sources normalised apart and the
forget bias a trained parameter that starts at +1 (rumjax 0.1's only form):

    (f, i, o, g) = LN(W_h h_{t−1}) + LN(W_x x_t) + b        b_f starts at +1
    c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(LN(c_t))

Kernels orthogonal, LN ε = 1e-3, as in the FS-RNN code. The carry is (c, h) like flax's
LSTMCell, so wrappers that treat LSTM carries treat this one too.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.layer_norm import layer_norm

__all__ = ["LNLSTMCell", "FORMS"]


EPS = 1e-3  # LN ε of the Fast-Slow RNN code
FORMS = ("joint", "ba")


class LNLSTMCell(nnx.RNNCellBase):
    """Layer-normalised LSTM (module docstring): ``form`` "joint" (FS-RNN code) or "ba" (Ba et al.)."""

    def __init__(
        self,
        in_features,
        hidden_features,
        *,
        form: str = "joint",
        forget_bias: float = 1.0,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if form not in FORMS:
            raise ValueError(f"ln_lstm: form must be one of {FORMS}, got {form!r}.")
        n = hidden_features
        self.hidden_features = n
        self.form = form
        self.forget_bias = float(forget_bias)
        self.dtype = dtype
        ortho = nnx.initializers.orthogonal()
        draw = jnp.promote_types(param_dtype, jnp.float32)  # QR has no half-precision kernel: draw, then cast
        self.w_x = nnx.Param(ortho(rngs.params(), (in_features, 4 * n), draw).astype(param_dtype))
        self.w_h = nnx.Param(ortho(rngs.params(), (n, 4 * n), draw).astype(param_dtype))
        if form == "ba":  # blocks f, i, o, g; b_f is trained from +forget_bias
            self.b = nnx.Param(jnp.zeros((4, n), param_dtype).at[0].set(self.forget_bias))
            self.gain_x = nnx.Param(jnp.ones((4, n), param_dtype))
            self.gain_h = nnx.Param(jnp.ones((4, n), param_dtype))
            self.bias_x = nnx.Param(jnp.zeros((4, n), param_dtype))
            self.bias_h = nnx.Param(jnp.zeros((4, n), param_dtype))
        else:
            self.b = nnx.Param(jnp.zeros((4, n), param_dtype))
            self.gain = nnx.Param(jnp.ones((4, n), param_dtype))
            self.bias = nnx.Param(jnp.zeros((4, n), param_dtype))
        self.gain_c = nnx.Param(jnp.ones((n,), param_dtype))
        self.bias_c = nnx.Param(jnp.zeros((n,), param_dtype))

    def __call__(self, carry, x):  # type: ignore[override]
        c, h = carry
        n = self.hidden_features
        dtype = self.dtype or h.dtype
        zx = (x.astype(dtype) @ self.w_x[...].astype(dtype)).astype(h.dtype).reshape(*x.shape[:-1], 4, n)
        zh = (h.astype(dtype) @ self.w_h[...].astype(dtype)).astype(h.dtype).reshape(*h.shape[:-1], 4, n)
        if self.form == "ba":
            z = layer_norm(zh, self.gain_h[...], self.bias_h[...], EPS) + layer_norm(
                zx, self.gain_x[...], self.bias_x[...], EPS
            )
            z = z + jnp.broadcast_to(self.b[...], z.shape)
            forget_bias = 0.0  # trained inside b
        else:
            z = layer_norm(zx + zh + jnp.broadcast_to(self.b[...], zh.shape), self.gain[...], self.bias[...], EPS)
            forget_bias = self.forget_bias
        f, i, o, g = (z[..., k, :] for k in range(4))
        c = jax.nn.sigmoid(f + forget_bias) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(layer_norm(c, self.gain_c[...], self.bias_c[...], EPS))
        return (c, h), h

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> tuple[jax.Array, jax.Array]:
        shape = (*input_shape[:-1], self.hidden_features)
        return (jnp.zeros(shape, jnp.float32), jnp.zeros(shape, jnp.float32))  # two buffers: carries get donated

    @property
    def num_feature_axes(self) -> int:
        return 1
