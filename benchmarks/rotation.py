"""Fused rotation kernels against their dense forms, in one process.

    python -m benchmarks.rotation [--sizes 64 256 1000] [--batch 128] [--repeats 5]

Prints, per N: rotate(a, b, h) vs rotation_matrix(a, b) @ h, and compose(M, a, b) vs
M @ rotation_matrix(a, b) (the dense product), as median ms per call (jitted, float32)
and their ratio, beside the time of one elementwise pass over M (the floor of any
out-of-place update of M); then the orthogonality drift of λ = 1 memory over 1000 float32 steps.
Timings are ratios measured in one run; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp

from benchmarks.timing import time_call
from rumjax import compose, rotate, rotation_matrix


def bench(n: int, batch: int, repeats: int) -> dict:
    ka, kb, kh, km = jax.random.split(jax.random.key(n), 4)
    a = jax.random.normal(ka, (batch, n))
    b = jax.random.normal(kb, (batch, n))
    h = jax.random.normal(kh, (batch, n))
    m = jax.random.normal(km, (batch, n, n))
    fused_rotate = jax.jit(rotate)
    dense_rotate = jax.jit(lambda a, b, h: jnp.einsum("bij,bj->bi", rotation_matrix(a, b), h))
    fused_compose = jax.jit(compose)
    dense_compose = jax.jit(lambda m, a, b: m @ rotation_matrix(a, b))
    row = {"N": n, "batch": batch}
    row["rotate_ms"], _ = time_call(fused_rotate, a, b, h, repeats=repeats)
    row["dense_rotate_ms"], _ = time_call(dense_rotate, a, b, h, repeats=repeats)
    row["compose_ms"], _ = time_call(fused_compose, m, a, b, repeats=repeats)
    row["dense_compose_ms"], _ = time_call(dense_compose, m, a, b, repeats=repeats)
    # the floor of any out-of-place update of M: one elementwise pass (read M, write a new M)
    row["one_pass_ms"], _ = time_call(jax.jit(lambda m: m * 2.0), m, repeats=repeats)
    for key in ("rotate_ms", "dense_rotate_ms", "compose_ms", "dense_compose_ms", "one_pass_ms"):
        row[key] *= 1e3
    row["rotate_speedup"] = row["dense_rotate_ms"] / row["rotate_ms"]
    row["compose_speedup"] = row["dense_compose_ms"] / row["compose_ms"]
    return row


def orthogonality_drift(n: int = 100, steps: int = 1000, batch: int = 8) -> float:
    """max_b ‖R_T R_Tᵀ − I‖_F after T float32 compose steps from R_0 = I with random planes."""
    keys = jax.random.split(jax.random.key(0), steps)

    def body(m, key):
        a, b = jax.random.normal(key, (2, batch, n))
        return compose(m, a, b), None

    m0 = jnp.broadcast_to(jnp.eye(n), (batch, n, n))
    m, _ = jax.lax.scan(body, m0, keys)
    err = m @ jnp.swapaxes(m, -1, -2) - jnp.eye(n)[None]
    return float(jnp.max(jnp.linalg.norm(err, axis=(-2, -1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1000])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    rows = [bench(n, args.batch, args.repeats) for n in args.sizes]
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}, float32, batch {args.batch}")
    print("| N | rotate ms | dense R@h ms | speed-up | compose ms | dense M@R ms | speed-up | one pass over M ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['N']} | {r['rotate_ms']:.3f} | {r['dense_rotate_ms']:.3f} | {r['rotate_speedup']:.0f}x "
            f"| {r['compose_ms']:.3f} | {r['dense_compose_ms']:.3f} | {r['compose_speedup']:.0f}x "
            f"| {r['one_pass_ms']:.3f} |"
        )
    drift = orthogonality_drift()
    print(f"lambda=1 memory, N=100, 1000 float32 compose steps: max ||R R^T - I||_F = {drift:.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "orthogonality_drift_n100_t1000": drift}, f, indent=2)


if __name__ == "__main__":
    main()
