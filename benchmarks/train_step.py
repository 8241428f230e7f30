"""Train-step time, compile time and memory of every cell at the paper's shapes, in one process.

    python -m benchmarks.train_step --suite recall copying          # a few minutes on 2 CPU cores
    python -m benchmarks.train_step --suite all --json out.json      # also PTB shapes and the N sweep

A train step is forward + backward + Adam update of a one-hot → recurrent layer → linear model with a
cross-entropy at every step, jitted, built as a Flax user builds it: Flax's GRU and LSTM as
``nnx.RNN(nnx.GRUCell / nnx.LSTMCell)``, the other cells through ``rumjax.RNN`` (RUM's whole-sequence
path), and RUM also through ``nnx.RNN`` (the step-by-step door a user takes without rumjax.RNN). Per row: median seconds per step over --repeats calls after
one warm-up, the cells of a shape timed in turns (so a busy spell slows all alike), compile seconds, and the compiled program's temporary memory (XLA's
memory_analysis: activations stored for the backward pass, the figure that grows with T). Each
row is also divided by Flax's own GRUCell at the same shape, measured in the same run: compare
ratios, not absolute times (this machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import time

import jax
import optax
from flax import nnx

import rumjax
from benchmarks.table import markdown_table, show
from benchmarks.timing import time_interleaved
from rumjax.cells import make_cell

# label: (cell, options, the layer that runs it); "gru" (nnx.RNN over Flax's GRUCell) is every row's reference
CELLS = {
    "gru": ("gru", {}, nnx.RNN),
    "lstm": ("lstm", {}, nnx.RNN),
    "rum λ=0": ("rum", {}, rumjax.RNN),
    "rum λ=0 η=1": ("rum", {"eta": 1.0}, rumjax.RNN),
    "rum λ=0 nnx.RNN": ("rum", {}, nnx.RNN),
    "rum λ=1": ("rum", {"lam": 1}, rumjax.RNN),  # the default: reversible, hand-written memory backward
    "rum λ=1 stored": ("rum", {"lam": 1, "reversible": False}, rumjax.RNN),  # autodiff through every stored R_t
    "rum λ=1 nnx.RNN": ("rum", {"lam": 1}, nnx.RNN),  # step by step: every R_t stored
    "goru": ("goru", {}, rumjax.RNN),
    "fast_weights": ("fast_weights", {}, rumjax.RNN),
    "ln_lstm": ("ln_lstm", {}, rumjax.RNN),
    "learned_memory": ("learned_memory", {}, rumjax.RNN),
    "ntm": ("ntm", {}, rumjax.RNN),
}

# suite -> list of (shape name, batch B, time T, hidden N, input size, cells)
SUITES = {
    "recall": [("recall T=50", 128, 53, 50, 36, list(CELLS))],
    "copying": [
        (
            "copying T=200",
            128,
            220,
            100,
            10,
            ["gru", "lstm", "rum λ=0", "rum λ=1", "rum λ=1 stored", "rum λ=1 nnx.RNN"],
        ),
        ("copying T=200", 128, 220, 250, 10, ["gru", "lstm", "rum λ=0", "rum λ=0 η=1", "rum λ=0 nnx.RNN"]),
    ],
    # seconds on a CPU: every door and cell once at toy sizes (tests/test_benchmarks.py runs it)
    "smoke": [("smoke", 4, 6, 8, 5, list(CELLS))],
    "ptb": [
        ("ptb", 128, 150, 1000, 128, ["gru", "lstm", "rum λ=0 η=1"]),
        ("ptb", 32, 150, 1000, 128, ["gru", "lstm", "rum λ=0 η=1"]),
    ],
    "sweep": [
        ("sweep", 32, 100, n, 32, ["gru", "lstm", "rum λ=0", "rum λ=1"] if n <= 256 else ["gru", "lstm", "rum λ=0"])
        for n in (64, 256, 1000, 2000)
    ],
}


class Model(nnx.Module):
    """one-hot tokens → `layer(cell)` → a linear readout at every step, as a user writes it."""

    def __init__(self, label: str, inputs: int, hidden: int, *, dtype=None, options=None):
        name, base, layer = CELLS[label]
        options = {**base, **(options or {})}
        self.inputs = inputs
        self.rnn = layer(make_cell(name, inputs, hidden, rngs=nnx.Rngs(0), dtype=dtype, **options), rngs=False)
        self.readout = nnx.Linear(hidden, 10, rngs=nnx.Rngs(1))

    def __call__(self, tokens):
        return self.readout(self.rnn(jax.nn.one_hot(tokens, self.inputs), rngs=nnx.Rngs(2)))


def batch(size: int, steps: int, inputs: int) -> tuple[jax.Array, jax.Array]:
    """The benchmark's fixed batch: random tokens (size, steps) < inputs and labels < 10."""
    tokens = jax.random.randint(jax.random.key(0), (size, steps), 0, inputs)
    labels = jax.random.randint(jax.random.key(1), (size, steps), 0, 10)
    return tokens, labels


def make_step(label: str, batch_size: int, steps: int, hidden: int, inputs: int, *, dtype=None, options=None, tx=None):
    """(step(params, opt) -> (params, opt, loss), (params, opt)): one train step of `Model(label)` on
    `batch`, with `tx` (default Adam, 1e-3)."""
    model = Model(label, inputs, hidden, dtype=dtype, options=options)
    graphdef, params = nnx.split(model, nnx.Param)
    tx = tx or optax.adam(1e-3)
    opt = tx.init(params)
    tokens, labels = batch(batch_size, steps, inputs)

    def step(params, opt):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(tokens)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt, loss

    return step, (params, opt)


def compile_step(label, batch, steps, hidden, inputs, **kw) -> tuple[dict, tuple]:
    """A row (compile seconds, compiled temporary memory) and the (compiled step, args) to time."""
    step, args = make_step(label, batch, steps, hidden, inputs, **kw)
    start = time.perf_counter()
    compiled = jax.jit(step).lower(*args).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    row = {
        "cell": label,
        "B": batch,
        "T": steps,
        "N": hidden,
        "compile_s": compile_s,
        "temp_mb": memory.temp_size_in_bytes / 2**20 if memory else None,
        **{k: str(v) for k, v in kw.items()},
    }
    return row, (compiled, args)


def run_suite(names, repeats, only=None) -> list[dict]:
    """Every shape's cells (those in `only`, where given) are compiled, then timed in turns
    (`time_interleaved`) beside Flax's GRU."""
    rows = []
    for suite in names:
        for shape, batch, steps, hidden, inputs, cells in SUITES[suite]:
            cells = ["gru", *(c for c in cells if c != "gru" and (only is None or c in only))]
            compiled = {label: compile_step(label, batch, steps, hidden, inputs) for label in cells}
            seconds = time_interleaved({label: call for label, (_, call) in compiled.items()}, repeats)
            for label, (row, _) in compiled.items():
                row.update(shape=shape, step_s=seconds[label], vs_flax_gru=seconds[label] / seconds["gru"])
                rows.append(row)
                print(
                    f"{shape:14s} B={batch:<4d} T={steps:<4d} N={hidden:<5d} {label:20s} "
                    f"{row['step_s'] * 1e3:9.1f} ms  x{row['vs_flax_gru']:.2f} GRU  "
                    f"compile {row['compile_s']:.1f}s  temp {row['temp_mb']:.1f} MB",
                    flush=True,
                )
    return rows


def markdown(rows) -> str:
    return markdown_table(
        [
            ("shape", lambda r: r["shape"]),
            *((k, lambda r, k=k: str(r[k])) for k in ("B", "T", "N")),
            ("cell", lambda r: r["cell"]),
            ("step ms", lambda r: f"{r['step_s'] * 1e3:.1f}"),
            ("× Flax GRU", lambda r: f"{r['vs_flax_gru']:.2f}"),
            ("compile s", lambda r: f"{r['compile_s']:.1f}"),
            ("temp MB", lambda r: f"{r['temp_mb']:.1f}"),
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", nargs="+", default=["recall", "copying"], choices=[*SUITES, "all"])
    parser.add_argument("--smoke", action="store_true", help="the smoke suite once: toy sizes, seconds on a CPU")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), help="only these cells of each shape (and GRU)")
    parser.add_argument("--json", help="write the rows to this JSON file")
    args = parser.parse_args()
    names = ["smoke"] if args.smoke else [s for s in SUITES if s != "smoke"] if "all" in args.suite else args.suite
    if args.smoke:
        args.repeats = 1
    print(f"device: {jax.devices()[0].device_kind}, jax {jax.__version__}, float32")
    rows = run_suite(names, args.repeats, args.cells)
    show(markdown(rows), rows, args.json)


if __name__ == "__main__":
    main()
