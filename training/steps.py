"""The pure train and eval steps, and a language model's metrics over a whole stream."""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from tasks.metrics import means


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
    rows = task.rows(split, batch_size)
    rows = jax.device_put(rows, sharding) if sharding is not None else rows
    return stream_scan(
        graphdef,
        task,
        batch_size,
        task.row_length(split, batch_size),
        task.num_batches(split, batch_size),
        params,
        rows,
    )


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def stream_scan(graphdef, task, batch_size, per_row, num_batches, params, rows):
    """Metric sums over `num_batches` segments of `rows` (batch_size, columns), `per_row` real characters a row."""
    model = nnx.merge(graphdef, params)
    model.eval()

    def body(carry, index):
        batch = task.batch_at(rows, index, per_row)
        logits, carry = model(batch["inputs"], carry)
        return carry, task.metrics(logits, batch)

    _, sums = jax.lax.scan(body, model.initial_carry(batch_size), jnp.arange(num_batches))
    return jax.tree.map(lambda x: jnp.sum(x, axis=0), sums)


def check_finite(step: int, metrics: dict, last_saved: int | None, workdir: str) -> None:
    bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
    if bad:
        where = f"step {last_saved} in {workdir}/checkpoints" if last_saved is not None else "none saved yet"
        raise FloatingPointError(
            f"Non-finite training metrics at step {step}: {bad}. Stopped without saving; the last good "
            f"checkpoint ({where}) is intact. Lower config.learning_rate or set config.grad_clip."
        )


def best_model_test(graphdef, task, ckpt, state, batch_size: int, best=None) -> dict:
    """The test metrics of the best-on-validation model (`best`, or the one `ckpt` kept; the latest if none
    was) over the whole test stream in `batch_size` rows: the authors' test BPC at batch 1 (paper §4.4)."""
    best = best if best is not None else ckpt.restore_best(state)
    params = (best if best is not None else state).params
    metrics = {
        k: float(v)
        for k, v in means(jax.device_get(stream_metrics(graphdef, task, params, "test", batch_size))).items()
    }
    metrics["bpc"] = metrics["loss"] / math.log(2)
    metrics["best_step"] = int((best if best is not None else state).step)
    return metrics
