"""The RUM step as pure functions of arrays (§3.2): parameters, carry, the gates, one recurrence step, and
the initial carry. `rumjax.rum` (the nnx module) and `rumjax.rum_sequence` (whole sequences) both build on it.

Shape legend: b = batch (any leading axes), x = input size N_x, n = hidden size N_h.

One step, with the paper's symbols (argument names in brackets):

    τ_t  = W_xτ x_t + W_hτ h_{t−1} + b_τ                 memory target      [w_x_tau, w_h_tau, b_tau]
    u_t  = σ(W_xu x_t + W_hu h_{t−1} + b_u)              update gate        [w_x_u, w_h_u, b_u]
    ε_t  = W_xε x_t + b_ε                                embedded input     [w_x_eps, b_eps]
    R_t  = (R_{t−1})^λ · Rotation(ε_t, τ_t),  R_0 = I    associative memory [lam = λ, carry.memory]
    h̃_t  = activation(ε_t + R_t h_{t−1})                 (ReLU in the paper)
    h'_t = u_t ⊙ h_{t−1} + (1 − u_t) ⊙ h̃_t
    h_t  = η h'_t / ‖h'_t‖  if η is given, else h'_t     time normalisation [eta = η]

λ = 0 keeps no memory: R_t = Rotation(ε_t, τ_t) is applied to h_{t−1} in O(n) by
`rotation.rotate`. λ = 1 carries R_t (b, n, n) and updates it by the rank-2
`rotation.compose` in O(n²); λ ≥ 2 needs the dense power R_{t−1}^λ first.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from rumjax import rotation
from rumjax.layer_norm import layer_norm as ln

__all__ = [
    "RUMParams",
    "RUMCarry",
    "RUMLayerNorm",
    "RUMInputs",
    "LN_EPS",
    "check_lam_eta",
    "rum_inputs",
    "memory_target",
    "update_gate",
    "time_normalise",
    "rum_recurrence",
    "rum_output",
    "rum_step",
    "rum_initial_carry",
]

Activation = Callable[[jax.Array], jax.Array]


class RUMParams(NamedTuple):
    """RUM's weights, named after the paper's symbols (W_xτ → w_x_tau, ...)."""

    w_x_tau: jax.Array  # (x, n)
    w_h_tau: jax.Array  # (n, n)
    b_tau: jax.Array  # (n,)
    w_x_u: jax.Array  # (x, n)
    w_h_u: jax.Array  # (n, n)
    b_u: jax.Array  # (n,)
    w_x_eps: jax.Array  # (x, n)
    b_eps: jax.Array  # (n,)


class RUMCarry(NamedTuple):
    """The recurrent state: hidden state h_t (b, n) and memory R_t (b, n, n), None when λ = 0."""

    h: jax.Array
    memory: jax.Array | None


class RUMLayerNorm(NamedTuple):
    """Gains and biases of RUM's optional layer norm, each (n,): on τ, on the pre-activation of h̃ and,
    unless None, on the update gate u (after its sigmoid, as the authors' code)."""

    gain_tau: jax.Array
    bias_tau: jax.Array
    gain_c: jax.Array
    bias_c: jax.Array
    gain_u: jax.Array | None = None
    bias_u: jax.Array | None = None


LN_EPS = 1e-3  # ε of RUM's layer norm in the authors' code (rumjax before 0.2 used 1e-5)


class RUMInputs(NamedTuple):
    """The input-only terms of one step: W_xτ x + b_τ, W_xu x + b_u and ε = W_xε x + b_ε, each (b, n).

    They do not depend on h, so a sequence computes them for every t in one matrix
    product before the scan (see `rum_inputs`).
    """

    x_tau: jax.Array
    x_u: jax.Array
    eps: jax.Array


def check_lam_eta(lam: int, eta: float | None) -> None:
    """Raise a ValueError naming λ or η unless λ is a non-negative integer and η is None or > 0."""
    if isinstance(lam, bool) or not isinstance(lam, int) or lam < 0:
        raise ValueError(f"RUM: lam (λ) must be a non-negative integer, got {lam!r}.")
    if eta is not None and not (isinstance(eta, (int, float)) and eta > 0):
        raise ValueError(f"RUM: eta (η) must be None (no time normalisation) or a positive number, got {eta!r}.")


def rum_inputs(params: RUMParams, x: jax.Array, *, dtype=None) -> RUMInputs:
    """W_xτ x + b_τ, W_xu x + b_u, ε = W_xε x + b_ε for x of shape (..., x); computed in `dtype`."""
    dtype = dtype or jnp.result_type(x, params.w_x_tau)
    x = x.astype(dtype)

    def affine(w, b):
        y = x @ w.astype(dtype)
        return y + jnp.broadcast_to(b.astype(dtype), y.shape)

    return RUMInputs(
        affine(params.w_x_tau, params.b_tau),
        affine(params.w_x_u, params.b_u),
        affine(params.w_x_eps, params.b_eps),
    )


def memory_target(
    params: RUMParams,
    h_prev: jax.Array,
    inputs: RUMInputs,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
) -> jax.Array:
    """τ_t = W_xτ x_t + W_hτ h_{t−1} + b_τ (then LN(τ) with `layer_norm`), in the dtype of h."""
    dtype = dtype or jnp.result_type(h_prev, params.w_h_tau)
    tau = (inputs.x_tau + h_prev.astype(dtype) @ params.w_h_tau.astype(dtype)).astype(h_prev.dtype)  # (b, n)
    if layer_norm is not None:
        tau = ln(tau, layer_norm.gain_tau, layer_norm.bias_tau, ln_eps)
    return tau


def update_gate(
    params: RUMParams,
    h_prev: jax.Array,
    inputs: RUMInputs,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
) -> jax.Array:
    """u_t = σ(W_xu x_t + W_hu h_{t−1} + b_u), then LN(u_t) when `layer_norm` has gain_u (the authors'
    code normalises the gate after its sigmoid, so u may leave (0, 1)); in the dtype of h."""
    dtype = dtype or jnp.result_type(h_prev, params.w_h_u)
    u = jax.nn.sigmoid((inputs.x_u + h_prev.astype(dtype) @ params.w_h_u.astype(dtype)).astype(h_prev.dtype))
    if layer_norm is not None and layer_norm.gain_u is not None and layer_norm.bias_u is not None:
        u = ln(u, layer_norm.gain_u, layer_norm.bias_u, ln_eps)
    return u


def time_normalise(h: jax.Array, eta: float | None) -> jax.Array:
    """h_t = η h'/‖h'‖ over the last axis (identity when η is None); h' = 0 gives 0, with gradient 0 (rumjax
    before 0.3 floored ‖h'‖² at the smallest normal number, whose derivative made the gradient NaN there)."""
    if eta is None:
        return h
    sq = jnp.sum(h * h, axis=-1, keepdims=True)
    ok = sq > jnp.finfo(h.dtype).tiny
    inv_norm = jnp.where(ok, jax.lax.rsqrt(jnp.where(ok, sq, 1.0)), 0.0)  # double where: finite gradient at h' = 0
    return eta * h * inv_norm


def rum_recurrence(
    params: RUMParams,
    carry: RUMCarry,
    inputs: RUMInputs,
    *,
    lam: int = 0,
    eta: float | None = None,
    activation: Activation = jax.nn.relu,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
) -> tuple[RUMCarry, jax.Array]:
    """The h-dependent part of one RUM step, given `rum_inputs` of x_t.

    With `layer_norm`, τ ← LN(τ), u ← LN(σ(·)) when the layer norm has u's gain (Appendix D: "RUM's
    update gate and target memory"; the authors' code normalises u after its sigmoid), and
    h̃ = activation(LN(ε + R_t h_{t−1})), each LN with ε = `ln_eps`.
    The carry keeps its own dtype (float32 when compute `dtype` is bfloat16): matrix
    products run in `dtype`, the rotation, the memory and the update in the carry's dtype.
    """
    h_prev, memory = carry
    state_dtype = h_prev.dtype
    dtype = dtype or jnp.result_type(h_prev, params.w_h_tau)
    tau = memory_target(params, h_prev, inputs, dtype, layer_norm, ln_eps)  # (b, n)
    u = update_gate(params, h_prev, inputs, dtype, layer_norm, ln_eps)  # (b, n)
    eps = inputs.eps.astype(state_dtype)  # (b, n)
    if lam == 0:
        r_h = rotation.rotate(eps, tau, h_prev)  # (b, n) R_t h_{t−1}, O(n)
        new_memory = None
    else:
        if memory is None:
            raise ValueError(f"RUM with lam={lam} needs carry.memory of shape (batch, n, n), got None.")
        base = memory if lam == 1 else jnp.linalg.matrix_power(memory, lam)  # (b, n, n) R_{t−1}^λ
        new_memory, r_h = rotation.compose_apply(base, eps, tau, h_prev)  # R_t (b, n, n), R_t h_{t−1} (b, n)
    h_new = rum_output(r_h, u, eps, h_prev, layer_norm, eta, activation, ln_eps)
    return RUMCarry(h_new, new_memory), h_new


def rum_output(
    r_h: jax.Array,
    u: jax.Array,
    eps: jax.Array,
    h_prev: jax.Array,
    layer_norm: RUMLayerNorm | None,
    eta: float | None,
    activation: Callable[[jax.Array], jax.Array],
    ln_eps: float = LN_EPS,
) -> jax.Array:
    """h_t from R_t h_{t−1}: h̃ = activation(LN(ε + R_t h_{t−1})), h' = u ⊙ h_{t−1} + (1 − u) ⊙ h̃, then η."""
    pre = eps + r_h
    if layer_norm is not None:
        pre = ln(pre, layer_norm.gain_c, layer_norm.bias_c, ln_eps)
    return time_normalise(u * h_prev + (1.0 - u) * activation(pre), eta)


def rum_step(
    params: RUMParams,
    carry: RUMCarry,
    x: jax.Array,
    *,
    lam: int = 0,
    eta: float | None = None,
    activation: Activation = jax.nn.relu,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
) -> tuple[RUMCarry, jax.Array]:
    """One step of §3.2 (equations in the module docstring): (carry, x_t) -> (carry, h_t).

    A pure function of `RUMParams` (a `RUMCell`'s are ``cell.params``), so a ``jax.lax.scan`` of your own
    runs it:

    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from rumjax import RUMCell, rum_initial_carry, rum_step
    >>> cell = RUMCell(3, 8, lam=1, rngs=nnx.Rngs(0))
    >>> carry = rum_initial_carry((2,), 8, lam=1)                   # batch 2: h_0 = 0, R_0 = I
    >>> carry, hs = jax.lax.scan(lambda c, x: rum_step(cell.params, c, x, lam=1), carry, jnp.ones((5, 2, 3)))
    >>> hs.shape, carry.memory.shape
    ((5, 2, 8), (2, 8, 8))
    >>> r = carry.memory                                            # R_T stays orthogonal
    >>> bool(jnp.allclose(r @ jnp.swapaxes(r, 1, 2), jnp.eye(8)[None], atol=1e-5))
    True
    """
    return rum_recurrence(
        params,
        carry,
        rum_inputs(params, x, dtype=dtype),
        lam=lam,
        eta=eta,
        activation=activation,
        dtype=dtype,
        layer_norm=layer_norm,
        ln_eps=ln_eps,
    )


def rum_initial_carry(batch_shape: tuple[int, ...], hidden: int, lam: int, dtype=jnp.float32) -> RUMCarry:
    """h_0 = 0 and R_0 = I (None when λ = 0)."""
    h = jnp.zeros((*batch_shape, hidden), dtype)
    memory = None
    if lam >= 1:
        memory = jnp.broadcast_to(jnp.eye(hidden, dtype=dtype), (*batch_shape, hidden, hidden))
    return RUMCarry(h, memory)
