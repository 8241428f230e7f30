"""The held-out sets of a run and their metrics, computed with the run's jitted eval step.

Language models: the whole valid and test streams, the carry passed from segment to segment (one
scan per split). Real data (bAbI): the whole held-out splits in padded batches (padding weighted 0).
Synthetic tasks: a fixed held-out set drawn from ``config.eval_seed``.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import ml_collections
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from tasks.metrics import means
from training.distributed import to_global
from training.steps import eval_step, stream_scan


class Evaluator:
    """``evaluator(params, step) -> {split: {metric: float}}`` over every held-out split of the task."""

    def __init__(self, c: ml_collections.ConfigDict, graphdef, task, mesh):
        self.c, self.graphdef, self.task = c, graphdef, task
        self.stream = getattr(task, "stream", False)
        # constants logged beside the loss, e.g. the copying task's no-memory baseline
        self.reference = {"baseline_loss": task.baseline_loss} if hasattr(task, "baseline_loss") else {}
        shard = partial(to_global, sharding=NamedSharding(mesh, P("data")))
        if self.stream:
            self.sets = {name: shard(task.rows(name, c.eval_batch_size)) for name in ("valid", "test")}
        elif hasattr(task, "eval_sets"):
            self.sets = {
                name: [shard(b) for b in batches] for name, batches in task.eval_sets(c.eval_batch_size).items()
            }
        else:
            key = jax.random.key(c.eval_seed)
            self.sets = {
                "test": [
                    shard(task.sample(jax.random.fold_in(key, i), c.eval_batch_size))
                    for i in range(c.eval_size // c.eval_batch_size)
                ]
            }
        self._eval_fn = jax.jit(partial(eval_step, graphdef, task))

    def sums(self, params, name: str, step: int) -> dict:
        """Metric sums of split `name`."""
        batch_size = self.c.eval_batch_size
        if self.stream:
            return stream_scan(
                self.graphdef,
                self.task,
                batch_size,
                self.task.row_length(name, batch_size),
                self.task.num_batches(name, batch_size),
                params,
                self.sets[name],
            )
        totals = None
        for batch in self.sets[name]:
            sums = self._eval_fn(params, batch, step)
            totals = sums if totals is None else jax.tree.map(jnp.add, totals, sums)
        return totals

    def __call__(self, params, step: int) -> dict[str, dict]:
        results = {}
        for name in self.sets:
            metrics = {k: float(v) for k, v in means(jax.device_get(self.sums(params, name, step))).items()}
            metrics.update(self.reference)
            if self.stream:
                metrics["bpc"] = metrics["loss"] / math.log(2)
            results[name] = metrics
        return results
