"""Orbax checkpoints of a run: the latest ones in <workdir>/checkpoints, the best on validation in <workdir>/best.

Saves are asynchronous (orbax copies the arrays off the devices, then writes in the background); `close`
waits for the last one. On resume, a checkpoint that cannot be read (a truncated copy, a disk that
filled up) is named in one line and moved aside to <workdir>/checkpoints_unreadable/, never deleted, and
the run resumes from the newest intact one. On several processes every one of them calls save and
restore (orbax writes the global arrays from all of them); only process 0 moves files.
"""

from __future__ import annotations

import math
import os
import shutil
import time

import jax
import orbax.checkpoint as ocp


def _detached(state):
    """A copy of `state`'s arrays: the train step donates its state, so an asynchronous save must not read the
    buffers the next step overwrites."""
    return jax.tree.map(lambda x: x.copy() if isinstance(x, jax.Array) else x, state)


class NoIntactCheckpoint(RuntimeError):
    """Every checkpoint of a workdir was unreadable (all were moved aside)."""


class Checkpoints:
    """Orbax CheckpointManager over <workdir>/checkpoints: the TrainState plus JSON metadata with the config."""

    def __init__(self, workdir: str, keep: int):
        self.workdir = workdir
        self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))  # orbax needs an absolute path
        self.manager = ocp.CheckpointManager(
            self.directory,
            item_names=("state", "meta"),
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )
        self._best_dir = os.path.abspath(os.path.join(workdir, "best"))
        self._best = None
        self.moved: list[str] = []  # what was moved aside, for the run's log

    @property
    def best(self) -> ocp.CheckpointManager:
        """The best-on-validation checkpoint (<workdir>/best, one kept), opened on first use."""
        if self._best is None:
            self._best = ocp.CheckpointManager(
                self._best_dir,
                item_names=("state", "meta"),
                options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True),
            )
        return self._best

    def best_valid_loss(self) -> float:
        if not os.path.isdir(self._best_dir) or self.best.latest_step() is None:
            return math.inf
        meta = self.best.restore(self.best.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        return meta.meta["valid_loss"]

    def save_best(self, state, meta: dict) -> None:
        self.best.save(
            int(state.step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(_detached(state)), meta=ocp.args.JsonSave(meta)),
        )

    def restore_best(self, target):
        """The best-on-validation state (None if none was kept)."""
        if not os.path.isdir(self._best_dir):
            return None
        self.best.wait_until_finished()
        step = self.best.latest_step()
        if step is None:
            return None
        return self.best.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target))).state

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, state, meta: dict) -> None:
        """Start saving `state` (asynchronous); a step already saved is left as it is."""
        step = int(state.step)
        if step in self.manager.all_steps():
            return
        self.manager.save(
            step, args=ocp.args.Composite(state=ocp.args.StandardSave(_detached(state)), meta=ocp.args.JsonSave(meta))
        )

    def reached_preemption(self, step: int) -> bool:
        """Whether JAX's preemption notice (SIGTERM on a multi-process cluster) asks every process to save at `step`."""
        return self.manager.reached_preemption(step)

    def _move_aside(self, step: int, err: Exception) -> None:
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
        if self._best is not None:
            self._best.wait_until_finished()
            self._best.close()


def last_checkpoint(workdir: str) -> int | None:
    """The step of the newest checkpoint folder in <workdir>/checkpoints, or None."""
    folder = os.path.join(workdir, "checkpoints")
    steps = [int(d) for d in os.listdir(folder) if d.isdigit()] if os.path.isdir(folder) else []
    return max(steps, default=None)
