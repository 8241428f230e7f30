"""Test BPC of a language-model run as the authors report it: the best-on-validation weights over the whole
test stream at batch 1 (paper §4.4), the state carried from segment to segment.

    python -m scripts.evaluate --workdir /tmp/ptb_fsrum [--batch_size 1] [--split test]

Prints one JSON line: split, batch size, the checkpoint used, loss (nats per character) and bpc.
Runs configured with ``final_test_batch_size`` do the same when they finish (split "final_test" in
metrics.jsonl); this command evaluates any workdir, finished or not.
"""

from __future__ import annotations

import argparse
import json
import math

import jax
from flax import nnx

import train
from scripts.sample import load
from tasks.metrics import means


def evaluate(workdir: str, split: str = "test", batch_size: int = 1) -> dict:
    config, task, model, which = load(workdir)
    graphdef, params = nnx.split(model, nnx.Param)
    sums = jax.device_get(train.stream_metrics(graphdef, task, params, split, batch_size))
    metrics = {k: float(v) for k, v in means(sums).items()}
    return {
        "workdir": workdir,
        "split": split,
        "batch_size": batch_size,
        "checkpoint": which,
        "loss": metrics["loss"],
        "bpc": metrics["loss"] / math.log(2),
        "characters": float(sums["count"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--split", default="test", choices=("valid", "test"))
    parser.add_argument("--batch_size", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(evaluate(args.workdir, args.split, args.batch_size)))


if __name__ == "__main__":
    main()
