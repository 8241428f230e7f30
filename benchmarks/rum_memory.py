"""Memory of λ = 1 RUM backpropagation: storing every R_t against the reversible backward.

    python -m benchmarks.rum_memory [--batch 128 --steps 1000 --hidden 100]

Compiles (does not run) the gradient of a loss over a whole sequence and prints XLA's temporary
memory for each (memory_analysis().temp_size_in_bytes): deterministic, so no timing noise. The
issue's target: reversible at most one tenth of the stored version at B = 128, T = 1000, N = 100.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax import RUMCell
from rumjax.rum import rum_initial_carry
from rumjax.rum_sequence import rum_sequence


def temp_bytes(batch, steps, hidden, inputs, reversible) -> int:
    cell = RUMCell(inputs, hidden, lam=1, rngs=nnx.Rngs(0))
    carry = rum_initial_carry((batch,), hidden, 1)
    xs = jax.ShapeDtypeStruct((batch, steps, inputs), jnp.float32)

    def loss(params, xs):
        return jnp.sum(rum_sequence(params, carry, xs, lam=1, reversible=reversible)[1])

    compiled = jax.jit(jax.grad(loss)).lower(cell.params, xs).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--inputs", type=int, default=10)
    args = parser.parse_args()
    shape = (args.batch, args.steps, args.hidden, args.inputs)
    stored = temp_bytes(*shape, reversible=False)
    reversible = temp_bytes(*shape, reversible=True)
    every_r = args.batch * args.steps * args.hidden**2 * 4
    print(f"B={args.batch} T={args.steps} N={args.hidden}, float32, gradient of a loss over all h_t")
    print(f"  every R_t alone:        {every_r / 2**20:10.1f} MiB")
    print(f"  stored (plain scan):    {stored / 2**20:10.1f} MiB temporary")
    print(f"  reversible (custom VJP):{reversible / 2**20:10.1f} MiB temporary")
    print(f"  reversible / stored:    {reversible / stored:10.4f}")


if __name__ == "__main__":
    main()
