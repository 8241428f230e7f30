"""Build the paper-scale PTB models, count their parameters against the paper, and run one train step.

    python -m scripts.paper_scale [--configs ptb_fsrum ptb_rum ptb_2rum ptb_fslstm] [--no-step]

For each config: the parameter count beside the paper's (Table 3), then one training step on the
first batch of the real training stream (batch 128 × 150 characters; forward, backward and Adam,
through train.py's own `train_step`), with its loss and wall time including compilation.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import train
from training.huge_pages import reexec_with_huge_pages

PAPER = {"ptb_fsrum": 11.2e6, "ptb_rum": 8.9e6, "ptb_2rum": 16.4e6, "ptb_fslstm": 7.2e6}


def stream_train_step(c, task, model):
    """train.py's jitted `train_step` for a language model, its first state and the training rows:
    ``step(state, task.batch_at(rows, i), key) -> (state, metrics)``."""
    graphdef, params = nnx.split(model, nnx.Param)
    tx = train.build_optimizer(c)
    state = train.StreamState(jnp.zeros((), jnp.int32), params, tx.init(params), model.initial_carry(c.batch_size))
    rows = jnp.asarray(task.rows("train", c.batch_size))
    step = jax.jit(lambda s, b, k: train.train_step(graphdef, tx, task, s, b, k, c.loss_reduction))
    return step, state, rows


def one_step(c, task, model) -> float:
    step, state, rows = stream_train_step(c, task, model)
    state, metrics = step(state, task.batch_at(rows, 0), jax.random.key(0))
    return float(metrics["loss"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(PAPER), choices=list(PAPER))
    parser.add_argument("--no-step", action="store_true", help="count parameters only")
    parser.add_argument("--json", help="also write the rows here (scripts.report reads RUNS/paper_scale.json)")
    args = parser.parse_args()
    rows = []
    print(f"devices: {jax.device_count()} × {jax.devices()[0].device_kind}")
    for name in args.configs:
        c = importlib.import_module(f"configs.{name}").get_config()
        task = train.build_task(c)
        model = train.build_model(c, task)
        count = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
        row = {"config": name, "params": count, "paper_params": PAPER[name], "device": jax.devices()[0].device_kind}
        line = f"{name:11s} params {count / 1e6:6.2f}M (paper {PAPER[name] / 1e6:.1f}M)"
        if not args.no_step:
            start = time.perf_counter()
            row["loss"] = one_step(c, task, model)
            row["seconds"] = time.perf_counter() - start
            row["batch"], row["seq_len"] = c.batch_size, task.seq_len
            line += f"; one step (B={c.batch_size}, T={task.seq_len}): loss {row['loss']:.3f} nats, "
            line += f"{row['seconds']:.1f} s with compilation"
        rows.append(row)
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    reexec_with_huge_pages()  # 2 MiB pages as in train.py, whose step times this predicts
    main()
