"""training/metric_log.py: metrics.jsonl and TensorBoard's event files, as written, resumed and read back."""

import errno
import glob
import os
import struct
import subprocess
import threading

import pytest
from tensorboardX.proto.event_pb2 import Event, SessionLog

from tests.test_faults import _mount_tmpfs
from training.metric_log import MetricLog, read_metrics


def _events(path: str) -> list[Event]:
    """The events of one file, read by the TFRecord framing (length u64, its CRC, the bytes, their CRC)."""
    with open(path, "rb") as f:
        data = f.read()
    events, at = [], 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        events.append(Event.FromString(data[at + 12 : at + 12 + length]))
        at += 12 + length + 4
    assert at == len(data), f"{path}: a record cut short"
    return events


def _scalars(workdir) -> dict[tuple[str, int], float]:
    """What TensorBoard shows: every file's scalars by (tag, step), a SessionLog START at step s hiding the
    earlier files' events from step s on (TensorBoard's purge of a resumed run's orphaned data)."""
    shown: dict[tuple[str, int], float] = {}
    for path in sorted(glob.glob(os.path.join(workdir, "tb", "events.out.tfevents.*"))):  # TensorBoard's order
        for event in _events(path):
            if event.HasField("session_log") and event.session_log.status == SessionLog.START:
                shown = {key: v for key, v in shown.items() if key[1] < event.step}
            for value in event.summary.value:
                shown[(value.tag, event.step)] = value.simple_value
    return shown


def test_scalars_reach_tensorboard_and_a_resume_replaces_the_steps_after_its_checkpoint(tmp_path):
    log = MetricLog(str(tmp_path))
    for step in (1, 2, 3):
        log.write(step, "train", 0.1 * step, {"loss": 4.0 - step, "grad_norm": 0.5})
    log.write(3, "test", 0.4, {"accuracy": 0.25})
    log.close()
    shown = _scalars(tmp_path)
    assert shown[("train/loss", 2)] == 2.0 and shown[("test/accuracy", 3)] == 0.25
    assert len(shown) == 7
    log = MetricLog(str(tmp_path), resume_step=1)  # the run resumed from its checkpoint of step 1
    log.write(2, "train", 0.2, {"loss": 7.0, "grad_norm": 0.5})
    log.close()
    files = glob.glob(str(tmp_path / "tb" / "events.out.tfevents.*"))
    assert len(files) == 2  # the first file is kept
    for path in files:  # TensorBoard purges on a START only in files of version 2
        assert _events(path)[0].file_version == "brain.Event:2"
    shown = _scalars(tmp_path)
    assert shown == {("train/loss", 1): 3.0, ("train/grad_norm", 1): 0.5, ("train/loss", 2): 7.0,
                     ("train/grad_norm", 2): 0.5}  # fmt: skip
    assert [(r["step"], r.get("loss")) for r in read_metrics(str(tmp_path))] == [(1, 3.0), (2, 7.0)]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs: needs root (CI runs as root)")
def test_a_full_disk_under_tensorboard_raises_in_the_writing_thread_instead_of_blocking_it(tmp_path):
    """The disk of tb/ fills under a run (metrics.jsonl, elsewhere, still has room): `write` raises ENOSPC in
    the caller's thread within a few records. (With tensorboardX's queued writer, its thread died of the error
    and the caller blocked for ever once the queue was full: train.py never reported the fault.)"""
    tb = tmp_path / "tb"
    assert _mount_tmpfs(tb, "1m")
    outcome: list[BaseException | int] = []

    def fill_then_log():
        log = MetricLog(str(tmp_path))
        with open(tb / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        try:
            for step in range(1, 2001):
                log.write(step, "train", 0.0, {"loss": 1.0, "grad_norm": 2.0, "param_norm": 3.0})
            outcome.append(step)
        except OSError as err:
            outcome.append(err)

    try:
        writer = threading.Thread(target=fill_then_log, daemon=True)
        writer.start()
        writer.join(timeout=60)
        assert not writer.is_alive(), "MetricLog.write blocked on a full disk"
        assert len(outcome) == 1 and isinstance(outcome[0], OSError), outcome
        assert outcome[0].errno == errno.ENOSPC
    finally:
        subprocess.run(["umount", "-l", str(tb)], check=False)


def test_a_metrics_line_cut_short_by_a_full_disk_is_dropped_on_resume_and_a_bad_line_elsewhere_is_named(tmp_path):
    good = '{"step": 1, "split": "train", "wall_time": 0.1, "loss": 2.0}\n'
    (tmp_path / "metrics.jsonl").write_text(good + '{"step": 2, "split": "tr')
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [1]
    log = MetricLog(str(tmp_path), resume_step=1)  # rewrites the file without the torn line
    log.write(2, "train", 0.2, {"loss": 1.5})
    log.close()
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [1, 2]
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "spl\n' + good)
    with pytest.raises(ValueError, match=r"metrics.jsonl: line 1 is not a JSON record"):
        read_metrics(str(tmp_path))
