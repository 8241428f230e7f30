"""Orbax checkpoints of a run in <workdir>/checkpoints: the latest ones and the best on validation, in one manager.

Orbax's preservation policies keep a checkpoint while any policy wants it: the `keep` latest (`LatestN`), and
the one with the lowest validation loss (`BestN` over the `valid_loss` metric saved with it). `best_fn` is set
as well: only then does orbax 0.12 write a step's metrics to disk, without which a resumed run's policy would
find no metrics and delete the best checkpoint at its next save (measured). Runs saved before this (rumjax
0.3) kept their best in a second manager, <workdir>/best; it is still read, and a better model saved since
takes its place.

Saves are asynchronous (orbax copies the arrays off the devices, then writes in the background); `close`
waits for the last one. On resume, a checkpoint that cannot be read (a truncated copy, a disk that
filled up) is named in one line and moved aside to <workdir>/checkpoints_unreadable/, never deleted, and
the run resumes from the newest intact one. On several processes every one of them calls save and
restore (orbax writes the global arrays from all of them); only process 0 moves files.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers


def _detached(state):
    """A copy of `state`'s arrays: the train step donates its state, so an asynchronous save must not read the
    buffers the next step overwrites."""
    return jax.tree.map(lambda x: x.copy() if isinstance(x, jax.Array) else x, state)


def _valid_loss(metrics: dict) -> float:
    return metrics["valid_loss"]


class _ExpectedWarnings(logging.Filter):
    """Orbax warns at every save without metrics once it tracks a best (most saves have none, by design), and
    at every read-only manager (the report's and sample's looks): neither is news."""

    EXPECTED = ("did not provide metrics", "read_only=True, setting save_interval_steps=0", "directory is read only")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.EXPECTED)


class NoIntactCheckpoint(RuntimeError):
    """Every checkpoint of a workdir was unreadable (all were moved aside)."""


class Checkpoints:
    """The TrainState plus JSON metadata (the config) of a run's checkpoints; `read_only` for tools that only
    look (a report beside a running training): they neither create folders nor move a failing checkpoint."""

    def __init__(self, workdir: str, keep: int, read_only: bool = False):
        self.workdir, self.read_only = workdir, read_only
        self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))  # orbax needs an absolute path
        keep_latest_and_best = checkpoint_managers.AnyPreservationPolicy(
            [
                checkpoint_managers.LatestN(n=keep),
                checkpoint_managers.BestN(
                    get_metric_fn=_valid_loss, reverse=True, n=1, keep_checkpoints_without_metrics=False
                ),
            ]
        )
        absl = logging.getLogger("absl")
        if not any(isinstance(f, _ExpectedWarnings) for f in absl.filters):
            absl.addFilter(_ExpectedWarnings())
        self.manager = ocp.CheckpointManager(
            self.directory,
            item_names=("state", "meta"),
            options=ocp.CheckpointManagerOptions(
                preservation_policy=keep_latest_and_best,
                best_fn=_valid_loss,
                best_mode="min",
                create=not read_only,
                read_only=read_only,
            ),
        )
        self._legacy_best_dir = os.path.abspath(os.path.join(workdir, "best"))
        self._legacy = None
        self.moved: list[str] = []  # what was moved aside, for the run's log

    @property
    def _legacy_best(self) -> ocp.CheckpointManager | None:
        """<workdir>/best of a run saved before the one-manager layout (None where there is none)."""
        if self._legacy is None and os.path.isdir(self._legacy_best_dir):
            self._legacy = ocp.CheckpointManager(self._legacy_best_dir, item_names=("state", "meta"))
        return self._legacy if self._legacy is not None and self._legacy.latest_step() is not None else None

    def best_step(self) -> int | None:
        """The step of the best-on-validation checkpoint in checkpoints/ (None if no saved step has a metric)."""
        self.manager.wait_until_finished()
        step = self.manager.best_step()
        return step if step is not None and self.manager.metrics(step) else None

    def best_valid_loss(self) -> float:
        """The validation loss of the best model kept (here or in a legacy best/), inf if none."""
        step = self.best_step()
        if step is not None:
            return _valid_loss(self.manager.metrics(step))
        legacy = self._legacy_best
        if legacy is None:
            return math.inf
        meta = legacy.restore(legacy.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return meta.meta["valid_loss"]

    def restore_best(self, target):
        """The best-on-validation state (None if none was kept)."""
        step, manager = self.best_step(), self.manager
        if step is None:  # none here: a legacy best/, if any
            manager = self._legacy_best
            if manager is None:
                return None
            step = manager.latest_step()
        return manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target))).state

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, state, meta: dict, valid_loss: float | None = None) -> None:
        """Start saving `state` (asynchronous), with its validation loss where it is the best model so far (the
        preservation policy then keeps it); a step already saved is left as it is."""
        step = int(state.step)
        if step in self.manager.all_steps():
            return
        self.manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(_detached(state)), meta=ocp.args.JsonSave(meta)),
            metrics=None if valid_loss is None else {"valid_loss": float(valid_loss)},
        )

    def reached_preemption(self, step: int) -> bool:
        """Whether JAX's preemption notice (SIGTERM on a multi-process cluster) asks every process to save at `step`."""
        return self.manager.reached_preemption(step)

    def _move_aside(self, step: int, err: Exception) -> None:
        if self.read_only:  # a tool that only looks leaves a failing checkpoint where it is (it may be mid-save)
            raise err
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        dest = os.path.join(os.path.abspath(self.workdir), "checkpoints_unreadable", f"{step}-{int(time.time())}")
        if jax.process_index() == 0:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.move(os.path.join(self.directory, str(step)), dest)
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices(f"moved checkpoint {step} aside")
        line = f"checkpoint {step} in {self.directory} cannot be read ({reason}); moved it to {dest}"
        print(line, flush=True)
        self.moved.append(line)
        self.manager.reload()

    def saved_config(self) -> dict:
        """The config stored with the newest checkpoint whose metadata can be read (older unreadable ones and
        newer ones are moved aside as they are met)."""
        while True:
            step = self.manager.latest_step()
            if step is None:
                raise NoIntactCheckpoint(
                    f"{self.workdir}: no checkpoint can be read; found and moved aside: "
                    f"{'; '.join(self.moved) or 'none'}. Start a new run, or restore a copy of the workdir."
                )
            try:
                meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
                return meta.get("config", {})
            except Exception as err:  # a damaged checkpoint raises many types (json, tensorstore, orbax)
                self._move_aside(step, err)

    def restore(self, target):
        """(state, meta) of the newest checkpoint that restores into `target`'s structure and shardings.

        A checkpoint that fails while an older one restores is damaged: it is moved aside. When none
        restores, their metadata was readable (saved_config ran first), so the config, not the files, is
        the likely cause: a ValueError says so and nothing is moved."""
        steps = sorted(self.manager.all_steps(), reverse=True)
        failures = []
        for step in steps:
            try:
                restored = self.manager.restore(
                    step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore())
                )
            except Exception as err:  # noqa: BLE001 (orbax raises many types)
                failures.append((step, err))
                continue
            if not self.read_only:  # a tool that only looks skips them and moves nothing
                for bad_step, err in failures:
                    self._move_aside(bad_step, err)
            return restored.state, restored.meta
        step, err = failures[0]
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"Could not restore the checkpoints in {self.directory} (steps {steps}) into this config: {first}"
        ) from err

    def close(self) -> None:
        """Wait for saves in flight, then release the managers."""
        self.manager.wait_until_finished()
        self.manager.close()
        if self._legacy is not None:
            self._legacy.close()


def last_checkpoint(workdir: str) -> int | None:
    """The step of the newest checkpoint folder in <workdir>/checkpoints, or None."""
    folder = os.path.join(workdir, "checkpoints")
    steps = [int(d) for d in os.listdir(folder) if d.isdigit()] if os.path.isdir(folder) else []
    return max(steps, default=None)
