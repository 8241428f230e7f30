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

import os
from functools import partial

import jax
import jax.numpy as jnp

from rumjax import rotation
from rumjax.rum_core import (
    LN_EPS,
    RUMCarry,
    RUMInputs,
    RUMLayerNorm,
    RUMParams,
    memory_target,
    rum_inputs,
    rum_output,
    rum_recurrence,
    update_gate,
)

__all__ = ["rum_sequence", "carry_at_lengths"]


def _scan(params, carry, xs_or_inputs, lam, eta, activation, dtype, layer_norm, ln_eps, unroll, remat=False):
    """Scan over time-major `RUMInputs` (hoisted) or raw inputs (t, b, x) (projected inside each step)."""
    hoisted = isinstance(xs_or_inputs, RUMInputs)

    def body(carry, x):
        inp = x if hoisted else rum_inputs(params, x, dtype=dtype)
        return rum_recurrence(
            params,
            carry,
            inp,
            lam=lam,
            eta=eta,
            activation=activation,
            dtype=dtype,
            layer_norm=layer_norm,
            ln_eps=ln_eps,
        )

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
    batch_chunk: int | None = None,
) -> tuple[RUMCarry, jax.Array]:
    """Run RUM over xs (b, t, x) from `carry`; returns (final carry, hs (b, t, n)).

    `reversible` (λ = 1 only) recomputes R_{t−1} from R_t in the backward pass instead of storing
    every R_t (see the module docstring); `remat` wraps each step in `jax.checkpoint`, storing only
    the carries (the reversible backward already recomputes, so it ignores `remat`). `hoist_inputs`
    False projects x_t inside each step instead (faster on CPU, see `benchmarks/options.py`); the
    reversible backward always hoists. `batch_chunk` (reversible λ = 1) runs the sequence for that many
    examples at a time (`jax.lax.map` over the batch), so the four (chunk, n, n) arrays of the backward
    stay in cache; it must divide the batch. The result is the same.
    """
    b = xs.shape[0]
    if reversible and lam == 1 and batch_chunk and batch_chunk < b:
        if b % batch_chunk:
            raise ValueError(f"rum_sequence: batch_chunk={batch_chunk} must divide the batch of {b}.")
        split = lambda a: a.reshape(b // batch_chunk, batch_chunk, *a.shape[1:])  # noqa: E731

        def run(args):
            return rum_sequence(
                params,
                args[0],
                args[1],
                lam=1,
                eta=eta,
                activation=activation,
                dtype=dtype,
                layer_norm=layer_norm,
                ln_eps=ln_eps,
                reversible=True,
                unroll=unroll,
            )

        carry, hs = jax.lax.map(run, (jax.tree.map(split, carry), split(xs)))
        return jax.tree.map(lambda a: a.reshape(b, *a.shape[2:]), carry), hs.reshape(b, *hs.shape[2:])
    xs = jnp.swapaxes(xs, 0, 1)  # (t, b, x)
    if reversible and lam == 1:
        inputs = rum_inputs(params, xs, dtype=dtype)  # (t, b, n) each, one matmul per term
        carry, hs = _reversible(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll)
    else:
        steps: RUMInputs | jax.Array = rum_inputs(params, xs, dtype=dtype) if hoist_inputs else xs
        carry, hs = _scan(params, carry, steps, lam, eta, activation, dtype, layer_norm, ln_eps, unroll, remat)
    return carry, jnp.swapaxes(hs, 0, 1)


def carry_at_lengths(
    params: RUMParams,
    carry: RUMCarry,
    xs: jax.Array,
    hs: jax.Array,
    seq_lengths: jax.Array,
    *,
    lam: int = 0,
    dtype=None,
    layer_norm: RUMLayerNorm | None = None,
    ln_eps: float = LN_EPS,
) -> RUMCarry:
    """The carry after step L_i of each sequence i, given the run's outputs hs (b, t, n) from `carry` over
    xs (b, t, x) and the lengths L (b,) (1 ≤ L_i ≤ t; what `nnx.RNN` returns with ``seq_lengths``).

    h_{L_i} is read from hs. The memory is replayed from the known h_{t−1}, with no second run of the cell:

        R_t = R_{t−1}^λ · Rotation(ε_t, τ_t)  for t ≤ L_i,   R_t = R_{t−1}  after,

    τ_t and ε_t recomputed from h_{t−1} and x_t (one more O(t n²) pass, traced only when the memory is used).
    """
    b = xs.shape[0]
    h = hs[jnp.arange(b), seq_lengths - 1]  # (b, n) h_{L_i}
    if carry.memory is None:
        return RUMCarry(h, None)
    h_prev = jnp.concatenate([carry.h[:, None], hs[:, :-1]], axis=1).astype(carry.h.dtype)  # (b, t, n) h_{t−1}
    inputs = rum_inputs(params, xs, dtype=dtype)
    tau = memory_target(params, h_prev, inputs, dtype, layer_norm, ln_eps)  # (b, t, n)
    eps = inputs.eps.astype(carry.h.dtype)
    valid = jnp.arange(xs.shape[1])[:, None] < seq_lengths[None, :]  # (t, b)

    def body(memory, step):
        eps_t, tau_t, valid_t = step
        base = memory if lam == 1 else jnp.linalg.matrix_power(memory, lam)  # (b, n, n) R_{t−1}^λ
        return jnp.where(valid_t[:, None, None], rotation.compose(base, eps_t, tau_t), memory), None

    memory, _ = jax.lax.scan(body, carry.memory, (jnp.swapaxes(eps, 0, 1), jnp.swapaxes(tau, 0, 1), valid))
    return RUMCarry(h, memory)


# ---------------------------------------------------------------------------- reversible λ = 1


def l2_cache_bytes(sysfs: str = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """The size of one core's level-2 (data or unified) cache, read from Linux's sysfs; None where unknown."""
    try:
        for index in sorted(os.listdir(sysfs)):
            folder = os.path.join(sysfs, index)

            def read(name, folder=folder):
                with open(os.path.join(folder, name)) as f:
                    return f.read().strip()

            if read("level") == "2" and read("type") in ("Data", "Unified"):
                size = read("size")  # e.g. "2048K"
                scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1:], 1)
                return int(size.rstrip("KMG")) * scale
    except (OSError, ValueError):
        return None
    return None


# The working set the CPU batch chunks aim at: 5/8 of a core's L2 cache, and at least 2 MiB. Measured with
# `python -m benchmarks.options --lam 1 ...` (benchmarks/README.md), the reversible λ = 1 gradient was fastest
# on a 2-core Xeon with 2 MiB of L2 per core over chunks of 8 examples at N = 100 and of 32 at N = 50 (1.28 MB,
# 5/8 of its L2; 1.36× and 1.13× faster than the whole batch); on a 2-core AMD EPYC with 512 KiB of L2 and
# 32 MiB of L3, chunks of 5/8 of its L2 (2 examples at N = 100, 8 at N = 50) were 1.17-1.28× slower than
# chunks of 8 and 32, which the 2 MiB floor picks there (within 1.12× of its best, 16 and the whole batch)
# and which leaves the Xeon's choice as it was. Where the cache cannot be read, 12 MiB, which measured best
# (64 examples at N = 100) on the CPU the chunks were first tuned on.
def cache_target_bytes(l2: int | None) -> int:
    """The working set of the CPU batch chunks for a core with `l2` bytes of L2 cache (None: unknown)."""
    return max(5 * l2 // 8, 2 * 2**20) if l2 else 12 * 2**20


CACHE_BYTES = cache_target_bytes(l2_cache_bytes())


def cpu_batch_chunk(batch: int, hidden: int, itemsize: int = 4, cache_bytes: int | None = None) -> int | None:
    """The largest divisor of `batch` whose four (chunk, n, n) backward arrays fit `cache_bytes` (default
    CACHE_BYTES; None: the whole batch fits)."""
    cache_bytes = CACHE_BYTES if cache_bytes is None else cache_bytes
    per_example = 4 * hidden * hidden * itemsize
    if batch * per_example <= cache_bytes:
        return None
    fitting = [c for c in range(1, batch + 1) if batch % c == 0 and c * per_example <= cache_bytes]
    return max(fitting) if fitting else 1


def _before(params, h, inp, ln, dtype, ln_eps):
    """The O(n) terms of a λ = 1 step before the memory: (â, v, cos θ, 1/(1 + cos θ)) of Rotation(ε, τ), u, ε."""
    tau = memory_target(params, h, inp, dtype, ln, ln_eps)
    u = update_gate(params, h, inp, dtype, ln, ln_eps)
    eps = inp.eps.astype(h.dtype)
    p = rotation.plane(eps, tau)
    return p.a_hat, p.v, p.cos, p.inv_one_plus_cos, u, eps


def _scan_transposed(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll):
    """λ = 1 over time-major `RUMInputs`, carrying R_tᵀ: R_{t−1}·[â, v, h] is then a pass along the rows of
    R_{t−1}ᵀ (`_cols`), and R_tᵀ = R_{t−1}ᵀ + â l_aᵀ + v l_vᵀ one fused read and write. Equal to `_scan`."""

    def body(state, inp):
        h, m_t = state
        a_hat, v, cos, inv, u, eps = _before(params, h, inp, layer_norm, dtype, ln_eps)
        mq = _cols(m_t, jnp.stack([a_hat, v, h], axis=1))  # R_{t−1}·[â, v, h]
        left_a = (cos[:, None] - 1.0) * mq[:, 0] + mq[:, 1]
        left_v = -mq[:, 0] - inv[:, None] * mq[:, 1]
        uu = jnp.stack([a_hat, v], axis=1)
        uh = jnp.einsum("bkn,bn->bk", uu, h)  # [â·h, v·h], one reduction
        y = mq[:, 2] + left_a * uh[:, :1] + left_v * uh[:, 1:]
        m_t = _rank_update(m_t, uu, jnp.stack([left_a, left_v], axis=1))
        h = rum_output(y, u, eps, h, layer_norm, eta, activation, ln_eps)
        return (h, m_t), h

    (h, m_t), hs = jax.lax.scan(body, (carry.h, jnp.swapaxes(carry.memory, -1, -2)), inputs, unroll=unroll)
    return RUMCarry(h, jnp.swapaxes(m_t, -1, -2)), hs, m_t


@partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 7, 8))
def _reversible(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll):
    final, hs, _ = _scan_transposed(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll)
    return final, hs


def _reversible_fwd(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll):
    final, hs, m_t = _scan_transposed(params, carry, inputs, eta, activation, dtype, layer_norm, ln_eps, unroll)
    h_prev = jnp.concatenate([carry.h[None], hs[:-1]], axis=0)  # (t, b, n) h_{t−1} for every step
    return (final, hs), (params, inputs, h_prev, (final.memory, m_t), layer_norm)


def _cols(a: jax.Array, vectors: jax.Array) -> jax.Array:
    """Aᵀ·x_k for a (b, n, n) and vectors (b, k, n), returned (b, k, n), as the product [x_1 … x_k]ᵀ A: it reads A
    once along its contiguous axis (on CPU about twice as fast as A·x_k; benchmarks/README.md)."""
    return jnp.einsum("bki,bij->bkj", vectors, a)


def _rank_update(a: jax.Array, left: jax.Array, right: jax.Array) -> jax.Array:
    """A + Σ_k left_k right_kᵀ for a (b, n, n), left and right (b, k, n): one fused read and write of A (written
    as broadcasts; as a batched product with inner size k it measured 4× slower)."""
    for k in range(left.shape[1]):
        a = a + left[:, k, :, None] * right[:, k, None, :]
    return a


def recurrent_weight_grads(params: RUMParams, h_prev: jax.Array, g_inputs: RUMInputs, dtype=None) -> RUMParams:
    """The parameters' cotangent when only W_hτ and W_hu are used inside the scan (the inputs hoisted):

        ∂L/∂W_hτ = Σ_t h_{t−1}ᵀ ∂L/∂τ̄_t,   ∂L/∂W_hu = Σ_t h_{t−1}ᵀ ∂L/∂ū_t,

    τ̄_t = W_xτ x_t + W_hτ h_{t−1} + b_τ and ū_t = W_xu x_t + W_hu h_{t−1} + b_u the pre-activations, whose
    cotangents are those of the hoisted input terms (g_inputs.x_tau, g_inputs.x_u: they enter τ̄ and ū as
    summands). One (n, t·b) × (t·b, n) product each after the scan, instead of one small product and one
    accumulation per step inside it; h_prev and g_inputs are time-major (t, b, n). The other fields are zero
    (their cotangents reach them through `rum_inputs`)."""
    dtype = dtype or jnp.result_type(h_prev, params.w_h_tau)
    h = h_prev.astype(dtype)

    def grad(g, w):
        return jnp.einsum("tbn,tbm->nm", h, g.astype(dtype), preferred_element_type=w.dtype).astype(w.dtype)

    zeros = jax.tree.map(jnp.zeros_like, params)
    return zeros._replace(w_h_tau=grad(g_inputs.x_tau, params.w_h_tau), w_h_u=grad(g_inputs.x_u, params.w_h_u))


def _reversible_bwd(eta, activation, dtype, ln_eps, unroll, residuals, cotangents):
    """The λ = 1 backward, step by step in reverse, with the memory's part written out by hand.

    With K_t = I + U C Uᵀ the rotation of step t (U = [â, v], C = [[cos − 1, −1], [1, −1/(1 + cos)]]),
    R_t = R_{t−1} K_t and y_t = R_t h_{t−1} = R_{t−1}(K_t h_{t−1}). Walking back, the carry holds R_t and its
    transpose, and the cotangent G_t of R_t and its transpose, so every product with a (b, n, n) array is a
    reduction over its rows (`_cols`), one pass each, and every update one read and one write:

        R_{t−1} = R_t + w_0 âᵀ + w_1 vᵀ,  [w_0, w_1] = [R_t â, R_t v] Cᵀ            (R_t K_tᵀ, K_t orthogonal)
        P, Q, M h = R_{t−1}·[â, v, h];  l_a = (cos − 1) P + Q,  l_v = −P − Q/(1 + cos)
        d l_a = G â + (â·h) g,  d l_v = G v + (v·h) g   (g: cotangent of y_t)
        dP = (cos − 1) d l_a − d l_v,  dQ = d l_a − d l_v/(1 + cos)
        dâ = Gᵀ l_a + R_{t−1}ᵀ dP + (g·l_a) h,  dv = Gᵀ l_v + R_{t−1}ᵀ dQ + (g·l_v) h
        dh += R_{t−1}ᵀ g + (g·l_a) â + (g·l_v) v;  dcos = d l_a·P,  d(1/(1 + cos)) = −d l_v·Q
        G_{t−1} = G + dP âᵀ + dQ vᵀ + g hᵀ
    The O(n) rest of the step (τ, u, ε and the plane before; h̃, the gate, η after) goes through jax.vjp.
    """
    params, inputs, h_prev, (memory_last, memory_last_t), layer_norm = residuals
    g_final, g_hs = cotangents

    def before(h, inp, ln):
        return _before(params, h, inp, ln, dtype, ln_eps)

    def after(y, u, eps, h, ln):
        return rum_output(y, u, eps, h, ln, eta, activation, ln_eps)

    def body(state, xs):
        r, r_t, g_m, g_mt, g_h, g_ln = state
        inp, h, g_out = xs
        (a_hat, v, cos, inv, u, eps), before_vjp = jax.vjp(before, h, inp, layer_norm)
        c1, inv1 = cos[:, None], inv[:, None]
        uu = jnp.stack([a_hat, v], axis=1)
        uh = jnp.einsum("bkn,bn->bk", uu, h)  # [â·h, v·h], one reduction
        a_h, v_h = uh[:, :1], uh[:, 1:]
        r_x = _cols(r_t, jnp.stack([a_hat, v, h], axis=1))  # R_t·[â, v, h]
        r_a, r_v, r_h = r_x[:, 0], r_x[:, 1], r_x[:, 2]
        # R_{t−1} = R_t K_tᵀ, and R_{t−1}·x = R_t (K_tᵀ x) with K_tᵀ â = cos â − v, K_tᵀ v = sin²θ â + cos v
        m_a, m_v = c1 * r_a - r_v, (1.0 - c1 * c1) * r_a + c1 * r_v  # P = R_{t−1} â, Q = R_{t−1} v
        m_h = r_h + ((c1 - 1.0) * a_h + v_h) * r_a - (a_h + inv1 * v_h) * r_v  # R_{t−1} h
        w = jnp.stack([(c1 - 1.0) * r_a - r_v, r_a - inv1 * r_v], axis=1)
        m, m_t = _rank_update(r, w, uu), _rank_update(r_t, uu, w)  # R_{t−1} and its transpose
        left_a, left_v = (c1 - 1.0) * m_a + m_v, -m_a - inv1 * m_v
        y = m_h + left_a * a_h + left_v * v_h
        _, after_vjp = jax.vjp(after, y, u, eps, h, layer_norm)
        g_y, g_u, g_eps, g_h_after, g_ln_after = after_vjp(g_h + g_out)
        g_left = _cols(g_mt, uu)  # G â, G v
        d_la, d_lv = g_left[:, 0] + a_h * g_y, g_left[:, 1] + v_h * g_y
        d_p, d_q = (c1 - 1.0) * d_la - d_lv, d_la - inv1 * d_lv
        dpq = jnp.stack([d_p, d_q, g_y], axis=1)
        vec = jnp.stack([a_hat, v, h], axis=1)
        g_m, g_mt = _rank_update(g_m, dpq, vec), _rank_update(g_mt, vec, dpq)  # G_{t−1} and its transpose
        # Gᵀ l from G_{t−1} = G + Σ_k dpq_k vec_kᵀ (Gᵀ l = G_{t−1}ᵀ l − Σ_k vec_k (dpq_k·l)), and R_{t−1}ᵀ z from
        # R_{t−1}: every (b, n, n) array is read after it is written, so XLA updates the carries in place
        lv = jnp.stack([left_a, left_v], axis=1)
        gt = _cols(g_m, lv) - jnp.einsum("bkn,bkl->bln", vec, jnp.einsum("bkn,bln->bkl", dpq, lv))
        mt = _cols(m, dpq)  # R_{t−1}ᵀ [dP, dQ, g]
        g_l = jnp.einsum("bkn,bn->bk", lv, g_y)  # [g·l_a, g·l_v]
        g_la, g_lv = g_l[:, :1], g_l[:, 1:]
        d_a = gt[:, 0] + mt[:, 0] + g_la * h
        d_v = gt[:, 1] + mt[:, 1] + g_lv * h
        d_ci = jnp.einsum("bkn,bkn->bk", jnp.stack([d_la, -d_lv], axis=1), jnp.stack([m_a, m_v], axis=1))
        d_cos, d_inv = d_ci[:, 0], d_ci[:, 1]
        g_h_before, g_inp, g_ln_before = before_vjp((d_a, d_v, d_cos, d_inv, g_u, g_eps))
        g_h_prev = g_h_after + g_h_before + mt[:, 2] + g_la * a_hat + g_lv * v
        if layer_norm is not None:
            g_ln = jax.tree.map(jnp.add, g_ln, jax.tree.map(jnp.add, g_ln_after, g_ln_before))
        return (m, m_t, g_m, g_mt, g_h_prev, g_ln), g_inp

    zeros_ln = None if layer_norm is None else jax.tree.map(jnp.zeros_like, layer_norm)
    g_memory = jnp.zeros_like(memory_last) if g_final.memory is None else g_final.memory
    init = (memory_last, memory_last_t, g_memory, jnp.swapaxes(g_memory, -1, -2), g_final.h, zeros_ln)
    (_, _, g_m0, _, g_h0, g_ln), g_inputs = jax.lax.scan(
        body, init, (inputs, h_prev, g_hs), reverse=True, unroll=unroll
    )
    return recurrent_weight_grads(params, h_prev, g_inputs, dtype), RUMCarry(g_h0, g_m0), g_inputs, g_ln


_reversible.defvjp(_reversible_fwd, _reversible_bwd)
