"""GORU, the Gated Orthogonal Recurrent Unit (Jing et al. 2017, arXiv 1706.02761).

Equations as in shared/papers/baselines.md §3.1 (names: V recurrent, X input kernels):

    r_t = σ(V_r h_{t−1} + X_r x_t + b_r)                       reset gate       [v_r, x_r, b_r]
    z_t = σ(V_z h_{t−1} + X_z x_t + b_z)                       update gate      [v_z, x_z, b_z]
    h̃_t = modReLU(r_t ⊙ (U_o h_{t−1}) + X_h x_t; b_h)          U_o orthogonal   [u_o.theta, x_h, b_h]
    h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ h̃_t

The reset gate multiplies the output of the orthogonal map. U_o is the real EUNN (`rumjax.eunn.EUNN`, attribute `u_o`),
tunable with `capacity` layers (the RUM recall script used 2) or FFT style (`fft=True`).
Initialisation: X_r, X_z, X_h, V_r, V_z ~ U(−0.01, 0.01); b_r = 2; θ ~ U(−π, π); and, as the RUM authors' GORU
(the one their comparisons ran), b_h = `mod_bias_init` = 2 and b_z from TF's default initialiser
(`update_bias_init="glorot"`: U(−√(3/n), √(3/n)), Glorot-uniform of a length-n vector). The separate GORU
release starts b_h = 0.01 and b_z = 0 (``mod_bias_init=0.01, update_bias_init="zeros"``, rumjax 0.1).
One deliberate difference: for even n the authors' tunable layer sets the last coordinate's cos and sin
to 0, so their U_o is not orthogonal; rumjax's EUNN keeps U_o orthogonal (tested).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.eunn import EUNN, _uniform, mod_relu

__all__ = ["GORUCell"]

UPDATE_BIAS_INITS = ("glorot", "zeros")


class GORUCell(nnx.RNNCellBase):
    """GORU (module docstring): a GRU-like gate pair around an EUNN orthogonal U_o and modReLU."""

    def __init__(
        self,
        in_features,
        hidden_features,
        *,
        capacity=2,
        fft=False,
        mod_bias_init: float = 2.0,
        update_bias_init: str = "glorot",
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        if update_bias_init not in UPDATE_BIAS_INITS:
            raise ValueError(f"goru: update_bias_init must be one of {UPDATE_BIAS_INITS}, got {update_bias_init!r}.")
        nx, nh = in_features, hidden_features
        self.hidden_features = nh
        self.dtype = dtype
        small = _uniform(0.01)
        self.u_o = EUNN(nh, capacity=capacity, fft=fft, param_dtype=param_dtype, rngs=rngs)
        self.x_r = nnx.Param(small(rngs.params(), (nx, nh), param_dtype))
        self.x_z = nnx.Param(small(rngs.params(), (nx, nh), param_dtype))
        self.x_h = nnx.Param(small(rngs.params(), (nx, nh), param_dtype))
        self.v_r = nnx.Param(small(rngs.params(), (nh, nh), param_dtype))
        self.v_z = nnx.Param(small(rngs.params(), (nh, nh), param_dtype))
        self.b_r = nnx.Param(jnp.full((nh,), 2.0, param_dtype))
        if update_bias_init == "glorot":
            self.b_z = nnx.Param(_uniform((3.0 / nh) ** 0.5)(rngs.params(), (nh,), param_dtype))
        else:
            self.b_z = nnx.Param(jnp.zeros((nh,), param_dtype))
        self.b_h = nnx.Param(jnp.full((nh,), mod_bias_init, param_dtype))

    def __call__(self, h, x):  # type: ignore[override]
        dtype = self.dtype or h.dtype
        xc, hc = x.astype(dtype), h.astype(dtype)

        def lin(a, w, b=None):
            y = (a @ w[...].astype(dtype)).astype(h.dtype)
            return y if b is None else y + jnp.broadcast_to(b[...], y.shape)

        r = jax.nn.sigmoid(lin(hc, self.v_r) + lin(xc, self.x_r, self.b_r))
        z = jax.nn.sigmoid(lin(hc, self.v_z) + lin(xc, self.x_z, self.b_z))
        u_h = self.u_o(h)  # (b, n) U_o h, in the state dtype
        pre = r * u_h + lin(xc, self.x_h)
        h_tilde = mod_relu(pre, jnp.broadcast_to(self.b_h[...], pre.shape))
        h = z * h + (1.0 - z) * h_tilde
        return h, h

    def initialize_carry(  # type: ignore[override]
        self, input_shape: tuple[int, ...], rngs: nnx.Rngs | None = None, carry_init: Callable | None = None
    ) -> jax.Array:
        return jnp.zeros((*input_shape[:-1], self.hidden_features), jnp.float32)

    @property
    def num_feature_axes(self) -> int:
        return 1
