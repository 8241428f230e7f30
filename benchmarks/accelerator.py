"""One run on an accelerator: its numerics against the CPU float64 reference, and its speed and memory.

    python -m benchmarks.accelerator --json accelerator.json           # a few minutes on one GPU
    python -m benchmarks.accelerator --smoke --json smoke.json         # toy sizes, seconds on a CPU (tested)
    python -m benchmarks.accelerator --data-dir DIR                    # PTB from DIR (else a synthetic stream)

Sections, each printed as a table and written to --json:

1. numerics: on the default device in float32, at XLA's default matmul precision (TF32 on recent
   NVIDIA GPUs) and at "highest", against the same function in float64 on the CPU: the rotation
   R(a, b)·h (eq. 1, `rumjax.rotate`, against the dense `rotation_matrix` in float64), and RUM
   λ = 0 and λ = 1 over a sequence through `RUMCell.sequence` — the outputs h_t and the gradients of
   Σ_t w·h_t with respect to every parameter (the float64 reference backpropagates through every
   stored R_t; the device runs the reversible λ = 1 backward). Error: max |device − reference| /
   max |reference|. At "highest" it must stay below 1e-4; the script exits 1 if it does not.
2. train_step: `benchmarks.train_step`'s suites (every cell through the door a Flax user takes, at the
   paper's shapes, beside `nnx.RNN(nnx.GRUCell)`).
3. options: RUM with its input projections hoisted out of the scan or not (`hoist_inputs`; the cell's
   default is "not" on CPU only), and with bfloat16 compute, beside Flax's GRU in float32.
4. reversible_memory: λ = 1's compiled temporary memory at B 128, T 1000, N 100, every R_t stored
   against the reversible backward (`benchmarks.rum_memory`).
5. fs_rum2_ptb: the paper-scale FS-RUM-2 (`configs/ptb_fsrum.py`, batch 128 × 150) train step through
   train.py's own `train_step`, and the projected wall time of its 360 epochs (step time × the
   config's num_steps; evaluation not counted). On PTB from --data-dir (or $RUMJAX_DATA/ptb) where
   given, else on a synthetic 50-character stream: a step's time does not depend on the text.

No option here is CPU-only: the cell's CPU choices (per-step input projections, batch chunks sized for
a CPU's cache) switch on `jax.default_backend() == "cpu"`, so on a GPU or TPU they are off.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import rumjax
from benchmarks import rum_memory, train_step
from benchmarks.timing import time_interleaved
from rumjax.rum_sequence import rum_sequence

TOLERANCE = 1e-4  # max relative error at "highest" precision for float32 against float64


def relative_error(device, reference) -> float:
    """max |device − reference| / max |reference| over every leaf."""
    pairs = zip(jax.tree.leaves(device), jax.tree.leaves(reference), strict=True)
    err = max(float(np.max(np.abs(np.asarray(d, np.float64) - np.asarray(r)))) for d, r in pairs)
    scale = max(float(np.max(np.abs(np.asarray(r)))) for r in jax.tree.leaves(reference))
    return err / max(scale, 1e-30)


def _on_cpu_float64(fn, *args):
    """fn(*args) in float64 on the CPU: the reference."""
    cpu = jax.devices("cpu")[0]
    with jax.enable_x64(True), jax.default_device(cpu):
        args64 = jax.tree.map(lambda x: jax.device_put(np.asarray(x, np.float64), cpu), args)
        return jax.tree.map(np.asarray, fn(*args64))


def numerics(batch: int, steps: int, hidden: int, inputs: int) -> list[dict]:
    """Section 1: rotation and RUM λ = 0 / 1 outputs and gradients on the device against float64 on the CPU."""
    rng = np.random.default_rng(0)
    a, b, h = (rng.standard_normal((batch, hidden)).astype(np.float32) for _ in range(3))
    xs = rng.standard_normal((batch, steps, inputs)).astype(np.float32)
    w = rng.standard_normal((batch, steps, hidden)).astype(np.float32)
    rotation_ref = _on_cpu_float64(lambda a, b, h: jnp.einsum("bij,bj->bi", rumjax.rotation_matrix(a, b), h), a, b, h)
    cases = {"rotation R(a, b)·h": (jax.jit(rumjax.rotate), (a, b, h), rotation_ref)}
    for lam in (0, 1):
        cell = rumjax.RUMCell(inputs, hidden, lam=lam, rngs=nnx.Rngs(0))
        graphdef, params, rest = nnx.split(cell, nnx.Param, ...)
        carry = rumjax.rum_initial_carry((batch,), hidden, lam)

        def through_the_cell(params, xs, w, graphdef=graphdef, rest=rest, carry=carry):
            """The device's outputs and gradients, through `RUMCell.sequence` as a user runs it."""

            def loss(params):
                hs = nnx.merge(graphdef, params, rest).sequence(carry, xs)[1]
                return jnp.sum(w * hs), hs

            (_, hs), grads = jax.value_and_grad(loss, has_aux=True)(params)
            return hs, nnx.to_pure_dict(grads)

        def stored(params, xs, w, lam=lam):
            """The reference: the pure function, autodiff through every stored R_t."""
            carry64 = rumjax.rum_initial_carry((xs.shape[0],), hidden, lam, xs.dtype)

            def loss(p):
                hs = rum_sequence(rumjax.RUMParams(**p), carry64, xs, lam=lam, reversible=False)[1]
                return jnp.sum(w * hs), hs

            (_, hs), grads = jax.value_and_grad(loss, has_aux=True)(params)
            return hs, grads

        pure = nnx.to_pure_dict(params)
        ref_hs, ref_grads = _on_cpu_float64(stored, pure, xs, w)
        fn = jax.jit(through_the_cell)
        cases[f"RUM λ={lam} outputs h_t"] = (lambda p, x, w, fn=fn: fn(p, x, w)[0], (params, xs, w), ref_hs)
        cases[f"RUM λ={lam} gradients"] = (lambda p, x, w, fn=fn: fn(p, x, w)[1], (params, xs, w), ref_grads)
    rows = []
    for precision in ("default", "highest"):
        with jax.default_matmul_precision(precision):
            for name, (fn, args, reference) in cases.items():
                error = relative_error(jax.device_get(fn(*args)), reference)
                ok = error <= TOLERANCE or precision == "default"
                rows.append({"check": name, "precision": precision, "relative_error": error, "ok": ok})
    return rows


def options(batch: int, steps: int, hidden: int, inputs: int, repeats: int) -> list[dict]:
    """Section 3: hoisted input projections on and off, and bfloat16 compute, beside Flax's GRU."""
    variants = {
        "gru": ("gru", {}, {}),
        "rum λ=0 hoisted": ("rum λ=0", {"hoist_inputs": True}, {}),
        "rum λ=0 per-step inputs": ("rum λ=0", {"hoist_inputs": False}, {}),
        "rum λ=0 bfloat16": ("rum λ=0", {}, {"dtype": jnp.bfloat16}),
        "rum λ=1 hoisted": ("rum λ=1", {"hoist_inputs": True}, {}),
        "rum λ=1 per-step inputs": ("rum λ=1", {"hoist_inputs": False}, {}),
        "rum λ=1 bfloat16": ("rum λ=1", {}, {"dtype": jnp.bfloat16}),
    }
    compiled = {}
    for name, (label, extra, kw) in variants.items():
        row, call = train_step.compile_step(label, batch, steps, hidden, inputs, options=extra, **kw)
        compiled[name] = ({**row, "cell": name}, call)
    seconds = time_interleaved({name: call for name, (_, call) in compiled.items()}, repeats)
    rows = []
    for name, (row, _) in compiled.items():
        row.update(step_s=seconds[name], vs_flax_gru=seconds[name] / seconds["gru"])
        rows.append(row)
    return rows


def reversible_memory(batch: int, steps: int, hidden: int, inputs: int) -> dict:
    """Section 4: λ = 1's compiled temporary memory, every R_t stored against the reversible backward."""
    stored = rum_memory.temp_bytes(batch, steps, hidden, inputs, reversible=False)
    reversible = rum_memory.temp_bytes(batch, steps, hidden, inputs, reversible=True)
    return {
        "B": batch,
        "T": steps,
        "N": hidden,
        "stored_mib": stored / 2**20,
        "reversible_mib": reversible / 2**20,
        "ratio": reversible / stored,
    }


def _synthetic_ptb(folder: str, characters: int) -> None:
    """PTB-shaped word files of random text over 48 letters (with the space and newline: 50 characters)."""
    letters = string.ascii_letters[:48]
    rnd = random.Random(0)
    for split in ("train", "valid", "test"):
        text = "".join(rnd.choice(letters) if i % 60 else "\n" for i in range(1, characters))
        with open(os.path.join(folder, f"ptb.{split}.txt"), "w") as f:
            f.write(" " + text.replace("\n", " \n ") + " \n")


def fs_rum2_ptb(smoke: bool, data_dir: str | None, repeats: int) -> dict:
    """Section 5: one paper-scale FS-RUM-2 train step and the projected wall time of the config's training."""
    import train
    from configs import ptb_fsrum
    from scripts.paper_scale import stream_train_step

    c = ptb_fsrum.get_config("cpu" if smoke else None)
    with tempfile.TemporaryDirectory() as tmp:
        source = "real"
        if data_dir is None:
            _synthetic_ptb(tmp, 4 * c.batch_size * (c.task_options.seq_len + 1))
            c.task_options.data_dir, source = tmp, "synthetic"
        else:
            c.task_options.data_dir = data_dir
        c.task_options.download = c.task_options.check = False
        task = train.build_task(c)
        step, state, rows = stream_train_step(c, task, train.build_model(c, task))
        times = []
        for i in range(repeats + 1):  # the first call compiles
            start = time.perf_counter()
            state, metrics = step(
                state, task.batch_at(rows, i % task.num_batches("train", c.batch_size)), jax.random.key(i)
            )
            jax.block_until_ready(metrics["loss"])
            times.append(time.perf_counter() - start)
    step_s = statistics.median(times[1:])
    return {
        "config": "ptb_fsrum" + (":cpu" if smoke else ""),
        "data": source,
        "B": c.batch_size,
        "T": c.task_options.seq_len,
        "compile_and_first_step_s": times[0],
        "step_s": step_s,
        "num_steps": c.num_steps,
        "projected_hours": step_s * c.num_steps / 3600,
        "loss": float(metrics["loss"]),
    }


SHAPES = {  # (numerics B T N X, options B T N X, memory B T N X, train_step suites, repeats)
    "full": ((16, 40, 64, 10), (128, 220, 100, 10), (128, 1000, 100, 10), ["recall", "copying", "ptb"], 9),
    "smoke": ((2, 5, 6, 3), (4, 6, 8, 5), (2, 20, 8, 3), ["smoke"], 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="toy sizes, every section once: seconds on a CPU")
    parser.add_argument("--json", help="write every section's rows to this JSON file")
    parser.add_argument("--data-dir", help="PTB's folder for the FS-RUM-2 step (default $RUMJAX_DATA/ptb if set)")
    args = parser.parse_args()
    numeric_shape, option_shape, memory_shape, suites, repeats = SHAPES["smoke" if args.smoke else "full"]
    data_dir = args.data_dir or (
        os.path.join(os.environ["RUMJAX_DATA"], "ptb") if "RUMJAX_DATA" in os.environ else None
    )
    device = jax.devices()[0]
    out: dict = {"device": device.device_kind, "platform": device.platform, "jax": jax.__version__}
    print(f"device: {device.device_kind} ({device.platform}), {jax.device_count()} device(s), jax {jax.__version__}")
    start = time.perf_counter()

    out["numerics"] = numerics(*numeric_shape)
    print("\n1. numerics against float64 on the CPU (max |error| / max |reference|)")
    for r in out["numerics"]:
        print(f"  {r['check']:24s} {r['precision']:8s} {r['relative_error']:.2e}  {'ok' if r['ok'] else 'FAIL'}")

    print("\n2. train steps beside nnx.RNN(nnx.GRUCell)", flush=True)
    out["train_step"] = train_step.run_suite(suites, repeats)

    out["options"] = options(*option_shape, repeats)
    print(f"\n3. RUM options at B={option_shape[0]} T={option_shape[1]} N={option_shape[2]}")
    for r in out["options"]:
        print(f"  {r['cell']:24s} {r['step_s'] * 1e3:9.2f} ms  x{r['vs_flax_gru']:.2f} GRU  temp {r['temp_mb']:.1f} MB")

    m = out["reversible_memory"] = reversible_memory(*memory_shape)
    print(
        f"\n4. λ = 1 temporary memory at B={m['B']} T={m['T']} N={m['N']}: stored {m['stored_mib']:.1f} MiB, "
        f"reversible {m['reversible_mib']:.1f} MiB ({m['ratio']:.4f})"
    )

    p = out["fs_rum2_ptb"] = fs_rum2_ptb(args.smoke, data_dir, 3 if args.smoke else 10)
    print(
        f"\n5. FS-RUM-2 ({p['config']}, {p['data']} PTB stream) B={p['B']} T={p['T']}: {p['step_s'] * 1e3:.1f} ms "
        f"per step (first call {p['compile_and_first_step_s']:.1f} s); {p['num_steps']} steps ≈ "
        f"{p['projected_hours']:.2f} h of training"
    )

    out["wall_s"] = time.perf_counter() - start
    print(f"\n{out['wall_s']:.0f} s in all")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    failed = [f"{r['check']} ({r['relative_error']:.2e})" for r in out["numerics"] if not r["ok"]]
    if failed:
        raise SystemExit(
            f"accelerator: float32 at 'highest' precision is off the float64 reference by more than "
            f"{TOLERANCE}: {', '.join(failed)}"
        )


if __name__ == "__main__":
    main()
