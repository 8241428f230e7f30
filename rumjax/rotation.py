"""Rotation(a, b) of the RUM paper, equation 1, as pure functions.

Shape legend: ``...`` = any leading batch axes, ``n`` = the vector size N.

Equation 1 orthonormalises the pair (a, b),

    u_a = a / ‖a‖,   u_b = (b − (u_a·b) u_a) / ‖b − (u_a·b) u_a‖,   cos θ = â·b̂,

and builds the rotation by θ inside span(a, b), the identity on its orthogonal
complement (column-vector convention, R·â = b̂):

    R(a, b) = I − u_a u_aᵀ − u_b u_bᵀ + (u_a, u_b) R(θ) (u_a, u_b)ᵀ,
    R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]].

The fast paths write the same matrix without u_b, through v = b̂ − cos θ·â = sin θ·u_b,
which stays smooth when a ∥ b:

    R(a, b) = I + (â, v) K (â, v)ᵀ,   K = [[cos θ − 1, −1], [1, −1/(1 + cos θ)]].      (*)

(*) equals eq. 1 term by term, because (cos θ − 1) u_b u_bᵀ = (cos θ − 1) v vᵀ / sin²θ
= −v vᵀ / (1 + cos θ). It is a rank-2 update of the identity, so R·h costs O(N) and
M·R costs O(N²) per example.

Degenerate inputs (the behaviour is part of the API; values and gradients stay finite
in float32 and float64):

* a ∥ b, same direction (a = b, a = c·b with c > 0): θ = 0 and R = I. (*) reaches it
  smoothly, so gradients there are the true ones.
* a = 0 or b = 0: the plane is undefined and R = I. (The published implementation
  turns R into a projection here.)
* a ∥ b, opposite directions (cos θ ≤ −1 + √eps of the dtype): a rotation by π has no
  unique plane, and R = I. (a, b) ↦ R cannot be continuous there; gradients are zero
  on that set.

The published implementation computes sin θ = √(1 − cos²θ), whose gradient is infinite
when a ∥ b and NaN when rounding makes cos²θ > 1. Nothing here takes the square root
or the reciprocal of a quantity that can reach zero without a guard.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "RotationComponents",
    "rotation_components",
    "rotate",
    "rotation_matrix",
    "compose",
    "compose_apply",
    "plane",
]


class RotationComponents(NamedTuple):
    """The orthonormal pair of eq. 1 and the angle from a to b."""

    u_a: jax.Array  # (..., n) a/‖a‖; zero where a = 0
    u_b: jax.Array  # (..., n) unit vector ⟂ u_a in span(a, b); zero where R = I
    cos: jax.Array  # (...,) cos θ; one where R = I
    sin: jax.Array  # (...,) sin θ ≥ 0; zero where R = I


class Plane(NamedTuple):
    """The terms of (*): R = I + (a_hat, v) K (a_hat, v)ᵀ."""

    a_hat: jax.Array  # (..., n)
    v: jax.Array  # (..., n) sin θ · u_b
    cos: jax.Array  # (...,)
    inv_one_plus_cos: jax.Array  # (...,) 1/(1 + cos θ) ≤ 1/√eps


def _safe_norm(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """‖x‖ over the last axis and the mask ‖x‖ > 0; zero gradient where x = 0."""
    sq = jnp.sum(x * x, axis=-1)
    ok = sq > jnp.finfo(x.dtype).tiny
    norm = jnp.sqrt(jnp.where(ok, sq, 1.0))  # double-where: no sqrt'(0) in either branch
    return jnp.where(ok, norm, 0.0), ok


def _safe_unit(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """x/‖x‖ and the mask ‖x‖ > 0; x/‖x‖ = 0 with zero gradient where x = 0."""
    norm, ok = _safe_norm(x)
    return x / jnp.where(ok, norm, 1.0)[..., None], ok


def plane(a: jax.Array, b: jax.Array) -> Plane:
    """The terms (â, v, cos θ, 1/(1 + cos θ)) of (*) for unnormalised a, b: R = I wherever the plane is undefined."""
    a_hat, a_ok = _safe_unit(a)
    b_hat, b_ok = _safe_unit(b)
    cos = jnp.clip(jnp.sum(a_hat * b_hat, axis=-1), -1.0, 1.0)
    antiparallel = cos <= -1.0 + jnp.sqrt(jnp.finfo(cos.dtype).eps)
    rotates = a_ok & b_ok & ~antiparallel  # (...,)
    cos = jnp.where(rotates, cos, 1.0)
    v = jnp.where(rotates[..., None], b_hat - cos[..., None] * a_hat, 0.0)
    return Plane(a_hat, v, cos, 1.0 / (1.0 + cos))


def rotation_components(a: jax.Array, b: jax.Array) -> RotationComponents:
    """(u_a, u_b, cos θ, sin θ) of eq. 1 for a, b of shape (..., n).

    u_a = a/‖a‖, u_b = (b − (u_a·b)u_a)/‖·‖, cos θ = â·b̂, sin θ = ‖b̂ − cos θ·â‖ ≥ 0.
    Where R = I by the rules in the module docstring, u_b = 0, cos θ = 1, sin θ = 0.

    >>> import jax.numpy as jnp
    >>> from rumjax import rotation_components
    >>> u_a, u_b, cos, sin = rotation_components(jnp.array([2.0, 0.0]), jnp.array([0.0, 3.0]))
    >>> u_a, u_b, cos.round(6), sin.round(6)                      # θ = π/2
    (Array([1., 0.], dtype=float32), Array([0., 1.], dtype=float32), Array(0., dtype=float32), Array(1., dtype=float32))
    """
    p = plane(a, b)
    u_b, _ = _safe_unit(p.v)
    sin, _ = _safe_norm(p.v)
    return RotationComponents(p.a_hat, u_b, p.cos, sin)


def rotate(a: jax.Array, b: jax.Array, h: jax.Array) -> jax.Array:
    """R(a, b)·h in O(n), never building R.

    Substituting v = b̂ − cos θ·â into (*) and writing A = â·h, V = v·h = b̂·h − cos θ·A,

        R h = h − â (A + V/(1 + cos θ)) + b̂ (A − V/(1 + cos θ)),

    so R h is h plus per-example multiples of a and b, and every reduction (a·a, b·b, a·b,
    a·h, b·h) reads only the inputs: one pass over them, then one elementwise pass.
    a, b, h: (..., n), broadcast against each other. Returns (..., n).

    Example: R(a, b) takes â to b̂ and keeps norms.

    >>> import jax.numpy as jnp
    >>> from rumjax import rotate
    >>> a, b = jnp.array([1.0, 0.0, 0.0]), jnp.array([1.0, 1.0, 0.0])
    >>> rotate(a, b, a).round(4)                       # â -> b̂
    Array([0.7071, 0.7071, 0.    ], dtype=float32)
    >>> rotate(a, b, jnp.array([0.0, 0.0, 2.0]))       # the orthogonal complement of span(a, b) stays put
    Array([0., 0., 2.], dtype=float32)
    """
    a, b, h = jnp.broadcast_arrays(a, b, h)
    aa, bb = jnp.sum(a * a, axis=-1), jnp.sum(b * b, axis=-1)  # (...,)
    ab, ah, bh = jnp.sum(a * b, axis=-1), jnp.sum(a * h, axis=-1), jnp.sum(b * h, axis=-1)
    tiny = jnp.finfo(aa.dtype).tiny
    a_ok, b_ok = aa > tiny, bb > tiny
    norm_a = jnp.sqrt(jnp.where(a_ok, aa, 1.0))  # double-where: no sqrt'(0), no division by 0
    norm_b = jnp.sqrt(jnp.where(b_ok, bb, 1.0))
    cos = jnp.clip(ab / (norm_a * norm_b), -1.0, 1.0)
    rotates = a_ok & b_ok & (cos > -1.0 + jnp.sqrt(jnp.finfo(cos.dtype).eps))  # else R = I
    cos = jnp.where(rotates, cos, 1.0)
    a_dot = ah / norm_a  # A = â·h
    v_dot = bh / norm_b - cos * a_dot  # V = v·h
    k = v_dot / (1.0 + cos)
    alpha = jnp.where(rotates, -(a_dot + k) / norm_a, 0.0)[..., None]  # coefficient of a
    beta = jnp.where(rotates, (a_dot - k) / norm_b, 0.0)[..., None]  # coefficient of b
    return h + alpha * a + beta * b


def rotation_matrix(a: jax.Array, b: jax.Array) -> jax.Array:
    """The dense R(a, b) of eq. 1, shape (..., n, n).

    Built as I + (â, v) K (â, v)ᵀ of (*), which has the same value as eq. 1 and
    finite gradients when a ∥ b. O(n²) memory: the reference the fast paths are
    tested against, and the form used where a dense power R^λ is needed.

    >>> import jax, jax.numpy as jnp
    >>> from rumjax import rotate, rotation_matrix
    >>> a, b, h = jax.random.normal(jax.random.key(0), (3, 2, 5))   # a batch of 2, n = 5
    >>> r = rotation_matrix(a, b)                                   # (2, 5, 5)
    >>> bool(jnp.allclose(r @ jnp.swapaxes(r, -1, -2), jnp.eye(5)[None], atol=1e-5))   # orthogonal
    True
    >>> bool(jnp.allclose(jnp.einsum("bij,bj->bi", r, h), rotate(a, b, h), atol=1e-5))
    True
    """
    p = plane(a, b)
    n = a.shape[-1]
    cos = p.cos[..., None, None]
    inv = p.inv_one_plus_cos[..., None, None]
    aa = p.a_hat[..., :, None] * p.a_hat[..., None, :]  # (..., n, n) â âᵀ
    av = p.a_hat[..., :, None] * p.v[..., None, :]  # (..., n, n) â vᵀ
    vv = p.v[..., :, None] * p.v[..., None, :]  # (..., n, n) v vᵀ
    eye = jnp.broadcast_to(jnp.eye(n, dtype=aa.dtype), aa.shape)
    return eye + (cos - 1.0) * aa - av + jnp.swapaxes(av, -1, -2) - inv * vv


def compose(m: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    """M·R(a, b) as a rank-2 update in O(n²) per example, no n×n×n product.

    M R = M + (M â)[(cos θ − 1) âᵀ − vᵀ] + (M v)[âᵀ − vᵀ/(1 + cos θ)]   by (*).
    m: (..., n, n); a, b: (..., n). Returns (..., n, n).

    >>> import jax, jax.numpy as jnp
    >>> from rumjax import compose, rotation_matrix
    >>> m, a, b = jax.random.normal(jax.random.key(0), (5, 5)), *jax.random.normal(jax.random.key(1), (2, 5))
    >>> bool(jnp.allclose(compose(m, a, b), m @ rotation_matrix(a, b), atol=1e-5))
    True
    """
    p = plane(a, b)
    m_a = jnp.einsum("...ij,...j->...i", m, p.a_hat)  # (..., n) M â
    m_v = jnp.einsum("...ij,...j->...i", m, p.v)  # (..., n) M v
    cos = p.cos[..., None]
    inv = p.inv_one_plus_cos[..., None]
    left_a = (cos - 1.0) * m_a + m_v  # (..., n) multiplies âᵀ
    left_v = -m_a - inv * m_v  # (..., n) multiplies vᵀ
    return m + left_a[..., :, None] * p.a_hat[..., None, :] + left_v[..., :, None] * p.v[..., None, :]


def compose_apply(m: jax.Array, a: jax.Array, b: jax.Array, h: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(M·R(a, b), M·R(a, b)·h) reading M once: one batched product M·[â, v, h], then a rank-2 update.

    (M R) h = M h + (M â)[(cos θ − 1)(â·h) − v·h] + (M v)[â·h − (v·h)/(1 + cos θ)]   by (*).
    m: (..., n, n); a, b, h: (..., n). Returns ((..., n, n), (..., n)).

    The O(n²) part has a hand-written backward (`_memory_update`, see its docstring): a few rank-1
    updates and matrix-vector products, each one pass over a (..., n, n) array. The O(n) plane (â, v,
    cos θ from a, b, with the degenerate cases of the module docstring) is differentiated by JAX.
    """
    p = plane(a, b)
    return _memory_update(m, p.a_hat, p.v, p.cos, p.inv_one_plus_cos, h)


def _matvecs(m: jax.Array, vectors: jax.Array) -> jax.Array:
    """M·[x_1 … x_k] for m (..., n, n), vectors (..., n, k): one pass over M. Returns (..., n, k)."""
    return jnp.einsum("...ij,...jk->...ik", m, vectors)


def _matvecs_t(m: jax.Array, vectors: jax.Array) -> jax.Array:
    """Mᵀ·[x_1 … x_k] for m (..., n, n), vectors (..., n, k), as a multiply-and-reduce over M's rows (one pass;
    on CPU faster than a transposed dot_general). Returns (..., n, k)."""
    return jnp.sum(m[..., :, :, None] * vectors[..., :, None, :], axis=-3)


def _memory_update_fwd_terms(m, a_hat, v, cos, inv, h):
    mq = _matvecs(m, jnp.stack([a_hat, v, h], axis=-1))  # (..., n, 3): M â, M v, M h in one pass over M
    m_a, m_v, m_h = mq[..., 0], mq[..., 1], mq[..., 2]
    left_a = (cos[..., None] - 1.0) * m_a + m_v  # (..., n) multiplies âᵀ
    left_v = -m_a - inv[..., None] * m_v  # (..., n) multiplies vᵀ
    new_m = m + left_a[..., :, None] * a_hat[..., None, :] + left_v[..., :, None] * v[..., None, :]
    a_h = jnp.sum(a_hat * h, axis=-1)
    v_h = jnp.sum(v * h, axis=-1)
    y = m_h + left_a * a_h[..., None] + left_v * v_h[..., None]
    return (new_m, y), (m_a, m_v, left_a, left_v, a_h, v_h)


@jax.custom_vjp
def _memory_update(m, a_hat, v, cos, inv, h):
    """(R', R'·h) with R' = M + l_a âᵀ + l_v vᵀ, l_a = (cos − 1) M â + M v, l_v = −M â − inv·M v.

    Backward, for cotangents G of R' and g of y = R'·h (α = â·h, β = v·h):
        d l_a = G â + α g,   d l_v = G v + β g,   dP = (cos − 1) d l_a − d l_v,   dQ = d l_a − inv·d l_v
        dM = G + dP âᵀ + dQ vᵀ + g hᵀ                        (one read of G, one write)
        dâ = Gᵀ l_a + Mᵀ dP + (g·l_a) h,  dv = Gᵀ l_v + Mᵀ dQ + (g·l_v) h,  dh = Mᵀ g + (g·l_a) â + (g·l_v) v
        dcos = d l_a·(M â),  dinv = −d l_v·(M v)
    with P = M â and Q = M v from the forward: two passes over G and one over M besides dM.
    """
    return _memory_update_fwd_terms(m, a_hat, v, cos, inv, h)[0]


def _memory_update_fwd(m, a_hat, v, cos, inv, h):
    out, (m_a, m_v, left_a, left_v, a_h, v_h) = _memory_update_fwd_terms(m, a_hat, v, cos, inv, h)
    return out, (m, a_hat, v, cos, inv, h, m_a, m_v, left_a, left_v, a_h, v_h)


def _memory_update_bwd(res, cotangents):
    m, a_hat, v, cos, inv, h, m_a, m_v, left_a, left_v, a_h, v_h = res
    g_m, g_y = cotangents
    g_left = _matvecs(g_m, jnp.stack([a_hat, v], axis=-1))  # (..., n, 2): G â, G v
    d_left_a = g_left[..., 0] + a_h[..., None] * g_y
    d_left_v = g_left[..., 1] + v_h[..., None] * g_y
    d_p = (cos[..., None] - 1.0) * d_left_a - d_left_v  # cotangent of M â
    d_q = d_left_a - inv[..., None] * d_left_v  # cotangent of M v
    d_m = (
        g_m
        + d_p[..., :, None] * a_hat[..., None, :]
        + d_q[..., :, None] * v[..., None, :]
        + g_y[..., :, None] * h[..., None, :]
    )
    gt = _matvecs_t(g_m, jnp.stack([left_a, left_v], axis=-1))  # (..., n, 2): Gᵀ l_a, Gᵀ l_v
    mt = _matvecs_t(m, jnp.stack([d_p, d_q, g_y], axis=-1))  # (..., n, 3): Mᵀ dP, Mᵀ dQ, Mᵀ g
    g_la, g_lv = jnp.sum(g_y * left_a, axis=-1), jnp.sum(g_y * left_v, axis=-1)  # cotangents of α, β
    d_a = gt[..., 0] + mt[..., 0] + g_la[..., None] * h
    d_v = gt[..., 1] + mt[..., 1] + g_lv[..., None] * h
    d_h = mt[..., 2] + g_la[..., None] * a_hat + g_lv[..., None] * v
    d_cos = jnp.sum(d_left_a * m_a, axis=-1)
    d_inv = -jnp.sum(d_left_v * m_v, axis=-1)
    return d_m, d_a, d_v, d_cos, d_inv, d_h


_memory_update.defvjp(_memory_update_fwd, _memory_update_bwd)
