"""training/checkpoints.py: the latest checkpoints and the best on validation in one orbax manager."""

import math
import os

import jax.numpy as jnp
import orbax.checkpoint as ocp

from training.checkpoints import Checkpoints
from training.steps import TrainState

VALID = {3: 5.0, 6: 4.0, 9: 4.5, 12: 3.0, 15: 3.5}  # step -> validation loss, at the evaluation steps


def _state(step: int) -> TrainState:
    return TrainState(jnp.asarray(step, jnp.int32), {"w": jnp.full((3,), float(step))}, ())


def _train(ckpt: Checkpoints, steps) -> None:
    """What train.py saves: every step here, with its validation loss where it beats every earlier one."""
    best = ckpt.best_valid_loss()
    for step in steps:
        improved = step in VALID and VALID[step] < best
        best = VALID[step] if improved else best
        ckpt.save(_state(step), {"step": step}, valid_loss=VALID[step] if improved else None)


def _steps(workdir) -> list[int]:
    return sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())


def test_the_latest_and_the_best_are_kept_and_the_best_survives_a_resume(tmp_path):
    ckpt = Checkpoints(str(tmp_path), keep=2)
    _train(ckpt, range(1, 14))
    ckpt.close()
    assert _steps(tmp_path) == [12, 13]  # 12 is both the best and one of the latest two
    ckpt = Checkpoints(str(tmp_path), keep=2)  # a resumed run: the best is read back from disk
    assert ckpt.best_step() == 12 and ckpt.best_valid_loss() == 3.0
    _train(ckpt, range(14, 20))  # 15 (3.5) is no better: not kept as best
    ckpt.close()
    assert _steps(tmp_path) == [12, 18, 19]
    ckpt = Checkpoints(str(tmp_path), keep=2)
    assert int(ckpt.restore_best(_state(0)).step) == 12
    assert float(ckpt.restore_best(_state(0)).params["w"][0]) == 12.0
    assert int(ckpt.restore(_state(0))[0].step) == 19  # resuming takes the latest, not the best
    ckpt.close()


def test_a_run_without_validation_keeps_only_the_latest(tmp_path):
    ckpt = Checkpoints(str(tmp_path), keep=2)
    for step in range(1, 6):
        ckpt.save(_state(step), {"step": step})
    ckpt.close()
    assert _steps(tmp_path) == [4, 5]
    ckpt = Checkpoints(str(tmp_path), keep=2)
    assert ckpt.best_step() is None and ckpt.best_valid_loss() == math.inf and ckpt.restore_best(_state(0)) is None
    ckpt.close()


def test_a_workdir_saved_with_a_separate_best_folder_keeps_its_best_until_a_better_one(tmp_path):
    """rumjax 0.3 kept the best model in a second manager, <workdir>/best, its loss in the metadata."""
    legacy = ocp.CheckpointManager(
        os.path.abspath(tmp_path / "best"),
        item_names=("state", "meta"),
        options=ocp.CheckpointManagerOptions(create=True),
    )
    legacy.save(
        6,
        args=ocp.args.Composite(state=ocp.args.StandardSave(_state(6)), meta=ocp.args.JsonSave({"valid_loss": 4.0})),
    )
    legacy.close()
    ckpt = Checkpoints(str(tmp_path), keep=2)
    assert ckpt.best_valid_loss() == 4.0 and int(ckpt.restore_best(_state(0)).step) == 6
    _train(ckpt, range(7, 12))  # 9 (4.5) is worse than the legacy 4.0: nothing new is the best
    assert int(ckpt.restore_best(_state(0)).step) == 6
    _train(ckpt, range(12, 14))  # 12 (3.0) is better
    assert int(ckpt.restore_best(_state(0)).step) == 12 and ckpt.best_valid_loss() == 3.0
    ckpt.close()


def test_a_read_only_look_moves_nothing_and_creates_nothing(tmp_path):
    ckpt = Checkpoints(str(tmp_path / "run"), keep=2)
    _train(ckpt, range(1, 4))
    ckpt.close()
    with open(tmp_path / "run" / "checkpoints" / "3" / "state" / "_METADATA", "w") as f:
        f.write("{ truncated")
    look = Checkpoints(str(tmp_path / "run"), keep=2, read_only=True)
    assert int(look.restore(_state(0))[0].step) == 2  # skips the damaged newest one ...
    look.close()
    assert _steps(tmp_path / "run") == [2, 3]  # ... and leaves it where it is
    assert not os.path.exists(tmp_path / "run" / "checkpoints_unreadable")
    assert Checkpoints(str(tmp_path / "none"), keep=2, read_only=True).latest_step() is None
    assert not os.path.exists(tmp_path / "none" / "checkpoints")
