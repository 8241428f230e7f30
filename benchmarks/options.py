"""RUM's speed and memory options, each against the default, timed in turns in one process.

    python -m benchmarks.options                       # copying shape: B 128, T 220, N 250
    python -m benchmarks.options --shape 32 150 1000   # B T N, e.g. PTB-like
    python -m benchmarks.options --lam 1 --shape 128 53 50 --inputs 36    # λ = 1 at recall, with batch chunks

Per row: median seconds of the gradient of a loss over the whole sequence (forward + backward),
compile seconds and the compiled temporary memory, for

    default      `rum_sequence` as `RUMCell` runs it on CPU: x_t projected inside each step
    hoisted      the input projections of every t as one matmul before the scan
    unroll=k     the scan unrolled k steps
    remat        `jax.checkpoint` on each step: only the carries are stored for the backward pass
    bfloat16     matrix products in bfloat16, the state (and the rotation) in float32
    chunks of k  (λ = 1) the reversible backward over k examples at a time (`batch_chunk`); the default
                 takes `cpu_batch_chunk`, sized for this CPU's L2 cache

With --lam 1 every variant runs the reversible backward, as `RUMCell(lam=1)` does.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
from flax import nnx

from benchmarks.table import markdown_table, show
from benchmarks.timing import time_interleaved
from rumjax import RUMCell
from rumjax.rum import rum_initial_carry
from rumjax.rum_sequence import cpu_batch_chunk, rum_sequence


def variants(lam: int, eta, batch: int, hidden: int) -> dict:
    base = dict(lam=lam, eta=eta, hoist_inputs=False)  # RUMCell's default on CPU
    if lam == 1:  # and the reversible backward over the batch chunks sized for this CPU's cache
        base.update(reversible=True, batch_chunk=cpu_batch_chunk(batch, hidden))
    chunks = {
        f"batch chunks of {k or batch}": lambda p, c, x, k=k: rum_sequence(p, c, x, **{**base, "batch_chunk": k})
        for k in (None, 4, 8, 16, 32, 64)
        if lam == 1 and (k is None or (k < batch and batch % k == 0))
    }
    return {
        "default (inputs projected per step)": lambda p, c, x: rum_sequence(p, c, x, **base),
        "hoisted input projections": lambda p, c, x: rum_sequence(p, c, x, **{**base, "hoist_inputs": True}),
        "unroll=4": lambda p, c, x: rum_sequence(p, c, x, unroll=4, **base),
        "unroll=8": lambda p, c, x: rum_sequence(p, c, x, unroll=8, **base),
        "remat": lambda p, c, x: rum_sequence(p, c, x, remat=True, **base),
        "bfloat16 compute": lambda p, c, x: rum_sequence(p, c, x, dtype=jnp.bfloat16, **base),
        **chunks,
    }


def run(batch: int, steps: int, hidden: int, inputs: int, lam: int, eta, repeats: int) -> list[dict]:
    cell = RUMCell(inputs, hidden, lam=lam, eta=eta, rngs=nnx.Rngs(0))
    carry = rum_initial_carry((batch,), hidden, lam)
    xs = jax.random.normal(jax.random.key(1), (batch, steps, inputs))
    calls, rows = {}, {}
    for name, forward in variants(lam, eta, batch, hidden).items():

        def loss(params, forward=forward):
            return jnp.mean(forward(params, carry, xs)[1] ** 2)

        start = time.perf_counter()
        compiled = jax.jit(jax.grad(loss)).lower(cell.params).compile()
        memory = compiled.memory_analysis()
        rows[name] = {
            "variant": name,
            "B": batch,
            "T": steps,
            "N": hidden,
            "lam": lam,
            "compile_s": time.perf_counter() - start,
            "temp_mb": memory.temp_size_in_bytes / 2**20 if memory else None,
        }
        calls[name] = (compiled, (cell.params,))
    seconds = time_interleaved(calls, repeats)
    for name, row in rows.items():
        row.update(step_s=seconds[name], vs_default=seconds[name] / seconds[next(iter(seconds))])
    return list(rows.values())


def markdown(rows) -> str:
    return markdown_table(
        [
            *((k, lambda r, k=k: str(r[k])) for k in ("B", "T", "N")),
            ("λ", lambda r: str(r["lam"])),
            ("variant", lambda r: r["variant"]),
            ("fwd+bwd ms", lambda r: f"{r['step_s'] * 1e3:.1f}"),
            ("× default", lambda r: f"{r['vs_default']:.2f}"),
            ("compile s", lambda r: f"{r['compile_s']:.1f}"),
            ("temp MB", lambda r: f"{r['temp_mb']:.1f}"),
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", nargs=3, type=int, default=[128, 220, 250], metavar=("B", "T", "N"))
    parser.add_argument("--inputs", type=int, default=10)
    parser.add_argument("--lam", type=int, default=0)
    parser.add_argument("--eta", type=float, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}")
    rows = run(*args.shape, args.inputs, args.lam, args.eta, args.repeats)
    show(markdown(rows), rows, args.json)


if __name__ == "__main__":
    main()
