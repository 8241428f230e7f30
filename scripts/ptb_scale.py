"""Choose the size of the CPU-scale FS-RUM-2 vs FS-LSTM-2 comparison on character-level PTB (issue 14, part 3).

    python -m scripts.ptb_scale [--factors 0.1 0.15 0.2 0.25 0.3] [--budget-hours 2] [--min-epochs 10]

Both models keep everything of Table 5 (embedding 128, batch 128, BPTT 150, dropout, zoneout, layer norm,
Adam 0.002, clipping 1.0) and only their sizes shrink. For each factor f:
  FS-RUM-2:  fast LN-LSTMs round(700 f), slow RUM round(1000 f)            (the paper's 700/1000 times f)
  FS-LSTM-2: fast LN-LSTMs round(700 f), slow LN-LSTM widened from round(400 f) to the width whose parameter
             count is nearest FS-RUM-2's (within 5%).
The paper's own pair is 11.2M against 7.2M parameters, so one common factor on all four sizes cannot also keep
the counts within 5% of each other; we keep the counts equal (the fairer test of the paper's claim, since the
LSTM gets the extra capacity) and scale the fast cells, which both models share, by the common factor.

For each factor it builds both models, counts parameters, and times training steps on the real training
stream (steady state, compilation excluded) on this process's devices (run it under `taskset -c N` for one
core). The chosen factor is the largest at which both models train at least --min-epochs epochs (265 steps
each on the authors' stream) within the equal wall-time budget.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time

import jax
import numpy as np
from flax import nnx

import train
from configs import ptb_fslstm, ptb_fsrum
from configs.ptb_base import STEPS_PER_EPOCH
from scripts.paper_scale import stream_train_step
from training.huge_pages import reexec_with_huge_pages


def fs_configs(f: float, fslstm_slow: int | None = None):
    """The two configs at factor f (FS-LSTM-2's slow width as given, else round(400 f))."""
    rum, lstm = ptb_fsrum.get_config(), ptb_fslstm.get_config()
    rum.hidden = lstm.hidden = round(700 * f)
    rum.fs_rnn.slow_hidden = round(1000 * f)
    lstm.fs_rnn.slow_hidden = fslstm_slow or round(400 * f)
    return rum, lstm


@functools.cache
def ptb_task():
    """The PTB task both models share (same data, BPTT length and batch)."""
    return train.build_task(ptb_fsrum.get_config())


PTB_SHAPE = type("PTBShape", (), dict(stream=True, vocab_size=50))  # all a model needs of the task to be built


def count_params(c) -> int:
    model = nnx.eval_shape(lambda: train.build_model(c, PTB_SHAPE))  # shapes only, nothing initialised
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def matched_slow_width(f: float, target: int) -> tuple[int, int]:
    """FS-LSTM-2's slow width (and count) whose parameter count is nearest `target`. The count grows
    monotonically (quadratically) with the width, so a bisection over integers finds it."""
    lo, hi = round(400 * f), round(4000 * f)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_params(fs_configs(f, mid)[1]) < target:
            lo = mid
        else:
            hi = mid
    counts = {w: count_params(fs_configs(f, w)[1]) for w in (lo, hi)}
    width = min(counts, key=lambda w: abs(counts[w] - target))
    return width, counts[width]


def seconds_per_step(c, repeats: int) -> float:
    """Median wall time of one jitted training step (batch 128 × 150) after compilation."""
    task = ptb_task()
    step, state, rows = stream_train_step(c, task, train.build_model(c, task))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        state, metrics = step(state, task.batch_at(rows, i), jax.random.key(i))
        jax.block_until_ready(metrics["loss"])
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first call compiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.25, 0.3])
    parser.add_argument("--budget-hours", type=float, default=2.0)
    parser.add_argument("--min-epochs", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per model (after one compiling step)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    budget = args.budget_hours * 3600
    print(f"devices: {jax.device_count()} × {jax.devices()[0].device_kind}; budget {args.budget_hours:g} h each")
    rows, chosen = [], None
    for f in args.factors:
        rum, _ = fs_configs(f)
        rum_params = count_params(rum)
        slow, lstm_params = matched_slow_width(f, rum_params)
        _, lstm = fs_configs(f, slow)
        rum_s, lstm_s = seconds_per_step(rum, args.repeats), seconds_per_step(lstm, args.repeats)
        epochs = [budget / s / STEPS_PER_EPOCH for s in (rum_s, lstm_s)]
        row = dict(
            factor=f,
            fast=rum.hidden,
            fsrum_slow=rum.fs_rnn.slow_hidden,
            fslstm_slow=slow,
            fsrum_params=rum_params,
            fslstm_params=lstm_params,
            fsrum_s_per_step=rum_s,
            fslstm_s_per_step=lstm_s,
            fsrum_epochs=epochs[0],
            fslstm_epochs=epochs[1],
        )
        rows.append(row)
        print(
            f"f={f:<5g} fast {rum.hidden:4d} | FS-RUM-2 slow {rum.fs_rnn.slow_hidden:4d}: {rum_params:>9,} params, "
            f"{rum_s:5.2f} s/step, {epochs[0]:5.1f} epochs | FS-LSTM-2 slow {slow:4d}: {lstm_params:>9,} params "
            f"({100 * (lstm_params / rum_params - 1):+.1f}%), {lstm_s:5.2f} s/step, {epochs[1]:5.1f} epochs",
            flush=True,
        )
        if min(epochs) >= args.min_epochs:
            chosen = row
    if chosen:
        print(
            f"chosen: f = {chosen['factor']:g} (the largest with ≥ {args.min_epochs:g} epochs for both in "
            f"{args.budget_hours:g} h)"
        )
    else:
        print(f"no factor gives both models {args.min_epochs:g} epochs in {args.budget_hours:g} h")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(rows=rows, chosen=chosen, budget_hours=args.budget_hours, min_epochs=args.min_epochs), f, indent=2
            )


if __name__ == "__main__":
    reexec_with_huge_pages()  # 2 MiB pages as in train.py, whose step times this predicts
    main()
