"""The one entry point: config → cell + task + optax optimizer → train, evaluate, checkpoint.

    python train.py --config=configs/recall.py --workdir=/tmp/recall30
    python train.py --config=configs/copying.py:cpu,lstm --workdir=/tmp/copy --config.num_steps=20

The same --workdir resumes a run from its latest checkpoint and continues exactly the loss
sequence of an uninterrupted run (per-step randomness is ``fold_in(seed, step)``). The batch
axis is split over every device JAX sees (or ``config.num_devices``); parameters are replicated.
The workdir receives config.json, metrics.jsonl, TensorBoard events (tb/) and checkpoints/.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import time
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from configs.common import OPTIMIZER_OPTIONS
from rumjax.cells import CELL_OPTIONS, CELLS
from rumjax.metric_log import MetricLog
from rumjax.memn2n import MemN2N
from rumjax.models import LanguageModel, SequenceClassifier
from tasks import TASKS, make_task
from tasks.metrics import means

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
SCHEDULES = ("constant", "piecewise")
MODELS = ("rnn", "memn2n")  # rnn: a registered cell in a sequence model; memn2n: the attention baseline
# Keys that fix the model's shapes: a resumed run must have the same values as its checkpoint.
MODEL_KEYS = ("task", "task_options", "model", "cell", "hidden", "embed_dim", "num_layers", "optimizer", "grad_clip",
              "loss_reduction", "readout_hidden")
LOSS_REDUCTIONS = ("mean", "sum_time")


class TrainState(NamedTuple):
    step: jax.Array  # () int32
    params: nnx.State  # the model's nnx.Param leaves
    opt_state: Any


class StreamState(NamedTuple):
    """TrainState of a stream task (truncated BPTT): the recurrent carry goes on to the next batch."""

    step: jax.Array
    params: nnx.State
    opt_state: Any
    carry: Any


# ---------------------------------------------------------------------------- config


def validate_config(c: ml_collections.ConfigDict) -> None:
    """Raise a ValueError naming any bad key or value and what is allowed."""

    def positive_int(key, allow_zero=False):
        value = c[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
            kind = "a non-negative" if allow_zero else "a positive"
            raise ValueError(f"config.{key} must be {kind} integer, got {value!r}.")

    for key in ("batch_size", "num_steps", "hidden", "log_every", "eval_every", "checkpoint_every",
                "keep_checkpoints", "eval_size", "eval_batch_size", "unroll"):
        positive_int(key)
    for key in ("embed_dim", "num_devices", "seed", "eval_seed"):
        positive_int(key, allow_zero=True)
    positive_int("num_layers")
    if not (isinstance(c.time_budget_s, (int, float)) and c.time_budget_s >= 0):
        raise ValueError(f"config.time_budget_s must be >= 0 seconds (0: no limit), got {c.time_budget_s!r}.")
    for key in ("zoneout_cell", "zoneout_hidden"):
        if not (isinstance(c[key], (int, float)) and 0 <= c[key] < 1):
            raise ValueError(f"config.{key} must be in [0, 1), got {c[key]!r}.")
    if c.task not in TASKS:
        raise ValueError(f"config.task={c.task!r} is unknown; valid tasks: {', '.join(sorted(TASKS))}.")
    if c.cell not in CELLS:
        raise ValueError(f"config.cell={c.cell!r} is unknown; valid cells: {', '.join(sorted(CELLS))}.")
    if c.optimizer not in OPTIMIZER_OPTIONS:
        raise ValueError(f"config.optimizer={c.optimizer!r} is unknown; valid: {', '.join(OPTIMIZER_OPTIONS)}.")
    if c.model not in MODELS:
        raise ValueError(f"config.model={c.model!r} is unknown; valid: {', '.join(MODELS)}.")
    if c.dtype not in DTYPES:
        raise ValueError(f"config.dtype={c.dtype!r} is unknown; valid: {', '.join(DTYPES)}.")
    if c.loss_reduction not in LOSS_REDUCTIONS:
        raise ValueError(f"config.loss_reduction={c.loss_reduction!r} is unknown; valid: {', '.join(LOSS_REDUCTIONS)}.")
    positive_int("readout_hidden", allow_zero=True)
    positive_int("final_test_batch_size", allow_zero=True)
    if c.schedule not in SCHEDULES:
        raise ValueError(f"config.schedule={c.schedule!r} is unknown; valid: {', '.join(SCHEDULES)}.")
    if not (isinstance(c.learning_rate, (int, float)) and c.learning_rate > 0):
        raise ValueError(f"config.learning_rate must be a positive number, got {c.learning_rate!r}.")
    if c.schedule == "piecewise":
        bounds, values = tuple(c.lr_boundaries), tuple(c.lr_values)
        if not bounds or len(bounds) != len(values) or list(bounds) != sorted(bounds):
            raise ValueError(
                "config.schedule='piecewise' needs increasing config.lr_boundaries (steps) and as many "
                f"config.lr_values; got lr_boundaries={bounds!r}, lr_values={values!r}."
            )
    if not (isinstance(c.grad_clip, (int, float)) and c.grad_clip >= 0):
        raise ValueError(f"config.grad_clip must be >= 0 (0 turns clipping off), got {c.grad_clip!r}.")
    n_dev = c.num_devices or jax.device_count()
    if n_dev > jax.device_count():
        raise ValueError(f"config.num_devices={c.num_devices} but JAX sees only {jax.device_count()} devices.")
    for key in ("batch_size", "eval_batch_size"):
        if c[key] % n_dev:
            raise ValueError(f"config.{key}={c[key]} must be a multiple of the {n_dev} devices it is split over.")
    if not hasattr(TASKS[c.task], "eval_sets") and c.eval_size % c.eval_batch_size:  # synthetic eval sets
        raise ValueError(f"config.eval_size={c.eval_size} must be a multiple of eval_batch_size={c.eval_batch_size}.")


def load_config(path: str) -> ml_collections.ConfigDict:
    """A run's saved config.json over today's defaults, so runs saved before a key existed still load."""
    from configs.common import SAVED_BEFORE, base_config

    def merge(base, saved):
        for key, value in saved.items():
            if isinstance(value, dict) and key in base and isinstance(base[key], ml_collections.ConfigDict):
                merge(base[key], value)
            else:
                base[key] = tuple(value) if isinstance(value, list) else value

    config = base_config()
    with open(path) as f:
        saved = json.load(f)
    merge(config, saved)
    apply_saved_before(saved, config)
    task_args = inspect.signature(TASKS[config.task].__init__).parameters if config.task in TASKS else {}
    for dotted, old in SAVED_BEFORE.items():  # task options a run saved before they existed did not list
        block, _, leaf = dotted.partition(".")
        if block == "task_options" and leaf in task_args and leaf not in config.task_options:
            config.task_options[leaf] = old
    return config


def apply_saved_before(saved: dict, c: ml_collections.ConfigDict) -> dict:
    """Give `c` the value a run saved before a key existed had (configs.common.SAVED_BEFORE) for each such key
    that the saved config lacks; returns {key: (today's value, the value used)} for those that differed."""
    from configs.common import SAVED_BEFORE

    changed = {}
    for dotted, old in SAVED_BEFORE.items():
        *parents, leaf = dotted.split(".")
        block, saved_block = c, saved
        for name in parents:
            block = block.get(name) if isinstance(block, ml_collections.ConfigDict) else None
            saved_block = saved_block.get(name, {}) if isinstance(saved_block, dict) else {}
        if not isinstance(block, ml_collections.ConfigDict) or leaf not in block or leaf in saved_block:
            continue
        if block[leaf] != old:
            changed[dotted] = (block[leaf], old)
            block[leaf] = old
    return changed


def cell_options(c: ml_collections.ConfigDict) -> dict:
    return {k: c[c.cell][k] for k in CELL_OPTIONS[c.cell]}


# ---------------------------------------------------------------------------- building


def build_task(c: ml_collections.ConfigDict):
    return make_task(c.task, **c.task_options.to_dict())


def build_model(c: ml_collections.ConfigDict, task) -> SequenceClassifier | LanguageModel:
    dtype = None if c.dtype == "float32" else DTYPES[c.dtype]
    if c.model == "memn2n":
        if getattr(task, "format", None) != "memory":
            raise ValueError("config.model='memn2n' reads sentences: set config.task_options.format='memory' (bAbI).")
        return MemN2N(vocab_size=task.vocab_size, embed_dim=c.embed_dim, hops=c.memn2n.hops,
                      memory_size=task.memory_size, linear_start_steps=c.memn2n.linear_start_steps,
                      rngs=nnx.Rngs(params=c.seed))
    if getattr(task, "stream", False):
        return LanguageModel(
            vocab_size=task.vocab_size, cell=c.cell, hidden=c.hidden, embed_dim=c.embed_dim,
            cell_options=cell_options(c), num_layers=c.num_layers, zoneout_cell=c.zoneout_cell,
            zoneout_hidden=c.zoneout_hidden, dropout=c.dropout, dtype=dtype, unroll=c.unroll, remat=c.remat,
            rngs=nnx.Rngs(params=c.seed),
        )
    return SequenceClassifier(
        vocab_size=task.vocab_size,
        num_classes=task.num_classes,
        cell=c.cell,
        hidden=c.hidden,
        cell_options=cell_options(c),
        embed_dim=c.embed_dim,
        num_layers=c.num_layers,
        zoneout_cell=c.zoneout_cell,
        zoneout_hidden=c.zoneout_hidden,
        readout=task.readout,
        dtype=None if c.dtype == "float32" else DTYPES[c.dtype],
        unroll=c.unroll,
        remat=c.remat,
        readout_hidden=c.readout_hidden,
        separate_last_embed=getattr(task, "format", None) == "sentence",
        rngs=nnx.Rngs(params=c.seed),
    )


def learning_rate_schedule(c: ml_collections.ConfigDict) -> optax.Schedule:
    """constant, or piecewise: learning_rate before lr_boundaries[0], lr_values[i] from lr_boundaries[i]."""
    if c.schedule == "constant":
        return optax.constant_schedule(c.learning_rate)
    bounds = jnp.asarray(c.lr_boundaries, jnp.int32)
    values = jnp.asarray((c.learning_rate, *c.lr_values), jnp.float32)
    return lambda step: values[jnp.searchsorted(bounds, step, side="right")]


def build_optimizer(c: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """clip_by_global_norm (if grad_clip > 0) followed by ``optax.<optimizer>(schedule, **config.<optimizer>)``."""
    tx = optax.inject_hyperparams(getattr(optax, c.optimizer))(
        learning_rate=learning_rate_schedule(c), **c[c.optimizer].to_dict()
    )
    return optax.chain(optax.clip_by_global_norm(c.grad_clip), tx) if c.grad_clip else tx


def make_mesh(c: ml_collections.ConfigDict) -> jax.sharding.Mesh:
    n = c.num_devices or jax.device_count()
    return jax.make_mesh((n,), ("data",), axis_types=(jax.sharding.AxisType.Auto,), devices=jax.devices()[:n])


# ---------------------------------------------------------------------------- steps


def train_step(graphdef, tx, task, state: TrainState, batch: dict, rng: jax.Array, loss_reduction: str = "mean"):
    """One optimiser step on `batch`; pure. Returns (new state, metrics).

    The optimised loss is the mean over every target, or with ``loss_reduction="sum_time"`` that mean
    times the T time steps of the batch (the loss summed over time, averaged over the batch), so that
    clipping acts on the gradient of the sum; the logged loss is per target either way.
    """
    scale = batch["inputs"].shape[1] if loss_reduction == "sum_time" else 1

    def loss_fn(params):
        model = nnx.merge(graphdef, params)
        if isinstance(state, StreamState):
            logits, carry = model(batch["inputs"], state.carry, rng=rng)
        else:
            logits, carry = model(batch["inputs"], rng=rng, step=state.step), None
        sums = task.metrics(logits, batch)
        return scale * sums["loss_sum"] / sums["count"], (sums, carry)

    (_, (sums, carry)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = means(sums)
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["update_norm"] = optax.tree.norm(updates)
    metrics["param_norm"] = optax.tree.norm(params)
    new = state._replace(step=state.step + 1, params=params, opt_state=opt_state)
    if carry is not None:
        new = new._replace(carry=jax.lax.stop_gradient(carry))
    return new, metrics


def eval_step(graphdef, task, params, batch: dict, step) -> dict:
    model = nnx.merge(graphdef, params)
    model.eval()  # zoneout and dropout use their expectations
    return task.metrics(model(batch["inputs"], step=step), batch)


def stream_metrics(graphdef, task, params, split: str, batch_size: int, sharding=None) -> dict:
    """Metric sums of a language model over the whole `split` stream cut into `batch_size` rows, the carry
    passed from segment to segment (one jitted scan over the segments; the rows are an argument)."""
    rows = jax.device_put(task.rows(split, batch_size), sharding) if sharding is not None else task.rows(split, batch_size)
    return _stream_scan(graphdef, task, batch_size, task.row_length(split, batch_size),
                        task.num_batches(split, batch_size), params, rows)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _stream_scan(graphdef, task, batch_size, per_row, num_batches, params, rows):
    model = nnx.merge(graphdef, params)
    model.eval()

    def body(carry, index):
        batch = task.batch_at(rows, index, per_row)
        logits, carry = model(batch["inputs"], carry)
        return carry, task.metrics(logits, batch)

    _, sums = jax.lax.scan(body, model.initial_carry(batch_size), jnp.arange(num_batches))
    return jax.tree.map(lambda x: jnp.sum(x, axis=0), sums)


def best_model_test(graphdef, task, ckpt, state, batch_size: int) -> dict:
    """The test metrics of the best-on-validation model (the latest if none was kept) over the whole test
    stream in `batch_size` rows: the authors' test BPC at batch 1 (paper §4.4)."""
    best = ckpt.restore_best(state)
    params = (best if best is not None else state).params
    metrics = {k: float(v) for k, v in means(jax.device_get(stream_metrics(graphdef, task, params, "test",
                                                                           batch_size))).items()}
    metrics["bpc"] = metrics["loss"] / math.log(2)
    metrics["best_step"] = int((best if best is not None else state).step)
    return metrics


# ---------------------------------------------------------------------------- checkpoints


def _saved_config_mismatch(saved: dict, c: ml_collections.ConfigDict) -> list[str]:
    current = json.loads(c.to_json())
    keys = list(MODEL_KEYS) + [c.cell]
    if saved.get("grad_clip") and c.grad_clip:  # clipping on in both: its threshold may change
        keys.remove("grad_clip")

    def differs(old, new):  # keys added to the config after a run was saved count as unchanged
        if isinstance(old, dict) and isinstance(new, dict):
            return any(differs(v, new.get(k)) for k, v in old.items())
        return old != new

    return [k for k in keys if k in saved and differs(saved[k], current.get(k))]


class Checkpoints:
    """Orbax CheckpointManager over <workdir>/checkpoints: the TrainState plus JSON metadata with the config."""

    def __init__(self, workdir: str, keep: int):
        self.manager = ocp.CheckpointManager(
            os.path.abspath(os.path.join(workdir, "checkpoints")),  # orbax needs an absolute path
            item_names=("state", "meta"),
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )
        self._best_dir = os.path.abspath(os.path.join(workdir, "best"))
        self._best = None

    @property
    def best(self) -> ocp.CheckpointManager:
        """The best-on-validation checkpoint (<workdir>/best, one kept), opened on first use."""
        if self._best is None:
            self._best = ocp.CheckpointManager(self._best_dir, item_names=("state", "meta"),
                                               options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True))
        return self._best

    def best_valid_loss(self) -> float:
        if not os.path.isdir(self._best_dir) or self.best.latest_step() is None:
            return math.inf
        meta = self.best.restore(self.best.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return meta.meta["valid_loss"]

    def save_best(self, state, meta: dict) -> None:
        self.best.save(int(state.step), args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                                meta=ocp.args.JsonSave(meta)))
        self.best.wait_until_finished()

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def restore_best(self, target):
        """The best-on-validation state (None if none was kept)."""
        if not os.path.isdir(self._best_dir) or self.best.latest_step() is None:
            return None
        step = self.best.latest_step()
        return self.best.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target))).state

    def save(self, state: TrainState, meta: dict) -> None:
        step = int(state.step)
        if step in self.manager.all_steps():
            return
        self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))
        self.manager.wait_until_finished()

    def saved_config(self) -> dict:
        """The config stored with the latest checkpoint."""
        step = self.manager.latest_step()
        meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return meta.meta.get("config", {})

    def restore(self, target: TrainState) -> tuple[TrainState, dict]:
        step = self.manager.latest_step()
        restored = self.manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore())
        )
        return restored.state, restored.meta

    def close(self) -> None:
        self.manager.close()
        if self._best is not None:
            self._best.close()


# ---------------------------------------------------------------------------- loop


def run_info(params, mesh) -> dict:
    """What a report needs to say where and at what size a run ran."""
    devices = mesh.devices.ravel()
    return {
        "param_count": int(sum(np.size(x) for x in jax.tree.leaves(params))),
        "device_kind": devices[0].device_kind,
        "platform": devices[0].platform,
        "num_devices": len(devices),
        "cpu_count": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "jax_version": jax.__version__,
        "git_commit": _git_commit(),
    }


def _git_commit() -> str | None:
    """The commit of the code that ran (None outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=os.path.dirname(os.path.abspath(__file__)))
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _check_finite(step: int, metrics: dict, last_saved: int | None, workdir: str) -> None:
    bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
    if bad:
        where = f"step {last_saved} in {workdir}/checkpoints" if last_saved is not None else "none saved yet"
        raise FloatingPointError(
            f"Non-finite training metrics at step {step}: {bad}. Stopped without saving; the last good "
            f"checkpoint ({where}) is intact. Lower config.learning_rate or set config.grad_clip."
        )


def train_and_evaluate(c: ml_collections.ConfigDict, workdir: str) -> dict:
    """Train per config `c` in `workdir`, resuming from its latest checkpoint; returns the last eval metrics."""
    validate_config(c)
    os.makedirs(workdir, exist_ok=True)
    ckpt = Checkpoints(workdir, c.keep_checkpoints)
    if ckpt.latest_step() is not None:  # resuming: the saved config fixes the model
        saved = ckpt.saved_config()
        for key, (today, kept) in apply_saved_before(saved, c).items():
            print(f"{workdir} was saved before config.{key} existed: it keeps {kept!r} (today's default: {today!r}).")
        mismatch = _saved_config_mismatch(saved, c)
        if mismatch:
            ckpt.close()
            raise ValueError(
                f"{workdir} holds a run with different {mismatch} "
                f"(saved: {', '.join(f'{k}={saved.get(k)!r}' for k in mismatch)}); "
                "use a new --workdir, or the saved config.json."
            )
    task = build_task(c)
    model = build_model(c, task)
    graphdef, params = nnx.split(model, nnx.Param)
    tx = build_optimizer(c)
    mesh = make_mesh(c)
    replicated, data_sharding = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
    stream = getattr(task, "stream", False)
    if stream:  # truncated BPTT: the carry is part of the state, reset at every epoch start
        state = StreamState(jnp.zeros((), jnp.int32), params, tx.init(params), model.initial_carry(c.batch_size))
    else:
        state = TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))
    state = jax.device_put(state, replicated)

    wall_offset = 0.0
    if ckpt.latest_step() is not None:
        try:
            state, meta = ckpt.restore(state)
        except Exception as err:  # orbax raises many types for tree/shape mismatches
            first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(
                f"Could not restore the checkpoint in {workdir}/checkpoints into this config: {first_line}"
            ) from err
        wall_offset = meta.get("wall_time", 0.0)
    start = int(state.step)
    last_saved = ckpt.latest_step()
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(c.to_json(indent=2))
    with open(os.path.join(workdir, "run_info.json"), "w") as f:
        json.dump(run_info(params, mesh), f, indent=2)
    log = MetricLog(workdir, resume_step=start)

    key = jax.random.key(c.seed)

    if stream:
        rows = jax.device_put(task.rows("train", c.batch_size), data_sharding)  # (b, per_row), resident
        per_epoch = task.num_batches("train", c.batch_size)

    @partial(jax.jit, donate_argnums=0)
    def step_fn(state):
        step_key = jax.random.fold_in(key, state.step)
        data_key, rng = jax.random.split(step_key)
        if stream:
            index = state.step % per_epoch  # segment of the epoch; 0 starts a new one from a fresh carry
            batch = task.batch_at(rows, index)
            fresh = lambda: nnx.merge(graphdef, state.params).initial_carry(c.batch_size, rng=data_key)  # noqa
            state = state._replace(carry=jax.lax.cond(index == 0, fresh, lambda: state.carry))
        elif hasattr(task, "train_batch"):  # a task whose batch may depend on the step (a fixed training set)
            batch = task.train_batch(data_key, c.batch_size, state.step)
        else:
            batch = task.sample(data_key, c.batch_size)
        batch = jax.lax.with_sharding_constraint(batch, data_sharding)
        return train_step(graphdef, tx, task, state, batch, rng, c.loss_reduction)

    eval_fn = jax.jit(partial(eval_step, graphdef, task))
    # constants logged beside the loss, e.g. the copying task's no-memory baseline
    reference = {"baseline_loss": task.baseline_loss} if hasattr(task, "baseline_loss") else {}
    if stream:  # whole valid and test streams, the carry passed from segment to segment
        eval_sets = {name: jax.device_put(task.rows(name, c.eval_batch_size), data_sharding)
                     for name in ("valid", "test")}
    elif hasattr(task, "eval_sets"):  # real data: whole held-out splits, padded batches weighted 0
        eval_sets = {name: [jax.device_put(b, data_sharding) for b in batches]
                     for name, batches in task.eval_sets(c.eval_batch_size).items()}
    else:  # synthetic: a fixed held-out set drawn from eval_seed
        eval_key = jax.random.key(c.eval_seed)
        eval_sets = {"test": [
            jax.device_put(task.sample(jax.random.fold_in(eval_key, i), c.eval_batch_size), data_sharding)
            for i in range(c.eval_size // c.eval_batch_size)
        ]}

    def evaluate(params, step, wall, write=True):
        """Metrics of every held-out split; returns the test split's (the last one if none is named test)."""
        results = {}
        for name, batches in eval_sets.items():
            totals = None
            if stream:
                totals = _stream_scan(graphdef, task, c.eval_batch_size, task.row_length(name, c.eval_batch_size),
                                      task.num_batches(name, c.eval_batch_size), params, batches)
            else:
                for batch in batches:
                    sums = eval_fn(params, batch, step)
                    totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
            metrics = {k: float(v) for k, v in means(jax.device_get(totals)).items()}
            metrics.update(reference)
            if stream:
                metrics["bpc"] = metrics["loss"] / math.log(2)
            if write:
                log.write(step, name, wall, metrics)
            results[name] = metrics
        return results

    from tqdm import tqdm

    bar = tqdm(total=c.num_steps, initial=start, disable=not c.progress, dynamic_ncols=True,
               mininterval=1.0 if sys.stderr.isatty() else 30.0, desc=os.path.basename(os.path.normpath(workdir)))
    pending: list[tuple[int, dict]] = []
    t_start = time.perf_counter()
    window_start, window_steps = t_start, 0
    eval_metrics: dict = {}
    best_valid = ckpt.best_valid_loss()

    def wall() -> float:
        return wall_offset + time.perf_counter() - t_start

    def flush(step: int) -> None:
        nonlocal pending, window_start, window_steps
        if not pending:
            return
        fetched = jax.device_get([m for _, m in pending])
        for (s, _), m in zip(pending, fetched):
            _check_finite(s, m, last_saved, workdir)
        now = time.perf_counter()
        mean = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
        mean["steps_per_sec"] = window_steps / max(now - window_start, 1e-9)
        mean["learning_rate"] = float(learning_rate_schedule(c)(step - 1))
        mean.update(reference)
        if stream:
            mean["bpc"] = mean["loss"] / math.log(2)
        log.write(step, "train", wall(), mean)
        bar.set_postfix(loss=f"{mean['loss']:.4f}", acc=f"{mean['accuracy']:.3f}",
                        sps=f"{mean['steps_per_sec']:.2f}", refresh=False)
        pending, window_start, window_steps = [], now, 0

    def out_of_time() -> bool:  # the wall-time budget, if any, is spent
        return c.time_budget_s > 0 and wall() >= c.time_budget_s

    try:
        for step in range(start + 1, c.num_steps + 1):
            if out_of_time():  # the step after a budget-ending final step, or a resumed run already spent
                break
            state, metrics = step_fn(state)
            pending.append((step, metrics))
            window_steps += 1
            bar.update(1)
            final = step == c.num_steps or out_of_time()
            if step % c.log_every == 0 or final:
                flush(step)
            if step % c.eval_every == 0 or final:
                flush(step)
                results = evaluate(state.params, step, wall())
                eval_metrics = results.get("test", next(iter(results.values())))
                bar.write(f"step {step}: test " + " ".join(f"{k}={v:.4f}" for k, v in eval_metrics.items()))
                if "valid" in results and results["valid"]["loss"] < best_valid:  # keep the best-on-valid model
                    best_valid = results["valid"]["loss"]
                    ckpt.save_best(state, {"step": step, "valid_loss": best_valid, "config": json.loads(c.to_json())})
            if step % c.checkpoint_every == 0 or final:
                flush(step)
                ckpt.save(state, {"step": step, "wall_time": wall(), "config": json.loads(c.to_json())})
                last_saved = step
            if final:
                if stream and c.final_test_batch_size:
                    final_test = best_model_test(graphdef, task, ckpt, state, c.final_test_batch_size)
                    log.write(step, "final_test", wall(), final_test)
                    bar.write(f"step {step}: best-on-valid model, test stream at batch {c.final_test_batch_size}: "
                              f"bpc={final_test['bpc']:.4f}")
                break
    finally:
        bar.close()
        log.close()
        ckpt.close()
    if not eval_metrics:  # resumed an already finished run: report, log nothing new
        results = evaluate(state.params, int(state.step), wall(), write=False)
        eval_metrics = results.get("test", next(iter(results.values())))
    eval_metrics["train_step_compilations"] = step_fn._cache_size()
    return eval_metrics


def main(argv) -> None:
    from absl import app, logging

    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every checkpoint step at INFO
    if not FLAGS.workdir:
        raise app.UsageError("--workdir is required: the run's checkpoints, metrics and config go there.")
    train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    from absl import app, flags
    from ml_collections import config_flags

    _CONFIG = config_flags.DEFINE_config_file("config", "configs/copying.py:cpu", "Experiment config file[:variant].",
                                             lock_config=True)
    flags.DEFINE_string("workdir", None, "Directory of the run: checkpoints, metrics, config.json.")
    FLAGS = flags.FLAGS
    app.run(main)
