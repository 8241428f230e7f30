"""Metrics of a run in its workdir: JSON lines (metrics.jsonl) and TensorBoard event files (tb/).

Each JSON line is ``{"step": int, "split": "train" | "test" | ..., "wall_time": seconds of
training so far, <metric>: float, ...}``. TensorBoard scalars are named ``<split>/<metric>``;
they are written by tensorboardX, which needs no TensorFlow.
"""

from __future__ import annotations

import gzip
import json
import os

__all__ = ["MetricLog", "read_metrics"]

METRICS_FILE = "metrics.jsonl"


def read_metrics(workdir: str, split: str | None = None) -> list[dict]:
    """The records of metrics.jsonl (or of metrics.jsonl.gz, as archived records are kept), optionally of
    one split, in file order."""
    path = os.path.join(workdir, METRICS_FILE)
    if os.path.exists(path):
        f = open(path)
    elif os.path.exists(path + ".gz"):
        f = gzip.open(path + ".gz", "rt")
    else:
        return []
    with f:
        lines = [line for line in f if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not a JSON record: {line[:80]!r}") from None
            # the last line only: a write cut short (a full disk, a kill); the run rewrites it on resume
    return [r for r in records if split is None or r.get("split") == split]


class MetricLog:
    """Appends metrics to <workdir>/metrics.jsonl and TensorBoard; on resume, drops records past `resume_step`."""

    def __init__(self, workdir: str, resume_step: int = 0):
        from tensorboardX import SummaryWriter

        self.path = os.path.join(workdir, METRICS_FILE)
        kept = [r for r in read_metrics(workdir) if r["step"] <= resume_step]
        with open(self.path + ".tmp", "w") as f:  # written aside, then renamed: a kill here loses nothing
            f.writelines(json.dumps(r) + "\n" for r in kept)
        os.replace(self.path + ".tmp", self.path)
        self._tb = SummaryWriter(os.path.join(workdir, "tb"), purge_step=resume_step + 1 if resume_step else None)

    def write(self, step: int, split: str, wall_time: float, metrics: dict) -> None:
        record = {"step": int(step), "split": split, "wall_time": round(float(wall_time), 3)}
        record.update({k: float(v) for k, v in metrics.items()})
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        for key, value in metrics.items():
            self._tb.add_scalar(f"{split}/{key}", float(value), int(step))

    def close(self) -> None:
        self._tb.flush()
        self._tb.close()
