"""End-to-end runs of train.py with tiny configs: learning, checkpoints, resume, devices, errors."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import train
from configs import copying, recall
from tasks.copying import CopyingTask
from training.metric_log import read_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(**overrides):
    c = copying.get_config("cpu")
    c.task_options.delay = 5
    c.hidden = 16
    c.batch_size = 16
    c.num_steps = 30
    c.optimizer = "adam"
    c.learning_rate = 1e-2
    c.log_every = 1
    c.eval_every = 10
    c.checkpoint_every = 10
    c.eval_size = 32
    c.eval_batch_size = 16
    c.num_devices = 1
    c.progress = False
    for key, value in overrides.items():
        c[key] = value
    return c


def train_losses(workdir):
    return {r["step"]: r["loss"] for r in read_metrics(workdir, "train")}


@pytest.mark.slow
def test_end_to_end_trains_and_writes_everything(tmp_path):
    """The loop, logs and workdir (learning is asserted where a memoryless model fails: the recall test
    below, tests/test_zoo.py's hold task)."""
    c = tiny_config()
    result = train.train_and_evaluate(c, str(tmp_path))
    losses = train_losses(tmp_path)
    assert sorted(losses) == list(range(1, 31))
    assert all(np.isfinite(v) for v in losses.values())
    assert np.mean([losses[s] for s in range(26, 31)]) < 0.7 * np.mean([losses[s] for s in range(1, 6)])
    assert result["train_step_compilations"] == 1  # no recompilation after step 1
    # metrics, config and TensorBoard events are in the workdir
    assert json.load(open(tmp_path / "config.json"))["cell"] == "rum"
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(tmp_path / "tb"))
    records = read_metrics(tmp_path)
    test_steps = [r["step"] for r in records if r["split"] == "test"]
    assert test_steps == [10, 20, 30]
    for key in ("grad_norm", "param_norm", "update_norm", "baseline_loss", "steps_per_sec"):
        assert key in records[0]
    # checkpoints kept, and every parameter changed from its initial value
    assert sorted(int(d) for d in os.listdir(tmp_path / "checkpoints") if d.isdigit()) == [10, 20, 30]
    task = train.build_task(c)
    _, initial = nnx.split(train.build_model(c, task), nnx.Param)
    ckpt = train.Checkpoints(str(tmp_path), 3)
    target = train.TrainState(jax.numpy.zeros((), jax.numpy.int32), initial, train.build_optimizer(c).init(initial))
    restored, meta = ckpt.restore(target)
    ckpt.close()
    assert int(restored.step) == 30 and meta["config"]["hidden"] == 16
    for (path, before), after in zip(jax.tree_util.tree_leaves_with_path(initial), jax.tree.leaves(restored.params)):
        assert not np.allclose(before, after), f"parameter {jax.tree_util.keystr(path)} did not change"


@pytest.mark.slow
def test_resume_continues_the_same_loss_sequence(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    train.train_and_evaluate(tiny_config(num_steps=20), str(full))
    train.train_and_evaluate(tiny_config(num_steps=10), str(part))
    assert max(train_losses(part)) == 10
    train.train_and_evaluate(tiny_config(num_steps=20), str(part))  # same workdir: resumes at 10
    a, b = train_losses(full), train_losses(part)
    assert sorted(b) == list(range(1, 21))
    np.testing.assert_allclose([b[s] for s in range(11, 21)], [a[s] for s in range(11, 21)], rtol=1e-6)


@pytest.mark.slow
def test_time_budget_stops_with_an_evaluation_and_a_checkpoint(tmp_path):
    c = tiny_config(num_steps=10**6, eval_every=10**6, checkpoint_every=10**6, time_budget_s=2.0)
    train.train_and_evaluate(c, str(tmp_path))
    records = read_metrics(tmp_path)
    last = max(r["step"] for r in records if r["split"] == "train")
    assert 1 <= last < 10**6
    test = [r for r in records if r["split"] == "test"]
    assert [r["step"] for r in test] == [last] and test[0]["wall_time"] >= 2.0
    assert train.Checkpoints(str(tmp_path), 3).latest_step() == last
    train.train_and_evaluate(c, str(tmp_path))  # resumed with the budget spent: no new step
    assert max(r["step"] for r in read_metrics(tmp_path, "train")) == last


@pytest.mark.slow
def test_resume_refuses_a_different_model_or_optimizer(tmp_path):
    train.train_and_evaluate(tiny_config(num_steps=10), str(tmp_path))
    with pytest.raises(ValueError, match="hidden"):
        train.train_and_evaluate(tiny_config(num_steps=20, hidden=8), str(tmp_path))
    with pytest.raises(ValueError, match="optimizer"):
        train.train_and_evaluate(tiny_config(num_steps=20, optimizer="sgd"), str(tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["rum", "lstm"])
def test_four_devices_give_the_losses_of_one(tmp_path, cell):
    assert jax.device_count() == 4  # set by conftest.py
    c1 = tiny_config(num_steps=8, cell=cell, num_devices=1)
    c4 = tiny_config(num_steps=8, cell=cell, num_devices=4)
    train.train_and_evaluate(c1, str(tmp_path / "one"))
    r4 = train.train_and_evaluate(c4, str(tmp_path / "four"))
    a, b = train_losses(tmp_path / "one"), train_losses(tmp_path / "four")
    np.testing.assert_allclose([b[s] for s in range(1, 9)], [a[s] for s in range(1, 9)], rtol=2e-5)
    assert r4["train_step_compilations"] == 1


@pytest.mark.slow
def test_recall_config_learns_a_short_recall(tmp_path):
    """Recall with 2 pairs (T = 4) through train.py, RUM λ = 1: a model without memory sees only the query
    at the last step and cannot know its value (1 in 10); 300 steps take RUM far above that."""
    c = recall.get_config("cpu")
    c.task_options.length, c.hidden, c.optimizer, c.learning_rate = 4, 32, "adam", 1e-2
    c.num_steps, c.eval_every, c.checkpoint_every, c.log_every = 300, 300, 300, 100
    c.batch_size, c.eval_size, c.eval_batch_size, c.num_devices, c.progress = 32, 512, 256, 1, False
    result = train.train_and_evaluate(c, str(tmp_path))
    assert result["accuracy"] >= 0.6 and np.isfinite(result["loss"]), result


def test_recall_trains_with_the_papers_rmsprop_and_the_authors_adam_is_a_preset():
    paper, authors = recall.get_config(), recall.get_config("fixed,adam")
    assert (paper.optimizer, paper.learning_rate, paper.rmsprop.decay) == ("rmsprop", 1e-3, 0.9)
    assert (authors.optimizer, authors.learning_rate) == ("adam", 1e-3)
    assert authors.task_options.train_size == 100_000 and paper.task_options.train_size == 0
    assert authors.cell == paper.cell == "rum" and authors.rum.lam == 1


@pytest.mark.parametrize("preset", sorted(recall.PRESETS))
def test_every_recall_preset_builds_the_model_it_names(preset):
    c = recall.get_config(f"cpu,{preset}")
    train.validate_config(c)
    cell = train.build_model(c, train.build_task(c)).cell
    named = recall.PRESETS[preset]
    model = named if "cell" in named else recall.PRESETS["rum"]  # t30, t50, t8, fixed: the default model, RUM
    assert c.cell == model["cell"] and cell.hidden_features == model["hidden"] == 50
    for key, value in {**model, **named}.items():
        if key in c[c.cell]:  # a cell option: into the cell's block, which build_model passes on
            assert c[c.cell][key] == value, (preset, key)
        elif key not in ("cell", "hidden"):  # any other key: the config's own (dotted: nested)
            block, *rest = key.split(".")
            assert (c[block][rest[0]] if rest else c[key]) == value, (preset, key)
    assert c.task_options.length == {"t50": 50, "t8": 8}.get(preset, 30)


@pytest.mark.parametrize(
    "overrides,match",
    [
        (dict(cell="rumm"), "valid cells: .*gru, .*lstm, .*rum"),
        (dict(optimizer="adagrad"), "valid: rmsprop, adam, sgd"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=10, num_devices=4), "multiple of the 4 devices"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(dtype="float8"), "dtype"),
        (dict(schedule="piecewise"), "lr_boundaries"),
        (dict(task="babl"), "valid tasks"),
    ],
)
def test_bad_config_values_are_named(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        train.train_and_evaluate(tiny_config(**overrides), str(tmp_path))


def test_bad_cell_option_is_named(tmp_path):
    c = tiny_config()
    c.rum.lam = -2
    with pytest.raises(ValueError, match="lam"):
        train.train_and_evaluate(c, str(tmp_path))


@pytest.mark.slow
def test_unknown_config_key_on_the_command_line_is_named(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--config=configs/copying.py:cpu",
            f"--workdir={tmp_path}",
            "--config.num_stepz=3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "num_stepz" in out.stderr and "num_steps" in out.stderr  # "Did you mean ...?"
    out = subprocess.run(
        [sys.executable, "train.py", "--config=configs/copying.py:cpu,lstmm", f"--workdir={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "lstmm" in out.stderr


@pytest.mark.slow
def test_nan_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    train.train_and_evaluate(tiny_config(num_steps=10), str(tmp_path))
    honest = CopyingTask.metrics

    def poisoned(self, logits, batch):  # a model whose loss turns NaN
        sums = honest(self, logits, batch)
        return dict(sums, loss_sum=sums["loss_sum"] * jnp.nan)

    monkeypatch.setattr(CopyingTask, "metrics", poisoned)
    with pytest.raises(FloatingPointError, match="step 11.*last good checkpoint.*step 10"):
        train.train_and_evaluate(tiny_config(num_steps=40, checkpoint_every=1), str(tmp_path))
    monkeypatch.setattr(CopyingTask, "metrics", honest)
    steps = sorted(int(d) for d in os.listdir(tmp_path / "checkpoints") if d.isdigit())
    assert steps == [10]
    # the kept checkpoint still resumes
    result = train.train_and_evaluate(tiny_config(num_steps=12), str(tmp_path))
    assert np.isfinite(result["loss"])


def test_load_config_fills_keys_added_after_a_run_was_saved(tmp_path):
    saved = json.loads(tiny_config().to_json())
    del saved["num_layers"], saved["rum"]["layer_norm"]  # as in a run saved by an older version
    saved["hidden"] = 7
    (tmp_path / "config.json").write_text(json.dumps(saved))
    c = train.load_config(str(tmp_path / "config.json"))
    assert c.hidden == 7 and c.num_layers == 1 and c.rum.layer_norm is False
    assert c.task_options.delay == 5


def test_resume_may_change_how_a_step_is_computed_but_not_the_model():
    saved = json.loads(tiny_config().to_json())
    saved["rum"]["reversible"] = not saved["rum"]["reversible"]  # same function and gradients, another backward
    assert train.saved_config_mismatch(saved, tiny_config()) == []
    today = tiny_config().rum.reversible
    assert train.compute_only_changes(saved, tiny_config()) == {"rum.reversible": (not today, today)}
    saved["rum"]["hoist_inputs"] = True  # where the input projections are computed: also how, not what
    assert train.saved_config_mismatch(saved, tiny_config()) == []
    saved["rum"]["lam"] = 1 - saved["rum"]["lam"]
    assert train.saved_config_mismatch(saved, tiny_config()) == ["rum"]


def test_hoist_inputs_is_a_nullable_bool_in_the_config_and_reaches_the_cell():
    c = tiny_config()
    assert c.rum.hoist_inputs is None
    c.rum.hoist_inputs = True
    assert c.rum.hoist_inputs is True
    with pytest.raises(TypeError):
        c.rum.hoist_inputs = 0.5
    model = train.build_model(c, CopyingTask(delay=5))
    assert model.cell.hoist_inputs is True


def test_the_piecewise_schedule_switches_at_each_boundary():
    from training.build import learning_rate_schedule

    c = tiny_config(schedule="piecewise", learning_rate=2e-3)
    c.lr_boundaries, c.lr_values = (10, 25), (1e-4, 1e-5)
    schedule = jax.jit(learning_rate_schedule(c))
    got = [float(schedule(s)) for s in (0, 9, 10, 11, 24, 25, 10**6)]
    np.testing.assert_allclose(got, [2e-3, 2e-3, 1e-4, 1e-4, 1e-4, 1e-5, 1e-5], rtol=1e-6)
    c.schedule = "constant"
    assert float(learning_rate_schedule(c)(10**6)) == pytest.approx(2e-3)
