"""One contract over every registered cell (and the zoneout and stacked wrappers), in float32 and bfloat16."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rumjax.cells import CELLS, make_cell
from rumjax.models import run_cell
from rumjax.stacked import StackedCell
from rumjax.zoneout import ZoneoutCell

NX, NH, B, T = 5, 16, 3, 6
OPTIONS = {"eunn": {"fft": True}, "goru": {"fft": True}, "fs_rnn": {"slow_hidden": 8}, "ntm": {"slots": 8}}


def build(name, dtype=None, seed=0, nx=NX, param_dtype=jnp.float32):
    rngs = nnx.Rngs(seed)
    kw = dict(rngs=rngs, dtype=dtype, param_dtype=param_dtype)
    if name == "rum+zoneout":
        return ZoneoutCell(make_cell("rum", nx, NH, **kw), hidden_rate=0.1)
    if name == "ln_lstm+zoneout":
        return ZoneoutCell(make_cell("ln_lstm", nx, NH, **kw), cell_rate=0.5, hidden_rate=0.1)
    if name == "stacked_rum":
        return StackedCell([make_cell("rum", nx, NH, **kw, eta=1.0), make_cell("rum", NH, NH, **kw, eta=1.0)])
    if name == "rum_lam1_ln":
        return make_cell("rum", nx, NH, **kw, lam=1, layer_norm=True)
    return make_cell(name, nx, NH, **kw, **OPTIONS.get(name, {}))


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
    np.testing.assert_allclose(
        np.asarray(ys, np.float32), np.asarray(jnp.stack(loop, 1), np.float32), atol=atol, rtol=rtol
    )
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


# the fast tier takes RUM (λ = 0 and λ = 1 with LN) and Flax's GRU through every door; make test-all the rest
DOOR_CELLS = [n if n in ("rum", "rum_lam1_ln", "gru") else pytest.param(n, marks=pytest.mark.slow) for n in ZOO]


@pytest.mark.parametrize(
    "param_dtype", [jnp.float32, pytest.param(jnp.bfloat16, marks=pytest.mark.slow)], ids=["float32", "bfloat16"]
)
@pytest.mark.parametrize("name", DOOR_CELLS)
def test_every_cell_through_every_door(name, param_dtype):
    """Flax's cell-generic contract, through rumjax.RNN, nnx.RNN and nnx.Bidirectional, with float32 or
    bfloat16 parameters: the parameters have that dtype; rumjax.RNN gives nnx.RNN's outputs and final carry
    (tree by tree) with and without ragged `seq_lengths`; a bidirectional layer concatenates a forward and a
    reversed pass; gradients are finite and reach the parameters."""
    import rumjax

    cell = build(name, param_dtype=param_dtype)
    assert {p.dtype for p in jax.tree.leaves(nnx.state(cell, nnx.Param))} == {jnp.dtype(param_dtype)}
    xs = _xs(3).astype(param_dtype)
    # zoneout's carry holds one random key for the whole batch, which nnx.RNN's per-example seq_lengths
    # cannot index (ZoneoutCell's docstring): its sequences run at full length
    lengths = None if "zoneout" in name else jnp.array([T, 2, 4])
    for kwargs in ({}, {"seq_lengths": lengths}, {"seq_lengths": lengths, "reverse": True, "keep_order": True}):
        ours = rumjax.RNN(cell, return_carry=True)(xs, rngs=nnx.Rngs(carry=5), **kwargs)
        flax = nnx.RNN(cell, return_carry=True)(xs, rngs=nnx.Rngs(carry=5), **kwargs)
        assert jax.tree.structure(ours) == jax.tree.structure(flax), name
        for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(flax)):
            assert a.shape == b.shape and a.dtype == b.dtype, name
            if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):  # zoneout's carry holds its random key
                np.testing.assert_array_equal(jax.random.key_data(a), jax.random.key_data(b))
            elif param_dtype == jnp.float32:
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5, err_msg=name)
            else:  # bfloat16: the two paths round differently; compare as a whole, to bfloat16's few digits
                a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
                assert np.linalg.norm(a - b) <= 3e-2 * np.linalg.norm(b) + 1e-3, name
    bi = nnx.Bidirectional(rumjax.RNN(cell), rumjax.RNN(build(name, seed=1, param_dtype=param_dtype)), rngs=nnx.Rngs(0))
    ys = bi(xs, seq_lengths=lengths)
    assert ys.shape == (B, T, 2 * NH) and bool(jnp.all(jnp.isfinite(ys.astype(jnp.float32)))), name

    def loss(model):
        return jnp.mean(jnp.square(model(xs, seq_lengths=lengths).astype(jnp.float32)))

    grads = jax.tree.leaves(nnx.grad(loss)(bi))
    assert all(bool(jnp.all(jnp.isfinite(g.astype(jnp.float32)))) for g in grads), name
    assert sum(float(jnp.sum(jnp.abs(g.astype(jnp.float32)))) for g in grads) > 0, name


HOLD_T, HOLD_C = 6, 4  # hold one of 4 symbols, seen at t = 0, through 5 blank steps, and name it at the last


def hold_batch(key, batch):
    """Inputs (batch, HOLD_T, HOLD_C + 1): the symbol one-hot at t = 0, then a blank marker; target: the symbol.
    A model without memory sees only blanks at the last step: chance, 1 in 4 (loss ln 4 = 1.386)."""
    symbol = jax.random.randint(key, (batch,), 0, HOLD_C)
    xs = jnp.zeros((batch, HOLD_T, HOLD_C + 1)).at[:, 0].set(jax.nn.one_hot(symbol, HOLD_C + 1))
    return xs.at[:, 1:, HOLD_C].set(1.0), symbol


class Holder(nnx.Module):
    def __init__(self, cell):
        self.cell = cell
        self.readout = nnx.Linear(NH, HOLD_C, rngs=nnx.Rngs(1))

    def __call__(self, xs, key):
        _, hs = run_cell(self.cell, xs, rng=key)
        return self.readout(hs[:, -1])


def train_to_hold(cell, steps=60):
    """Adam 1e-2 (clipped at 1, as the paper's runs with LN) for `steps` of batch 32; the held-out accuracy."""
    graphdef, params = nnx.split(Holder(cell))
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, key):
        xs, ys = hold_batch(key, 32)

        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(nnx.merge(graphdef, p)(xs, key), ys).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt, loss

    for i in range(steps):
        params, opt, loss = step(params, opt, jax.random.key(i))
        assert np.isfinite(float(loss))
    xs, ys = hold_batch(jax.random.key(10_000), 512)
    return float(jnp.mean(jnp.argmax(nnx.merge(graphdef, params)(xs, jax.random.key(0)), -1) == ys))


class Memoryless(nnx.RNNCellBase):
    """The control: h_t = tanh(W x_t), no recurrence; it cannot hold anything."""

    def __init__(self, nx):
        self.w = nnx.Linear(nx, NH, rngs=nnx.Rngs(0))

    def __call__(self, carry, x):
        h = jnp.tanh(self.w(x))
        return h, h

    def initialize_carry(self, input_shape, rngs=None):
        return jnp.zeros(input_shape[:-1] + (NH,))

    @property
    def num_feature_axes(self):
        return 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_each_cell_learns_to_hold_a_symbol(name):
    """Every cell must carry information across time: ≥ 90% where a memoryless model reaches 1 in 4."""
    accuracy = train_to_hold(build(name, nx=HOLD_C + 1))
    assert accuracy >= 0.9, f"{name}: held-out accuracy {accuracy:.3f} (a memoryless model: 0.25)"


@pytest.mark.slow
def test_the_hold_task_fails_a_memoryless_cell():
    """The check above can fail: the same training of a cell without recurrence stays at chance."""
    assert train_to_hold(Memoryless(HOLD_C + 1)) < 0.4
