"""The record of a run in progress: training metrics averaged per log window, steps/s, the progress bar,
metrics.jsonl and TensorBoard (training.metric_log), and the wall time of training across resumes. On several
processes only process 0 writes; every process fetches the metrics (so all stop alike on a NaN)."""

from __future__ import annotations

import math
import os
import sys
import time

import jax
import numpy as np

from training.metric_log import MetricLog
from training.steps import check_finite


class Progress:
    def __init__(self, c, workdir: str, start: int, wall_offset: float, learning_rate, reference: dict, stream: bool):
        from tqdm import tqdm

        self.c, self.workdir, self.reference, self.stream = c, workdir, reference, stream
        self.learning_rate = learning_rate
        self.primary = jax.process_index() == 0  # one writer: metrics, TensorBoard and the bar on process 0 only
        self.log = MetricLog(workdir, resume_step=start) if self.primary else None
        self.bar = tqdm(
            total=c.num_steps,
            initial=start,
            disable=not (c.progress and self.primary),
            dynamic_ncols=True,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            desc=os.path.basename(os.path.normpath(workdir)),
        )
        self.pending: list[tuple[int, dict]] = []
        self.wall_offset, self.t_start = wall_offset, time.perf_counter()
        self.window_start, self.window_steps = self.t_start, 0

    def wall(self) -> float:
        """Seconds of training so far, this process's and those of the runs it resumed."""
        return self.wall_offset + time.perf_counter() - self.t_start

    def out_of_time(self) -> bool:
        """The wall-time budget, if any, is spent."""
        return self.c.time_budget_s > 0 and self.wall() >= self.c.time_budget_s

    def step(self, step: int, metrics: dict) -> None:
        self.pending.append((step, metrics))
        self.window_steps += 1
        self.bar.update(1)

    def flush(self, step: int, last_saved: int | None) -> None:
        """Fetch the pending metrics, stop on a non-finite one, and log their mean at `step`."""
        if not self.pending:
            return
        fetched = jax.device_get([m for _, m in self.pending])
        for (s, _), m in zip(self.pending, fetched):
            check_finite(s, m, last_saved, self.workdir)
        now = time.perf_counter()
        mean = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
        mean["steps_per_sec"] = self.window_steps / max(now - self.window_start, 1e-9)
        mean["learning_rate"] = float(self.learning_rate(step - 1))
        mean.update(self.reference)
        if self.stream:
            mean["bpc"] = mean["loss"] / math.log(2)
        self.write(step, "train", mean)
        self.bar.set_postfix(
            loss=f"{mean['loss']:.4f}", acc=f"{mean['accuracy']:.3f}", sps=f"{mean['steps_per_sec']:.2f}", refresh=False
        )
        self.pending, self.window_start, self.window_steps = [], now, 0

    def write(self, step: int, split: str, metrics: dict) -> None:
        if self.log is not None:
            self.log.write(step, split, self.wall(), metrics)

    def say(self, line: str) -> None:
        if self.primary:
            self.bar.write(line)

    def close(self) -> None:
        self.bar.close()
        if self.log is not None:
            self.log.close()
