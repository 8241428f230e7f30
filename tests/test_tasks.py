"""Exact layouts of the synthetic generators, against hand-written sequences."""

import math

import jax
import numpy as np
import pytest

from tasks import make_task
from tasks.copying import CopyingTask
from tasks.recall import RecallTask


def test_copying_layout_matches_hand_written_example():
    task = CopyingTask(delay=3)
    batch = jax.device_get(task.sample(jax.random.key(0), 4))
    assert batch["inputs"].shape == (4, 23) and batch["targets"].shape == (4, 23)
    for inputs, targets in zip(batch["inputs"], batch["targets"]):
        d = list(inputs[:10])
        # ten data symbols, T − 1 = 2 blanks, the marker, ten blanks
        assert list(inputs) == d + [0, 0] + [9] + [0] * 10
        # T + 10 = 13 blanks, then the ten data symbols
        assert list(targets) == [0] * 13 + d
        assert all(1 <= s <= 8 for s in d)


def test_copying_symbols_uniform_and_baseline():
    task = CopyingTask(delay=200)
    data = np.asarray(task.sample(jax.random.key(1), 2000)["inputs"][:, :10]).ravel()
    counts = np.bincount(data, minlength=9)[1:]
    assert counts.min() > 0.9 * len(data) / 8 and counts.max() < 1.1 * len(data) / 8
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / 220)
    assert task.vocab_size == 10 and task.num_classes == 9


def test_recall_solver_on_the_papers_example():
    task = RecallTask(length=10)
    # "a1s2d3f4g5??d -> 3" with a..g = keys 1..5 and digit k = id 6 + k
    a, s, d, f, g = 1, 2, 3, 4, 5
    seq = [a, 6 + 1, s, 6 + 2, d, 6 + 3, f, 6 + 4, g, 6 + 5, 0, 0, d]
    assert task.answer(seq) == 3
    assert task.vocab_size == 16 and task.seq_len == 13


@pytest.mark.parametrize("length", [10, 30, 50])
def test_recall_layout(length):
    task = RecallTask(length=length)
    half = length // 2
    batch = jax.device_get(task.sample(jax.random.key(length), 64))
    assert batch["inputs"].shape == (64, length + 3) and batch["targets"].shape == (64,)
    for inputs, target in zip(batch["inputs"], batch["targets"]):
        keys, values = inputs[0:length:2], inputs[1:length:2]
        assert sorted(keys) == list(range(1, half + 1))  # each key once
        assert np.all((values >= half + 1) & (values <= half + 10))
        assert list(inputs[length : length + 2]) == [0, 0]
        assert inputs[-1] in keys
        assert 0 <= target < 10 and target == task.answer(inputs)
        assert inputs.max() < task.vocab_size == half + 11


def test_generators_are_seeded():
    task = RecallTask(30)
    a = task.sample(jax.random.key(3), 8)["inputs"]
    b = task.sample(jax.random.key(3), 8)["inputs"]
    c = task.sample(jax.random.key(4), 8)["inputs"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # jit-able: data costs no host time
    np.testing.assert_array_equal(jax.jit(task.sample, static_argnums=1)(jax.random.key(3), 8)["inputs"], a)


@pytest.mark.parametrize(
    "name,options", [("copying", {"delay": 0}), ("recall", {"length": 31}), ("recall", {"lenght": 30}), ("nope", {})]
)
def test_bad_task_options_raise(name, options):
    with pytest.raises(ValueError, match=name if name != "nope" else "valid tasks"):
        make_task(name, **options)
