"""RUM over a whole sequence: input projections hoisted out of the scan, and a reversible λ = 1 backward.

Shape legend: b = batch, t = time, x = input size, n = hidden size.

`rum_sequence` equals scanning `rum_step` over time (tested), with changes that only touch
speed and memory:

1. The input terms W_xτ x_t + b_τ, W_xu x_t + b_u and ε_t = W_xε x_t + b_ε do not depend on h, so
   with ``hoist_inputs`` they are computed for every t as one (b·t, x) × (x, 3n) matrix product
   before the scan. On CPU this measured slower than projecting inside each step (the backward
   scan then writes a (t, b, 3n) cotangent), so `RUMCell` hoists only on accelerators.
2. For λ = 1 with ``reversible=True``, backpropagation does not store R_t for every step. R_t is
   orthogonal and Rotation(ε, τ)ᵀ = Rotation(τ, ε), so

       R_{t−1} = R_t · Rotation(ε_t, τ_t)ᵀ = compose(R_t, τ_t, ε_t),

   and the backward pass walks the sequence in reverse, recomputing R_{t−1} from R_t (τ_t and ε_t
   are recomputed from the stored h_{t−1} and x_t) and applying each step's VJP. Memory: the
   h_t (b, t, n) and one R (b, n, n), instead of t copies of R. Recomputation reuses the forward's
   rounding in reverse, so gradients match the stored version to float tolerance while R_t stays
   orthogonal (its drift is measured in benchmarks/rotation.py).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from rumjax import rotation
from rumjax.rum import LN_EPS, RUMCarry, RUMInputs, RUMLayerNorm, RUMParams, memory_target, rum_inputs, rum_recurrence

__all__ = ["rum_sequence"]


def _scan(params, carry, xs_or_inputs, lam, eta, activation, dtype, layer_norm, ln_eps, unroll, remat=False):
    """Scan over time-major `RUMInputs` (hoisted) or raw inputs (t, b, x) (projected inside each step)."""
    hoisted = isinstance(xs_or_inputs, RUMInputs)

    def body(carry, x):
        inp = x if hoisted else rum_inputs(params, x, dtype=dtype)
        return rum_recurrence(params, carry, inp, lam=lam, eta=eta, activation=activation, dtype=dtype,
                              layer_norm=layer_norm, ln_eps=ln_eps)

    return jax.lax.scan(jax.checkpoint(body) if remat else body, carry, xs_or_inputs, unroll=unroll)


def rum_sequence(
    params: RUMParams,
    carry: RUMCarry,
    xs: jax.Array,
    *,
    lam: int = 0,
    eta: float | None = None,
    activation=jax.nn.relu,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
    reversible: bool = False,
    unroll: int = 1,
    remat: bool = False,
    hoist_inputs: bool = True,
) -> tuple[RUMCarry, jax.Array]:
    """Run RUM over xs (b, t, x) from `carry`; returns (final carry, hs (b, t, n)).

    `reversible` (λ = 1 only) recomputes R_{t−1} from R_t in the backward pass instead of storing
    every R_t (see the module docstring); `remat` wraps each step in `jax.checkpoint`, storing only
    the carries (the reversible backward already recomputes, so it ignores `remat`). `hoist_inputs`
    False projects x_t inside each step instead (faster on CPU, see `benchmarks/options.py`); the
    reversible backward always hoists.
    """
    xs = jnp.swapaxes(xs, 0, 1)  # (t, b, x)
    if reversible and lam == 1:
        inputs = rum_inputs(params, xs, dtype=dtype)  # (t, b, n) each, one matmul per term
        carry, hs = _reversible(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll)
    else:
        inputs = rum_inputs(params, xs, dtype=dtype) if hoist_inputs else xs
        carry, hs = _scan(params, carry, inputs, lam, eta, activation, dtype, layer_norm, ln_eps, unroll, remat)
    return carry, jnp.swapaxes(hs, 0, 1)


# ---------------------------------------------------------------------------- reversible λ = 1


@partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 7, 8))
def _reversible(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll):
    return _scan(params, carry, inputs, 1, eta, activation, dtype, layer_norm, ln_eps, unroll)


def _reversible_fwd(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll):
    final, hs = _scan(params, carry, inputs, 1, eta, activation, dtype, layer_norm, ln_eps, unroll)
    h_prev = jnp.concatenate([carry.h[None], hs[:-1]], axis=0)  # (t, b, n) h_{t−1} for every step
    return (final, hs), (params, inputs, h_prev, final.memory, layer_norm)


def _reversible_bwd(eta, activation, dtype, ln_eps, unroll, residuals, cotangents):
    params, inputs, h_prev, memory_last, layer_norm = residuals
    g_final, g_hs = cotangents

    def step(params, carry, inp, layer_norm):
        return rum_recurrence(params, carry, inp, lam=1, eta=eta, activation=activation, dtype=dtype,
                              layer_norm=layer_norm, ln_eps=ln_eps)

    def body(state, xs):
        memory, g_carry, g_params, g_ln = state
        inp, h, g_y = xs
        # τ_t and ε_t as the forward computed them, then R_{t−1} = R_t · Rotation(ε_t, τ_t)ᵀ
        tau = memory_target(params, h, inp, dtype, layer_norm, ln_eps)
        eps = inp.eps.astype(h.dtype)
        memory_prev = rotation.compose(memory, tau, eps)
        _, vjp = jax.vjp(step, params, RUMCarry(h, memory_prev), inp, layer_norm)
        gp, gc, gi, gl = vjp((g_carry, g_y))
        g_params = jax.tree.map(jnp.add, g_params, gp)
        g_ln = None if layer_norm is None else jax.tree.map(jnp.add, g_ln, gl)
        return (memory_prev, gc, g_params, g_ln), gi

    zeros = jax.tree.map(jnp.zeros_like, params)
    zeros_ln = None if layer_norm is None else jax.tree.map(jnp.zeros_like, layer_norm)
    g_carry = RUMCarry(g_final.h, g_final.memory)
    init = (memory_last, g_carry, zeros, zeros_ln)
    (_, g_carry0, g_params, g_ln), g_inputs = jax.lax.scan(body, init, (inputs, h_prev, g_hs), reverse=True,
                                                           unroll=unroll)
    return g_params, g_carry0, g_inputs, g_ln


_reversible.defvjp(_reversible_fwd, _reversible_bwd)
