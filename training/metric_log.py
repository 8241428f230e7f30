"""Metrics of a run in its workdir: JSON lines (metrics.jsonl) and TensorBoard event files (tb/).

Each JSON line is ``{"step": int, "split": "train" | "test" | ..., "wall_time": seconds of
training so far, <metric>: float, ...}``. TensorBoard scalars are named ``<split>/<metric>``;
they are written with tensorboardX's event-file writer and protos, which need no TensorFlow.

Both files are written in the calling thread and flushed at each record, so a write that fails (a full
disk) raises there, where train.py reports it in one line. (tensorboardX's `SummaryWriter` writes from a
background thread: once that thread had died of a full disk, its bounded queue filled and the training
loop blocked in `add_scalar` for ever.)
"""

from __future__ import annotations

import gzip
import json
import os
import time

from tensorboardX.event_file_writer import EventsWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.proto.summary_pb2 import Summary

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
        self.path = os.path.join(workdir, METRICS_FILE)
        kept = [r for r in read_metrics(workdir) if r["step"] <= resume_step]
        with open(self.path + ".tmp", "w") as f:  # written aside, then renamed: a kill here loses nothing
            f.writelines(json.dumps(r) + "\n" for r in kept)
        os.replace(self.path + ".tmp", self.path)
        tb = os.path.join(workdir, "tb")
        os.makedirs(tb, exist_ok=True)
        # a new events file; its name ends in the time in ns, so a resume within the same second neither
        # overwrites the last file nor sorts before it (TensorBoard reads a folder's files in name order).
        # EventsWriter opens it with a file_version "brain.Event:2" event: TensorBoard purges on START only then.
        self._tb = EventsWriter(os.path.join(tb, "events"), f".{time.time_ns()}")
        if resume_step:  # TensorBoard hides the earlier files' events from this step on: the resumed ones replace them
            self._tb.write_event(Event(step=resume_step + 1, session_log=SessionLog(status=SessionLog.START)))
        self._tb.flush()

    def write(self, step: int, split: str, wall_time: float, metrics: dict) -> None:
        scalars = {key: float(v) for key, v in metrics.items()}
        record = {"step": int(step), "split": split, "wall_time": round(float(wall_time), 3), **scalars}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        values = [Summary.Value(tag=f"{split}/{key}", simple_value=v) for key, v in scalars.items()]
        self._tb.write_event(Event(wall_time=time.time(), step=int(step), summary=Summary(value=values)))
        self._tb.flush()

    def close(self) -> None:
        self._tb.close()
