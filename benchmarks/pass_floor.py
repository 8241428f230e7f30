"""The floor under RUM λ = 1's train step on this machine: its (B, N, N) memory passes alone, timed beside
Flax's GRU train step and RUM λ = 1's own, in turns in one process.

    python -m benchmarks.pass_floor                      # recall: B 128, T 53, N 50, 36 inputs
    python -m benchmarks.pass_floor --shape 128 220 100 --inputs 10   # copying

Each step of the reversible λ = 1 gradient makes, on (B, N, N) arrays (`benchmarks.memory_passes` counts
them in the compiled program), forward: R_{t−1}ᵀ read for R_{t−1}·[â, v, h] and read and written by the
rank-2 update; backward: R_t, R_tᵀ, G and Gᵀ each read for a product and read and written by a rank-2
update, and R_{t−1} and G_{t−1} read again (8 reads, 4 writes). *passes only* is a scan over T steps
doing exactly these products and updates, forward then backward, over the same batch chunks as the cell,
with O(n) glue only to make each step depend on the last: no gates, no rotation plane, no layer
readout or optimiser. No faster ordering of the same passes can beat it, so it bounds the λ = 1 train
step from below; divided by the GRU train step it is the best ratio the algorithm can reach here.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp

from benchmarks.timing import time_interleaved
from benchmarks.train_step import compile_step
from rumjax.rum_sequence import _cols, _rank_update, cpu_batch_chunk


def passes_only(batch: int, steps: int, hidden: int, chunk: int | None):
    """(jitted function, args): the forward and backward (B, N, N) passes of `steps` λ = 1 steps."""

    def sequence(m_t, vs):  # m_t (b, n, n), vs (t, b, n)
        def forward(m_t, v):
            mq = _cols(m_t, jnp.stack([v, v, v], axis=1))  # R_{t−1}·[â, v, h]: one read
            left = jnp.tanh(mq[:, :2])
            return _rank_update(m_t, jnp.stack([v, v], axis=1), left), mq[:, 2]  # one read, one write

        m_t, hs = jax.lax.scan(forward, m_t, vs)

        def backward(state, v):
            r, r_t, g_m, g_mt = state
            r_x = _cols(r_t, jnp.stack([v, v, v], axis=1))  # R_t·[â, v, h]
            w, uu = jnp.tanh(r_x[:, :2]), jnp.stack([v, v], axis=1)
            r, r_t = _rank_update(r, w, uu), _rank_update(r_t, uu, w)  # R_{t−1} and its transpose
            g_left = _cols(g_mt, uu)  # G â, G v
            dpq = jnp.stack([g_left[:, 0], g_left[:, 1], r_x[:, 2]], axis=1)
            vec = jnp.stack([v, v, v], axis=1)
            g_m, g_mt = _rank_update(g_m, dpq, vec), _rank_update(g_mt, vec, dpq)  # G_{t−1} and its transpose
            gt = _cols(g_m, jnp.tanh(g_left))  # G_{t−1}ᵀ [l_a, l_v]
            mt = _cols(r, dpq)  # R_{t−1}ᵀ [dP, dQ, g]
            return (r, r_t, g_m, g_mt), gt[:, 0] + mt[:, 0]

        state = (m_t, m_t, jnp.zeros_like(m_t), jnp.zeros_like(m_t))
        _, gs = jax.lax.scan(backward, state, (vs + hs)[::-1])
        return jnp.sum(gs)

    def run(m_t, vs):
        if not chunk or chunk >= batch:
            return sequence(m_t, vs)
        split_m = m_t.reshape(batch // chunk, chunk, hidden, hidden)
        split_v = jnp.swapaxes(vs.reshape(steps, batch // chunk, chunk, hidden), 0, 1)
        return jnp.sum(jax.lax.map(lambda a: sequence(*a), (split_m, split_v)))

    m_t = jnp.broadcast_to(jnp.eye(hidden), (batch, hidden, hidden))
    vs = 0.01 * jax.random.normal(jax.random.key(0), (steps, batch, hidden))
    return jax.jit(run), (m_t, vs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", nargs=3, type=int, default=[128, 53, 50], metavar=("B", "T", "N"))
    parser.add_argument("--inputs", type=int, default=36)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json")
    args = parser.parse_args()
    batch, steps, hidden = args.shape
    chunk = cpu_batch_chunk(batch, hidden) if jax.default_backend() == "cpu" else None
    calls = {
        "gru train step": compile_step("gru", batch, steps, hidden, args.inputs)[1],
        "rum λ=1 train step": compile_step("rum λ=1", batch, steps, hidden, args.inputs)[1],
        f"passes only, chunks of {chunk or batch}": passes_only(batch, steps, hidden, chunk),
        f"passes only, chunks of {batch}": passes_only(batch, steps, hidden, None),
    }
    seconds = time_interleaved(calls, args.repeats)
    gru = seconds["gru train step"]
    rows = [
        {"B": batch, "T": steps, "N": hidden, "row": k, "ms": 1e3 * s, "x_gru": s / gru} for k, s in seconds.items()
    ]
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}")
    print("| B | T | N | row | ms | × Flax GRU train step |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['B']} | {r['T']} | {r['N']} | {r['row']} | {r['ms']:.1f} | {r['x_gru']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
