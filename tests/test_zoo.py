"""One contract over every registered cell (and the zoneout and stacked wrappers), in float32 and bfloat16."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rumjax.cells import CELLS, make_cell
from rumjax.models import SequenceClassifier, run_cell
from rumjax.stacked import StackedCell
from rumjax.zoneout import ZoneoutCell
from tasks.copying import CopyingTask

NX, NH, B, T = 5, 16, 3, 6
OPTIONS = {"eunn": {"fft": True}, "goru": {"fft": True}, "fs_rnn": {"slow_hidden": 8}, "ntm": {"slots": 8}}


def build(name, dtype=None, seed=0, nx=NX):
    rngs = nnx.Rngs(seed)
    if name == "rum+zoneout":
        return ZoneoutCell(make_cell("rum", nx, NH, rngs=rngs, dtype=dtype), hidden_rate=0.1)
    if name == "ln_lstm+zoneout":
        return ZoneoutCell(make_cell("ln_lstm", nx, NH, rngs=rngs, dtype=dtype), cell_rate=0.5, hidden_rate=0.1)
    if name == "stacked_rum":
        return StackedCell([make_cell("rum", nx, NH, rngs=rngs, dtype=dtype, eta=1.0),
                            make_cell("rum", NH, NH, rngs=rngs, dtype=dtype, eta=1.0)])
    if name == "rum_lam1_ln":
        return make_cell("rum", nx, NH, rngs=rngs, dtype=dtype, lam=1, layer_norm=True)
    return make_cell(name, nx, NH, rngs=rngs, dtype=dtype, **OPTIONS.get(name, {}))


ZOO = sorted(CELLS) + ["rum+zoneout", "ln_lstm+zoneout", "stacked_rum", "rum_lam1_ln"]
# bfloat16 runs in the full tier only (make test-all): the float32 variants cover the contract quickly
DTYPES = [None, pytest.param(jnp.bfloat16, marks=pytest.mark.slow)]


def _xs(seed=1):
    return jax.random.normal(jax.random.key(seed), (B, T, NX))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", ZOO)
def test_carry_is_stable_and_rnn_equals_loop(name, dtype):
    cell = build(name, dtype)
    xs = _xs()
    carry = cell.initialize_carry((B, NX), rngs=nnx.Rngs(carry=7))
    shapes = jax.tree.map(lambda a: (a.shape, a.dtype), carry)
    loop = []
    c = carry
    for t in range(T):
        c, y = cell(c, xs[:, t])
        assert jax.tree.map(lambda a: (a.shape, a.dtype), c) == shapes, f"{name}: carry changed at step {t}"
        assert y.shape == (B, NH)
        loop.append(y)
    ys = nnx.RNN(cell)(xs, initial_carry=carry)
    atol, rtol = (1e-5, 1e-5) if dtype is None else (3e-2, 2e-2)  # bfloat16: 8 bits of mantissa, 6 steps
    np.testing.assert_allclose(np.asarray(ys, np.float32), np.asarray(jnp.stack(loop, 1), np.float32), atol=atol,
                               rtol=rtol)
    # the state stays at least float32 whatever the compute dtype
    for leaf in jax.tree.leaves(carry):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32, f"{name}: carry leaf of dtype {leaf.dtype}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", ZOO)
def test_jit_equals_eager_and_gradients_are_finite(name, dtype):
    cell = build(name, dtype)
    graphdef, params = nnx.split(cell)
    xs = _xs(2)

    def loss(params, xs):
        _, hs = run_cell(nnx.merge(graphdef, params), xs, rng=jax.random.key(3))
        return jnp.mean(jnp.square(hs.astype(jnp.float32) - 0.1))

    eager = loss(params, xs)
    jitted = jax.jit(loss)(params, xs)
    np.testing.assert_allclose(jitted, eager, rtol=1e-4 if dtype is None else 2e-2)
    grads = jax.grad(loss)(params, xs)
    leaves = jax.tree.leaves(grads)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in leaves), name
    assert sum(float(jnp.sum(jnp.abs(g.astype(jnp.float32)))) for g in leaves) > 0, f"{name}: all gradients zero"


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_each_cell_learns_a_tiny_copy_task(name):
    task = CopyingTask(delay=2)
    model = SequenceClassifier(vocab_size=task.vocab_size, num_classes=task.num_classes, cell="gru", hidden=NH,
                               rngs=nnx.Rngs(0))
    model.cell = build(name, nx=task.vocab_size)  # the same cell, reading the task's one-hot inputs
    graphdef, params = nnx.split(model)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))  # clipped, as the paper's runs with LN
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, key):
        batch = task.sample(key, 32)

        def loss_fn(p):
            sums = task.metrics(nnx.merge(graphdef, p)(batch["inputs"], rng=key), batch)
            return sums["loss_sum"] / sums["count"]

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt, loss

    losses = []
    for i in range(60):
        params, opt, loss = step(params, opt, jax.random.key(i))
        losses.append(float(loss))
    assert np.isfinite(losses).all(), name
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), f"{name}: {losses[:3]} ... {losses[-3:]}"
