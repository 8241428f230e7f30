"""Runs that survive faults: SIGTERM, damaged checkpoints, a second writer, several processes, data as arguments."""

import glob
import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from flax import nnx

import train
from scripts import fault_injection
from tests.test_train import tiny_config, train_losses
from training.checkpoints import NoIntactCheckpoint, last_checkpoint
from training.metric_log import read_metrics
from training.workdir_lock import WorkdirLock, WorkdirLocked

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _truncate_checkpoint(workdir, step):
    for path in glob.glob(os.path.join(workdir, "checkpoints", str(step), "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)


@pytest.mark.slow
def test_a_truncated_latest_checkpoint_is_moved_aside_and_the_previous_one_resumes(tmp_path, capsys):
    ref, run = str(tmp_path / "ref"), str(tmp_path / "run")
    train.train_and_evaluate(tiny_config(num_steps=20, checkpoint_every=5), ref)
    train.train_and_evaluate(tiny_config(num_steps=15, checkpoint_every=5), run)
    _truncate_checkpoint(run, 15)
    train.train_and_evaluate(tiny_config(num_steps=20, checkpoint_every=5), run)
    out = capsys.readouterr().out
    assert "checkpoint 15" in out and "cannot be read" in out and "checkpoints_unreadable" in out
    assert len(os.listdir(os.path.join(run, "checkpoints_unreadable"))) == 1  # moved, not deleted
    assert train_losses(run) == pytest.approx(train_losses(ref), rel=1e-6)  # resumed from step 10
    assert [r["step"] for r in read_metrics(run, "train")] == list(range(1, 21))


@pytest.mark.slow
def test_a_workdir_whose_checkpoints_are_all_damaged_gives_one_clear_error(tmp_path):
    run = str(tmp_path / "run")
    train.train_and_evaluate(tiny_config(num_steps=10, checkpoint_every=5), run)
    for step in (5, 10):
        _truncate_checkpoint(run, step)
    with pytest.raises(NoIntactCheckpoint, match=f"{run}: no checkpoint can be read.*checkpoint 10.*checkpoint 5"):
        train.train_and_evaluate(tiny_config(num_steps=20, checkpoint_every=5), run)


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_stale_lock_does_not_block(tmp_path):
    run = str(tmp_path / "run")
    with WorkdirLock(run):
        with pytest.raises(WorkdirLocked, match=f"{run} is in use by a live run \\(pid {os.getpid()}"):
            train.train_and_evaluate(tiny_config(num_steps=2), run)
    # the file a killed run leaves behind holds no lock
    with open(os.path.join(run, ".lock"), "w") as f:
        f.write("pid 999999 on a-host-that-died\n")
    assert np.isfinite(train.train_and_evaluate(tiny_config(num_steps=2), run)["loss"])


def test_the_compiled_step_does_not_grow_with_the_data(tmp_path):
    from configs import ptb_rum
    from tests.test_data import _write_tiny_ptb

    sizes = []
    for repeat in (1, 10):
        root = tmp_path / f"data{repeat}"
        _write_tiny_ptb(root)
        for name in ("ptb.{}.txt", "ptb.char.{}.txt"):  # a corpus `repeat` times longer
            for split in ("train", "valid", "test"):
                text = (root / name.format(split)).read_text()
                (root / name.format(split)).write_text(text * repeat)
        c = ptb_rum.get_config("cpu")
        c.task_options.data_dir, c.task_options.check, c.task_options.download = str(root), False, False
        c.task_options.seq_len, c.hidden, c.embed_dim, c.batch_size, c.num_devices = 20, 8, 4, 4, 1
        task = train.build_task(c)
        model = train.build_model(c, task)
        graphdef, params = nnx.split(model, nnx.Param)
        tx, mesh = train.build_optimizer(c), train.make_mesh(c)
        state = train.StreamState(
            jax.numpy.zeros((), jax.numpy.int32), params, tx.init(params), model.initial_carry(c.batch_size)
        )
        step_fn, data, _ = train.make_train_step(c, graphdef, tx, task, mesh)
        sizes.append((data.size, len(step_fn.lower(state, data).as_text())))
    (small_data, small_text), (big_data, big_text) = sizes
    assert big_data > 9 * small_data
    assert abs(big_text - small_text) < 0.01 * small_text  # the rows are an argument, not a constant


def _command(workdir, steps, extra=()):
    return [
        sys.executable,
        "train.py",
        "--config=configs/copying.py:cpu",
        f"--workdir={workdir}",
        "--config.task_options.delay=5",
        "--config.hidden=16",
        "--config.batch_size=16",
        f"--config.num_steps={steps}",
        "--config.log_every=1",
        "--config.eval_every=1000",
        "--config.checkpoint_every=1000",
        "--config.eval_size=32",
        "--config.eval_batch_size=16",
        "--config.progress=False",
        *extra,
    ]


@pytest.mark.slow
def test_sigterm_saves_the_step_it_stopped_at_and_resumes_the_same_losses(tmp_path):
    run, ref = str(tmp_path / "run"), str(tmp_path / "ref")
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    proc = subprocess.Popen(
        _command(run, 100_000, ["--config.num_devices=1"]),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 240
    while len(read_metrics(run, "train")) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    (line,) = [x for x in out.splitlines() if x.startswith("Stopped by SIGTERM")]
    stopped = int(line.split("after step ")[1].split(";")[0])
    assert stopped >= 5 and os.path.isdir(os.path.join(run, "checkpoints", str(stopped)))
    assert "Resume with the same command" in line
    steps = stopped + 5
    for workdir in (run, ref):
        subprocess.run(
            _command(workdir, steps, ["--config.num_devices=1"]),
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    assert train_losses(run) == pytest.approx(train_losses(ref), rel=1e-6)
    assert [r["step"] for r in read_metrics(run, "train")] == list(range(1, steps + 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(workdir, steps, extra=()):
    """train.py as processes 0 and 1 of two on localhost (2 CPU devices each), on a fresh port."""
    port = _free_port()
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    layout = [f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2"]
    return [
        subprocess.Popen(
            _command(workdir, steps, [*extra, *layout, f"--process_id={i}"]),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (0, 1)
    ]


@pytest.mark.slow
@pytest.mark.xdist_group("processes")  # one at a time: each runs two processes and binds a port
def test_two_processes_train_as_one_process_with_four_devices(tmp_path):
    two, one = str(tmp_path / "two"), str(tmp_path / "one")
    env4 = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    extra = ["--config.eval_every=3", "--config.checkpoint_every=3"]
    procs = _two_processes(two, 6, extra)
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    subprocess.run(_command(one, 6, extra), cwd=ROOT, env=env4, check=True, capture_output=True, timeout=300)
    assert train_losses(two) == pytest.approx(train_losses(one), rel=1e-5)
    assert [r["step"] for r in read_metrics(two, "train")] == list(range(1, 7))  # one writer, one record a step
    assert read_metrics(two, "test")[-1]["loss"] == pytest.approx(read_metrics(one, "test")[-1]["loss"], rel=1e-5)
    import json

    assert json.load(open(os.path.join(two, "run_info.json")))["num_processes"] == 2
    # a single process resumes the checkpoint the two wrote
    subprocess.run(_command(two, 9, extra), cwd=ROOT, env=env4, check=True, capture_output=True, timeout=300)
    assert [r["step"] for r in read_metrics(two, "train")] == list(range(1, 10))


@pytest.mark.slow
def test_fault_injection_script_finds_no_difference(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["fault_injection", "--kills", "3", "--steps", "60", "--workdir", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        fault_injection.main()
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    assert "metrics equal the uninterrupted run's, each step logged once" in out


def test_num_devices_must_fit_the_process_layout(monkeypatch):
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(ValueError, match="does not fit 2 processes"):
        train.validate_config(tiny_config(num_devices=1))


@pytest.mark.slow
@pytest.mark.xdist_group("processes")  # one at a time: each runs two processes and binds a port
@pytest.mark.parametrize("sig, killed", [("SIGKILL", 1), ("SIGSTOP", 1), ("SIGSTOP", 0)])
def test_a_lost_process_makes_the_other_fail_fast_and_say_how_to_resume(sig, killed, tmp_path):
    """Two processes on localhost; one is SIGKILLed (its sockets close: the survivor's collective fails) or
    SIGSTOPped (a frozen host: the collective would wait forever, and only `watch_peers` sees it) after the
    first checkpoints. The other exits non-zero within 60 s with one line naming the lost process (or the
    coordinator, process 0, whose host holds the coordination service), the last checkpoint and the command
    that resumes it, before JAX's own heartbeat abort."""
    workdir = str(tmp_path / "two")
    procs = _two_processes(workdir, 100_000, ["--config.checkpoint_every=3"])
    survivor = procs[1 - killed]
    try:
        deadline = time.time() + 240
        while not os.path.isdir(os.path.join(workdir, "checkpoints", "6")) and time.time() < deadline:
            assert survivor.poll() is None, survivor.communicate()[1][-2000:]
            time.sleep(0.5)
        assert os.path.isdir(os.path.join(workdir, "checkpoints", "6")), "no checkpoint within 240 s"
        procs[killed].send_signal(getattr(signal, sig))
        gone = time.time()
        _, err = survivor.communicate(timeout=90)
        assert time.time() - gone < 60, f"the survivor took {time.time() - gone:.0f} s to stop"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert survivor.returncode not in (0, None)
    ours = [line for line in err.splitlines() if "lost contact with" in line]
    assert len(ours) == 1, err[-3000:]
    assert f"process {1 - killed} of 2" in ours[0] and f"--process_id={1 - killed}" in ours[0], ours[0]
    assert "the last checkpoint is step" in ours[0], ours[0]
    if sig == "SIGSTOP":
        assert ("the coordinator (process 0)" if killed == 0 else "process 1 (no beat for") in ours[0], ours[0]
    assert "another task died" not in err and "Terminating process" not in err, err[-3000:]


@pytest.mark.slow
@pytest.mark.xdist_group("processes")  # one at a time: each runs two processes and binds a port
def test_sigterm_to_one_of_two_processes_saves_the_same_step_on_both_and_resumes(tmp_path):
    """A real SIGTERM to process 1 only: JAX's preemption service makes both stop at one step, save it and exit
    0; both restarted resume from it, and every step is logged once."""
    workdir = str(tmp_path / "two")
    procs = _two_processes(workdir, 100_000, ["--config.checkpoint_every=1000"])
    try:
        deadline = time.time() + 240
        while len(read_metrics(workdir, "train")) < 5 and time.time() < deadline:
            assert procs[0].poll() is None, procs[0].communicate()[1][-2000:]
            time.sleep(0.5)
        procs[1].send_signal(signal.SIGTERM)
        outs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    saved = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
    assert len(saved) == 1 and saved[0] >= 5  # one step, the same for both processes
    assert f"Stopped by preemption after step {saved[0]}" in outs[0][0]
    procs = _two_processes(workdir, saved[0] + 3, ["--config.checkpoint_every=1000"])
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    assert [r["step"] for r in read_metrics(workdir, "train")] == list(range(1, saved[0] + 4))


def _fault_case(name, tmp_path):
    """(config, overrides) of a tiny run of each task, its data written here where it needs any."""
    from tests.test_data import _write_tiny_babi, _write_tiny_ptb

    if name == "recall":
        return "configs/recall.py:cpu", [
            "--config.hidden=16",
            "--config.batch_size=16",
            "--config.eval_every=10",
            "--config.eval_size=64",
            "--config.eval_batch_size=64",
        ]
    if name == "babi":
        _write_tiny_babi(tmp_path / "babi")
        return "configs/babi.py:cpu", [
            f"--config.task_options.data_dir={tmp_path / 'babi'}",
            "--config.task_options.download=False",
            "--config.task_options.check=False",
            "--config.hidden=16",
            "--config.embed_dim=8",
            "--config.eval_every=10",
            "--config.eval_batch_size=64",
        ]
    _write_tiny_ptb(tmp_path / "ptb")
    return "configs/ptb_rum.py:cpu", [
        f"--config.task_options.data_dir={tmp_path / 'ptb'}",
        "--config.task_options.download=False",
        "--config.task_options.check=False",
        "--config.task_options.seq_len=20",
        "--config.hidden=16",
        "--config.embed_dim=8",
        "--config.batch_size=8",
        "--config.eval_batch_size=4",
        "--config.eval_every=10",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["recall", "babi", "ptb"])
def test_fault_injection_on_every_task_finds_no_difference(task, tmp_path, monkeypatch, capsys):
    """SIGKILLs at random moments, resumed, against an uninterrupted run: every train/valid/test (PTB: also the
    final batch-1 test of the best-on-valid model) record equal, each step logged once; PTB carries its state
    across batches and epochs through the kills."""
    config, overrides = _fault_case(task, tmp_path)
    argv = [
        "fault_injection",
        "--kills",
        "2",
        "--steps",
        "30",
        "--workdir",
        str(tmp_path / "runs"),
        f"--config={config}",
        *overrides,
    ]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exit_:
        fault_injection.main()
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    assert "metrics equal the uninterrupted run's, each step logged once" in out
    splits = {r["split"] for r in read_metrics(str(tmp_path / "runs" / "faulty"))}
    assert {"train", "test"} <= splits and (task != "ptb" or {"valid", "final_test"} <= splits), splits


@pytest.mark.slow
def test_a_run_killed_during_its_final_test_repeats_it_on_resume(tmp_path, monkeypatch):
    """The language model's final batch-1 test runs before the last checkpoint is saved: a run that dies in
    the test resumes from the checkpoint before it and writes the final_test record (once), instead of finding
    the last step saved and never testing (found by the PTB fault injection in CI)."""
    from tests.test_data import tiny_ptb_config

    c = tiny_ptb_config(tmp_path, hidden=16, num_steps=6, every=3)
    c.log_every = 1
    workdir = str(tmp_path / "run")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during the final test")

    with monkeypatch.context() as patch:
        patch.setattr(train, "best_model_test", killed)
        with pytest.raises(KeyboardInterrupt):
            train.train_and_evaluate(c, workdir)
    assert last_checkpoint(workdir) == 3  # the last step's checkpoint waits for the test
    assert not read_metrics(workdir, "final_test")
    train.train_and_evaluate(c, workdir)
    final = read_metrics(workdir, "final_test")
    assert [r["step"] for r in final] == [6] and np.isfinite(final[0]["bpc"])
    assert [r["step"] for r in read_metrics(workdir, "train")] == list(range(1, 7))


def _mount_tmpfs(path, size: str, *options: str) -> bool:
    """A small file system of our own at `path` (root only); False where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *options])
    return subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True).returncode == 0


def _storage_fault_run(workdir, steps):
    return fault_injection.command(str(workdir), steps) + ["--config.checkpoint_every=5"]


@pytest.mark.slow
def test_an_unwritable_workdir_stops_the_run_in_one_line_naming_it(tmp_path):
    """A read-only file system (root: a tmpfs mounted read-only) or a folder without write permission
    (others): one line naming the path and the cause, exit 1, before anything is compiled."""
    folder = tmp_path / "readonly"
    mounted = os.geteuid() == 0 and _mount_tmpfs(folder, "1m", "ro")
    if not mounted:
        folder.mkdir(exist_ok=True)
        folder.chmod(0o555)
    try:
        done = subprocess.run(
            _storage_fault_run(folder / "run", 10), cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[0].startswith(f"train.py: cannot write {folder / 'run'}")
    assert ("Read-only file system" if mounted else "Permission denied") in lines[0]
    assert "no checkpoint was saved yet" in lines[0] and "resume with the same command: python " in lines[0]


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs: needs root (CI runs as root)")
def test_a_disk_that_fills_during_the_run_stops_it_in_one_line_and_the_last_checkpoint_resumes(tmp_path):
    """A tmpfs filled up by another file once the run has saved: the run stops with one line naming the
    workdir, the cause and the last intact checkpoint, which is there and intact; once space is freed the
    same command resumes, and the losses equal those of an uninterrupted run, each step logged once."""
    steps = 400
    reference = tmp_path / "reference"
    subprocess.run(_storage_fault_run(reference, steps), cwd=ROOT, check=True, capture_output=True, timeout=600)
    disk = tmp_path / "disk"
    assert _mount_tmpfs(disk, "64m")
    workdir, filler = disk / "run", disk / "filler"
    try:
        proc = subprocess.Popen(
            _storage_fault_run(workdir, steps), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.time() + 300
        while last_checkpoint(str(workdir)) is None and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        with open(filler, "wb") as f:  # fill the disk while the run goes on
            try:
                while True:
                    f.write(b"\0" * 2**20)
                    f.flush()
            except OSError:
                pass
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr[-2000:]
        line = stderr.strip().splitlines()[-1]
        assert "Traceback" not in stderr, stderr[-3000:]  # orbax's and its threads' follow-on errors are quiet
        assert line.startswith(f"train.py: cannot write {workdir}") and "No space left on device" in line
        kept = last_checkpoint(str(workdir))
        assert kept is not None and f"the last intact checkpoint, step {kept}, is kept" in line
        os.remove(filler)
        subprocess.run(_storage_fault_run(workdir, steps), cwd=ROOT, check=True, capture_output=True, timeout=600)
        assert fault_injection.compare(read_metrics(str(reference)), read_metrics(str(workdir)), steps) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
