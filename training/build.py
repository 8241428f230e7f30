"""From a config to the objects of a run: task, model, optimizer and the device mesh."""

from __future__ import annotations

import jax
import ml_collections
import optax
from flax import nnx

from rumjax.memn2n import MemN2N
from rumjax.models import LanguageModel, SequenceClassifier
from tasks import make_task
from training.config import DTYPES, cell_options


def build_task(c: ml_collections.ConfigDict):
    return make_task(c.task, **c.task_options.to_dict())


def build_model(c: ml_collections.ConfigDict, task) -> SequenceClassifier | LanguageModel:
    dtype = None if c.dtype == "float32" else DTYPES[c.dtype]
    if c.model == "memn2n":
        if getattr(task, "format", None) != "memory":
            raise ValueError("config.model='memn2n' reads sentences: set config.task_options.format='memory' (bAbI).")
        return MemN2N(
            vocab_size=task.vocab_size,
            embed_dim=c.embed_dim,
            hops=c.memn2n.hops,
            memory_size=task.memory_size,
            linear_start_steps=c.memn2n.linear_start_steps,
            rngs=nnx.Rngs(params=c.seed),
        )
    if getattr(task, "stream", False):
        return LanguageModel(
            vocab_size=task.vocab_size,
            cell=c.cell,
            hidden=c.hidden,
            embed_dim=c.embed_dim,
            cell_options=cell_options(c),
            num_layers=c.num_layers,
            zoneout_cell=c.zoneout_cell,
            zoneout_hidden=c.zoneout_hidden,
            dropout=c.dropout,
            dtype=dtype,
            unroll=c.unroll,
            remat=c.remat,
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
        separate_last_embed=getattr(task, "format", None) == "sentence" and task.question_embed == "separate",
        rngs=nnx.Rngs(params=c.seed),
    )


def learning_rate_schedule(c: ml_collections.ConfigDict) -> optax.Schedule:
    """constant, or piecewise: learning_rate before lr_boundaries[0], lr_values[i] from lr_boundaries[i]
    (optax.join_schedules of constant schedules)."""
    if c.schedule == "constant":
        return optax.constant_schedule(c.learning_rate)
    values = (c.learning_rate, *c.lr_values)
    return optax.join_schedules([optax.constant_schedule(v) for v in values], list(c.lr_boundaries))


def build_optimizer(c: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """clip_by_global_norm (if grad_clip > 0) followed by ``optax.<optimizer>(schedule, **config.<optimizer>)``."""
    tx = optax.inject_hyperparams(getattr(optax, c.optimizer))(
        learning_rate=learning_rate_schedule(c), **c[c.optimizer].to_dict()
    )
    return optax.chain(optax.clip_by_global_norm(c.grad_clip), tx) if c.grad_clip else tx


def make_mesh(c: ml_collections.ConfigDict) -> jax.sharding.Mesh:
    n = c.num_devices or jax.device_count()
    return jax.make_mesh((n,), ("data",), axis_types=(jax.sharding.AxisType.Auto,), devices=jax.devices()[:n])
