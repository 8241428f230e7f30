"""Layer normalisation as a pure function (Ba, Kiros & Hinton 2016), shared by the cells that use it."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["layer_norm"]


def layer_norm(z: jax.Array, gain: jax.Array, bias: jax.Array, eps: float = 1e-5) -> jax.Array:
    """LN(z; α, β) = α ⊙ (z − μ)/√(s² + ε) + β, with μ and s² over the last axis of z.

    gain α and bias β broadcast to z explicitly (e.g. (k, n) against (b, k, n) for per-gate LN). The
    normalisation is `jax.nn.standardize` with its two-pass ("stable") variance, s² = mean((z − μ)²).
    """
    # `algorithm` is in jax.nn.standardize since jax 0.10 but not yet in its type stub
    normalised = jax.nn.standardize(z, axis=-1, epsilon=eps, algorithm="stable")  # type: ignore[call-arg]
    return normalised * jnp.broadcast_to(gain, z.shape) + jnp.broadcast_to(bias, z.shape)
