"""End-to-End Memory Network, MemN2N (Sukhbaatar, Szlam, Weston & Fergus 2015), baselines.md §4: the
attention baseline of the paper's bAbI table.

Shape legend: b = batch, s = memory slots (the 50 most recent sentences, most recent first),
j = words per sentence (padded with the nil word 0), d = embedding size, v = vocabulary.

With adjacent weight tying, K hops use K + 1 embedding tables E_0 … E_K (and temporal tables T_0 … T_K):
A^k = E_{k−1}, C^k = E_k, B = E_0, Wᵀ = E_K. With position encoding l (j, d),

    u^1   = Σ_j l_j ⊙ B q_j                                 question state
    m_i   = Σ_j l_j ⊙ A^k x_ij + T_A^k(i),  c_i = Σ_j l_j ⊙ C^k x_ij + T_C^k(i)
    p     = softmax_i(u^kᵀ m_i)   (linear start: p = u^kᵀ m_i, no softmax, for the first steps)
    u^{k+1} = u^k + Σ_i p_i c_i
    logits = W u^{K+1}                                      over the whole vocabulary

Position encoding as the paper: l_kj = (1 − j/J) − (k/d)(1 − 2j/J), with J the padded sentence
length. The nil word embeds to zero. Empty memory slots get no attention. Not included: random
noise (RN) on the temporal indices. Weights start from N(0, 0.1²).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = ["MemN2N", "position_encoding"]


def position_encoding(words: int, dim: int) -> jax.Array:
    """l (words, dim): l_kj = (1 − j/J) − (k/d)(1 − 2j/J), j = 1..J, k = 1..d."""
    j = jnp.arange(1, words + 1, dtype=jnp.float32)[:, None] / words
    k = jnp.arange(1, dim + 1, dtype=jnp.float32)[None, :] / dim
    return (1.0 - j) - k * (1.0 - 2.0 * j)


class MemN2N(nnx.Module):
    """MemN2N with K hops, adjacent weight tying, position and temporal encoding (module docstring):

    p = softmax_i(u^kᵀ m_i),  u^{k+1} = u^k + Σ_i p_i c_i,  logits = W u^{K+1}
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int = 20,
        hops: int = 3,
        memory_size: int = 50,
        linear_start_steps: int = 0,
        rngs: nnx.Rngs,
    ):
        if hops < 1:
            raise ValueError(f"MemN2N: hops must be >= 1, got {hops}.")
        init = nnx.initializers.normal(0.1)
        self.hops, self.memory_size, self.linear_start_steps = hops, memory_size, linear_start_steps
        self.embed = nnx.Param(init(rngs.params(), (hops + 1, vocab_size, embed_dim)))  # E_0 … E_K
        self.temporal = nnx.Param(init(rngs.params(), (hops + 1, memory_size, embed_dim)))  # T_0 … T_K

    def _encode(self, table: jax.Array, words: jax.Array) -> jax.Array:
        """Σ_j l_j ⊙ E x_j over the last axis of word ids (..., j) → (..., d); nil words add nothing."""
        vectors = table[words] * (words != 0)[..., None]  # (..., j, d)
        pe = position_encoding(words.shape[-1], table.shape[-1])
        return jnp.sum(vectors * jnp.broadcast_to(pe, vectors.shape), axis=-2)

    def __call__(self, inputs: dict, *, rng=None, step=None) -> jax.Array:
        del rng
        story, question = inputs["story"], inputs["question"]  # (b, s, j), (b, j)
        embed, temporal = self.embed[...], self.temporal[...]
        filled = jnp.any(story != 0, axis=-1)  # (b, s) slots holding a sentence
        u = self._encode(embed[0], question)  # (b, d)
        linear = (step is not None) & (jnp.asarray(0 if step is None else step) < self.linear_start_steps)
        for k in range(1, self.hops + 1):
            m = self._encode(embed[k - 1], story) + jnp.broadcast_to(temporal[k - 1], (*story.shape[:2], u.shape[-1]))
            c = self._encode(embed[k], story) + jnp.broadcast_to(temporal[k], (*story.shape[:2], u.shape[-1]))
            scores = jnp.einsum("bsd,bd->bs", m, u)
            soft = jax.nn.softmax(jnp.where(filled, scores, -jnp.inf), axis=-1)
            p = jnp.where(linear, jnp.where(filled, scores, 0.0), soft)
            u = u + jnp.einsum("bs,bsd->bd", p, c)
        return u @ embed[self.hops].T  # (b, v): Wᵀ = E_K
