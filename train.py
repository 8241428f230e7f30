"""The one entry point: config → cell + task + optax optimizer → train, evaluate, checkpoint.

    python train.py --config=configs/recall.py --workdir=/tmp/recall30
    python train.py --config=configs/copying.py:cpu,lstm --workdir=/tmp/copy --config.num_steps=20

The same --workdir resumes a run from its latest checkpoint and continues exactly the loss
sequence of an uninterrupted run (per-step randomness is ``fold_in(seed, step)``). The batch
axis is split over every device JAX sees (or ``config.num_devices``); parameters are replicated.
The workdir receives config.json, metrics.jsonl, TensorBoard events (tb/) and checkpoints/.

Faults: SIGTERM or SIGINT (a preemptible VM, a scheduler, Ctrl-C) finishes the step in flight, saves a
checkpoint at it and exits 0 with one line saying how to resume; an unreadable checkpoint is moved aside
and the run resumes from the newest intact one; a second process on a workdir that a live run holds is
refused. Several processes (hosts): ``--coordinator_address/--num_processes/--process_id`` or
``--distributed`` (training/distributed.py); process 0 writes the logs, all of them the checkpoints.

This file is the loop; the pieces it composes live in `training/` (config checks, building,
steps, evaluation, checkpoints), as Flax's examples split theirs.
"""

from __future__ import annotations

if __name__ == "__main__":  # first, before JAX is imported: glibc reads its tunables when a process starts
    from training.huge_pages import reexec_with_huge_pages

    reexec_with_huge_pages()  # 2 MiB pages for XLA:CPU's buffers where the kernel grants them on request

import contextlib
import json
import os
import signal
import sys
import threading

import jax
import jax.numpy as jnp
import ml_collections
from absl import app, flags, logging
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from ml_collections import config_flags

from training.build import build_model, build_optimizer, build_task, learning_rate_schedule, make_mesh
from training.checkpoints import Checkpoints, NoIntactCheckpoint
from training.config import (
    apply_saved_before,
    cell_options,
    compute_only_changes,
    load_config,
    saved_config_mismatch,
    validate_config,
)
from training.distributed import all_agree, exit_lost_peer, initialize, to_global, watch_peers
from training.evaluation import Evaluator
from training.progress import Progress
from training.run_info import run_info
from training.steps import StreamState, TrainState, best_model_test, stream_metrics, train_step
from training.storage import check_writable, quiet_orbax_storage_errors, storage_error, storage_fault_line
from training.workdir_lock import WorkdirLock, WorkdirLocked

__all__ = [
    "train_and_evaluate",
    "main",
    "TrainState",
    "StreamState",
    "train_step",
    "stream_metrics",
    "build_task",
    "build_model",
    "build_optimizer",
    "validate_config",
    "load_config",
    "apply_saved_before",
    "compute_only_changes",
    "cell_options",
    "Checkpoints",
]

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/copying.py:cpu", "Experiment config file[:variant].", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the run: checkpoints, metrics, config.json.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0, for several processes.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes (with --coordinator_address).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index (with --coordinator_address).")
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    False,
    "Initialise JAX's distributed runtime from the cluster environment (TPU pod slices, SLURM, ...).",
)


class StopSignal:
    """SIGTERM and SIGINT set a flag that the loop reads after each step, so the step in flight finishes and a
    checkpoint is saved at it. On several processes SIGTERM is left to JAX's preemption service (orbax's
    `reached_preemption`), which picks one step for all of them."""

    def __init__(self):
        self.received: str | None = None
        signals = [signal.SIGINT] if jax.process_count() > 1 else [signal.SIGINT, signal.SIGTERM]
        if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
            signals = []
        self._previous = {s: signal.signal(s, self._handle) for s in signals}

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name

    def close(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def open_checkpoints(c: ml_collections.ConfigDict, workdir: str) -> Checkpoints:
    """The run's checkpoints. Resuming, the saved config fixes the model: keys added since it was saved keep
    the value it had (configs.common.SAVED_BEFORE), and a different model-defining key is refused."""
    ckpt = Checkpoints(workdir, c.keep_checkpoints)
    if ckpt.latest_step() is None:
        return ckpt
    saved = ckpt.saved_config()
    for key, (today, kept) in apply_saved_before(saved, c).items():
        print(f"{workdir} was saved before config.{key} existed: it keeps {kept!r} (today's default: {today!r}).")
    for key, (before, now) in compute_only_changes(saved, c).items():
        print(
            f"{workdir} was saved with config.{key}={before!r}; it resumes with {now!r} "
            "(the same model and gradients, computed another way)."
        )
    mismatch = saved_config_mismatch(saved, c)
    if mismatch:
        ckpt.close()
        raise ValueError(
            f"{workdir} holds a run with different {mismatch} "
            f"(saved: {', '.join(f'{k}={saved.get(k)!r}' for k in mismatch)}); "
            "use a new --workdir, or the saved config.json."
        )
    return ckpt


def initial_state(c, task, model, params, tx, mesh, ckpt: Checkpoints, workdir: str):
    """(state, wall time already trained): fresh, or restored from the latest checkpoint."""
    if getattr(task, "stream", False):  # truncated BPTT: the carry is part of the state
        state = StreamState(jnp.zeros((), jnp.int32), params, tx.init(params), model.initial_carry(c.batch_size))
    else:
        state = TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))
    state = to_global(state, NamedSharding(mesh, P()))
    if ckpt.latest_step() is None:
        return state, 0.0
    state, meta = ckpt.restore(state)  # the newest intact checkpoint
    return state, meta.get("wall_time", 0.0)


def make_train_step(c, graphdef, tx, task, mesh):
    """(jitted step(state, data) -> (state, metrics), the task's device-resident training data, a list that
    grows by one per compilation). `data` (PTB rows, bAbI arrays, or None) is an argument of the step, so
    XLA does not embed the corpus as a constant."""
    stream = getattr(task, "stream", False)
    data_sharding = NamedSharding(mesh, P("data"))
    host = task.train_data(c.batch_size)
    data = None if host is None else to_global(host, data_sharding if stream else NamedSharding(mesh, P()))
    key, compilations = jax.random.key(c.seed), []

    def step(state, data):
        compilations.append(1)  # runs only while tracing
        data_key, rng = jax.random.split(jax.random.fold_in(key, state.step))
        batch = task.train_batch(data_key, c.batch_size, state.step, data)
        if stream:  # a new epoch starts from a fresh carry
            fresh = lambda: nnx.merge(graphdef, state.params).initial_carry(c.batch_size, rng=data_key)  # noqa
            new_epoch = state.step % task.epoch_steps(data) == 0
            state = state._replace(carry=jax.lax.cond(new_epoch, fresh, lambda: state.carry))
        batch = jax.lax.with_sharding_constraint(batch, data_sharding)
        return train_step(graphdef, tx, task, state, batch, rng, c.loss_reduction)

    return jax.jit(step, donate_argnums=0), data, compilations


def evaluate(state, step, evaluator, progress, best_valid: float) -> tuple[dict, float | None]:
    """Log every held-out split at `step`; returns (the metrics shown, the validation loss if it is the best so
    far, else None: the caller then saves this step with it, and the checkpoints keep it as the best model)."""
    results = evaluator(state.params, step)
    for name, metrics in results.items():
        progress.write(step, name, metrics)
    shown = results.get("test", next(iter(results.values())))
    progress.say(f"step {step}: test " + " ".join(f"{k}={v:.4f}" for k, v in shown.items()))
    best = "valid" in results and results["valid"]["loss"] < best_valid
    return shown, results["valid"]["loss"] if best else None


def final_test(c, state, evaluator, progress: Progress, ckpt: Checkpoints, step: int, is_best: bool) -> None:
    """Language models: the best-on-validation model over the whole test stream at the authors' batch size
    (`state` itself where it is the best, not yet saved)."""
    if not (evaluator.stream and c.final_test_batch_size):
        return
    best = state if is_best else None
    metrics = best_model_test(evaluator.graphdef, evaluator.task, ckpt, state, c.final_test_batch_size, best)
    progress.write(step, "final_test", metrics)
    progress.say(
        f"step {step}: best-on-valid model, test stream at batch {c.final_test_batch_size}: bpc={metrics['bpc']:.4f}"
    )


def run_loop(c, state, step_fn, data, evaluator, progress: Progress, ckpt: Checkpoints, stop: StopSignal):
    """Train from state.step to c.num_steps (or the time budget, or a stop signal).

    Returns (state, the last test metrics, the name of the signal that stopped it or None)."""
    eval_metrics, best_valid, last_saved = {}, ckpt.best_valid_loss(), ckpt.latest_step()
    meta = lambda step: {"step": step, "wall_time": progress.wall(), "config": json.loads(c.to_json())}  # noqa
    if c.time_budget_s > 0 and progress.wall_offset >= c.time_budget_s:  # resumed a run whose budget was spent
        return state, eval_metrics, None
    for step in range(int(state.step) + 1, c.num_steps + 1):
        state, metrics = step_fn(state, data)
        progress.step(step, metrics)
        final = step == c.num_steps or progress.out_of_time()
        stopping = all_agree(stop.received is not None) or ckpt.reached_preemption(step)
        if step % c.log_every == 0 or step % c.eval_every == 0 or step % c.checkpoint_every == 0 or final or stopping:
            progress.flush(step, last_saved)
        new_best = None
        if step % c.eval_every == 0 or final:
            eval_metrics, new_best = evaluate(state, step, evaluator, progress, best_valid)
            best_valid = best_valid if new_best is None else new_best
        if final:  # before the last save: a kill between the two then repeats the test instead of losing it
            final_test(c, state, evaluator, progress, ckpt, step, is_best=new_best is not None)
        if new_best is not None or step % c.checkpoint_every == 0 or final or stopping:
            ckpt.save(state, meta(step), valid_loss=new_best)
            last_saved = step
        if final or stopping:
            return state, eval_metrics, (stop.received or "preemption") if stopping and not final else None
    return state, eval_metrics, None


def train_and_evaluate(c: ml_collections.ConfigDict, workdir: str) -> dict:
    """Train per config `c` in `workdir`, resuming from its latest checkpoint; returns the last eval metrics
    (with ``stopped_by`` and ``stopped_at`` when a signal ended it early)."""
    validate_config(c)
    check_writable(workdir)  # a read-only or forbidden workdir stops the run here, before anything compiles
    with WorkdirLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext():  # one writer per workdir
        return _train_locked(c, workdir)


def _train_locked(c: ml_collections.ConfigDict, workdir: str) -> dict:
    ckpt = open_checkpoints(c, workdir)
    task = build_task(c)
    model = build_model(c, task)
    graphdef, params = nnx.split(model, nnx.Param)
    tx, mesh = build_optimizer(c), make_mesh(c)
    stop, progress = StopSignal(), None
    try:
        state, wall_offset = initial_state(c, task, model, params, tx, mesh, ckpt, workdir)
        if jax.process_index() == 0:
            with open(os.path.join(workdir, "config.json"), "w") as f:
                f.write(c.to_json(indent=2))
            with open(os.path.join(workdir, "run_info.json"), "w") as f:
                json.dump(run_info(params, mesh), f, indent=2)
        step_fn, data, compilations = make_train_step(c, graphdef, tx, task, mesh)
        evaluator = Evaluator(c, graphdef, task, mesh)
        progress = Progress(
            c, workdir, int(state.step), wall_offset, learning_rate_schedule(c), evaluator.reference, evaluator.stream
        )
        state, eval_metrics, stopped_by = run_loop(c, state, step_fn, data, evaluator, progress, ckpt, stop)
    finally:
        stop.close()
        try:
            if progress is not None:
                progress.close()
        finally:
            ckpt.close()  # waits for the saves in flight, even where closing the logs failed (a full disk)
    if stopped_by:
        return {**eval_metrics, "stopped_by": stopped_by, "stopped_at": int(state.step)}
    if not eval_metrics:  # resumed an already finished run: report, log nothing new
        results = evaluator(state.params, int(state.step))
        eval_metrics = results.get("test", next(iter(results.values())))
    eval_metrics["train_step_compilations"] = len(compilations)
    return eval_metrics


def _resume_command() -> str:
    """This process's command line: the same command resumes the run."""
    return f"python {' '.join(sys.argv)}"


def _exit_if_storage_fault(err: BaseException) -> None:
    """A write that failed for want of space or permission: one line (training.storage) and exit 1."""
    storage = storage_error(err)
    if storage is not None:
        print(storage_fault_line(storage, _WORKDIR.value, _resume_command()), file=sys.stderr, flush=True)
        os._exit(1)  # not sys.exit: TensorBoard's exit handler would retry its flush on the full disk


def main(argv) -> None:
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every checkpoint step at INFO
    quiet_orbax_storage_errors()  # a failed write is reported in one line (training.storage)
    if not _WORKDIR.value:
        raise app.UsageError("--workdir is required: the run's checkpoints, metrics and config go there.")
    initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value, _DISTRIBUTED.value)
    stop_watching = watch_peers(_WORKDIR.value, _resume_command())  # a lost peer, noticed outside collectives
    finished = False
    try:
        result = train_and_evaluate(_CONFIG.value, _WORKDIR.value)
        finished = True
    except (WorkdirLocked, NoIntactCheckpoint) as err:
        sys.exit(f"train.py: {err}")
    except jax.errors.JaxRuntimeError as err:
        _exit_if_storage_fault(err)  # on any number of processes: a full disk is not a lost peer
        if jax.process_count() == 1:
            raise
        exit_lost_peer(err, _WORKDIR.value, _resume_command())  # a peer died mid-collective
    except Exception as err:
        _exit_if_storage_fault(err)
        raise
    finally:
        stop_watching(finished)
    if result.get("stopped_by") and jax.process_index() == 0:
        print(
            f"Stopped by {result['stopped_by']} after step {result['stopped_at']}; a checkpoint of that step is "
            f"in {_WORKDIR.value}/checkpoints. Resume with the same command: {_resume_command()}",
            flush=True,
        )


if __name__ == "__main__":
    app.run(main)
