"""How many times one λ = 1 step reads and writes the (B, N, N) memory arrays, forward and backward, from
the compiled HLO.

    python -m benchmarks.memory_passes [--batch 128 --steps 53 --hidden 50]
    python -m benchmarks.memory_passes --kernels gru 'rum λ=0' 'rum λ=1'   # kernels per loop iteration

Compiles the gradient of a loss over a whole sequence (`rum_sequence`, λ = 1), once with the default
reversible backward and once with JAX's autodiff through the stored R_t, and prints, for each loop
of the compiled program (forward scan, backward scan), its top-level instructions that take or make
an array of (B, N, N) floats: each is one pass over such an array (XLA fuses everything inside an
instruction). Deterministic: no timing.

With --kernels, for whole train steps of `benchmarks.train_step` instead: how many kernels (top-level
instructions) each loop iteration runs, by the rank of what they make: at small N each costs a roughly
fixed overhead on CPU, so their count, not their arithmetic, sets the time of a step.
"""

from __future__ import annotations

import argparse
import re

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax import RUMCell
from rumjax.rum import rum_initial_carry
from rumjax.rum_sequence import rum_sequence


def compiled_text(batch, steps, hidden, reversible) -> str:
    cell = RUMCell(8, hidden, lam=1, rngs=nnx.Rngs(0))
    carry = rum_initial_carry((batch,), hidden, 1)
    xs = jax.ShapeDtypeStruct((batch, steps, 8), jnp.float32)

    def loss(params, xs):
        return jnp.sum(rum_sequence(params, carry, xs, lam=1, reversible=reversible)[1] ** 2)

    return jax.jit(jax.grad(loss)).lower(cell.params, xs).compile().as_text()


# instructions that move no data: they are not kernels
SKIP = ("parameter", "get-tuple-element", "tuple", "bitcast", "constant", "copy-start", "copy-done")


def loop_bodies(text: str):
    """(name, [(result, result shape, op, arguments)]) of each while-body computation of a compiled program."""
    bodies = set(re.findall(r"body=%?([\w.\-]+)", text))
    for match in re.finditer(r"^%?([\w.\-]+) [^\n]*\{\n(.*?)^\}", text, flags=re.M | re.S):
        if match.group(1) in bodies:
            lines = (
                re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = (\S+) ([\w\-]+)\((.*)", line)
                for line in match.group(2).splitlines()
            )
            yield match.group(1), [m.groups() for m in lines if m]


def loop_passes(text: str, batch: int, hidden: int) -> dict[str, tuple[int, int]]:
    """{while-body computation: (instructions reading a (B, N, N) array, instructions writing one)}; the
    compiled text names operands without shapes, so their shapes come from the instructions that made them."""
    shape = f"f32[{batch},{hidden},{hidden}]"
    out = {}
    for name, instructions in loop_bodies(text):
        shapes, reads, writes = {}, 0, 0
        for result, result_shape, op, args in instructions:
            shapes[result] = result_shape
            if op in SKIP:
                continue
            operands = re.findall(r"%([\w.\-]+)", args.split(")", 1)[0])
            reads += any(shapes.get(o, "").startswith(shape) for o in operands)
            writes += result_shape.startswith(shape)
        out[name] = (reads, writes)
    return out


def loop_kernels(text: str) -> dict[str, dict[str, int]]:
    """{while-body computation: {what: count}} of the kernels each loop iteration runs: its top-level
    instructions but those in SKIP, counted by the rank of their result (scalars per example are rank 1,
    vectors per example rank 2, memory arrays rank 3)."""
    out = {}
    for name, instructions in loop_bodies(text):
        counts: dict[str, int] = {}
        for _, result_shape, op, _ in instructions:
            dims = re.match(r"\w+\[([\d,]*)\]", result_shape)
            if op in SKIP or not dims:
                continue
            rank = len([d for d in dims.group(1).split(",") if d])
            key = "scalar" if rank == 0 else f"rank {rank}"
            counts[key] = counts.get(key, 0) + 1
        out[name] = counts
    return out


def train_step_kernels(cell: str, batch: int, steps: int, hidden: int, inputs: int) -> dict[str, dict[str, int]]:
    """`loop_kernels` of one `benchmarks.train_step` train step of `cell` (a label of its CELLS)."""
    from benchmarks.train_step import compile_step

    (compiled, _) = compile_step(cell, batch, steps, hidden, inputs)[1]
    return loop_kernels(compiled.as_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=53)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--inputs", type=int, default=36)
    parser.add_argument(
        "--kernels",
        nargs="*",
        metavar="CELL",
        help="instead, the kernels per loop iteration of these cells' train steps (labels of "
        "benchmarks.train_step, e.g. gru 'rum λ=0' 'rum λ=1'), counted by the rank of their result",
    )
    args = parser.parse_args()
    if args.kernels is not None:
        for cell in args.kernels or ["gru", "rum λ=0", "rum λ=1"]:
            loops = train_step_kernels(cell, args.batch, args.steps, args.hidden, args.inputs)
            for body, counts in sorted(loops.items()):
                if sum(counts.values()) > 2:  # loops with work, not a counter's
                    detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
                    print(f"{cell:10s} loop {body:45s} kernels: {sum(counts.values()):3d} ({detail})")
        return
    for reversible in (True, False):
        text = compiled_text(args.batch, args.steps, args.hidden, reversible)
        label = "reversible (default)" if reversible else "stored (autodiff)"
        for body, (reads, writes) in sorted(loop_passes(text, args.batch, args.hidden).items()):
            if reads or writes:
                print(f"{label:22s} loop {body:40s} instructions reading (B,N,N): {reads:2d}, writing: {writes:2d}")


if __name__ == "__main__":
    main()
