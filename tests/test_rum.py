"""RUM step and cell against a float64 reference written from §3.2 with dense matrices."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

from rumjax import RUMCarry, RUMCell, RUMParams, rum_step
from rumjax.rum import rum_initial_carry
from tests.reference import rum_sequence


def _random_params(rng, nx, nh, dtype=np.float64):
    shapes = dict(
        w_x_tau=(nx, nh),
        w_h_tau=(nh, nh),
        b_tau=(nh,),
        w_x_u=(nx, nh),
        w_h_u=(nh, nh),
        b_u=(nh,),
        w_x_eps=(nx, nh),
        b_eps=(nh,),
    )
    return {k: (rng.normal(size=s) / np.sqrt(s[0] if len(s) == 2 else 1)).astype(dtype) for k, s in shapes.items()}


def _scan(params, xs, lam, eta):
    carry = rum_initial_carry(xs.shape[:1], params.b_tau.shape[0], lam, xs.dtype)

    def body(carry, x_t):
        return rum_step(params, carry, x_t, lam=lam, eta=eta)

    carry, hs = jax.lax.scan(body, carry, jnp.swapaxes(xs, 0, 1))
    return carry, jnp.swapaxes(hs, 0, 1)


@pytest.mark.parametrize("lam", [0, 1, 2])
@pytest.mark.parametrize("eta", [None, 1.0])
def test_rum_step_matches_float64_reference(x64, rng, lam, eta):
    nx, nh, bsz, steps = 4, 6, 3, 7
    p = _random_params(rng, nx, nh)
    xs = rng.normal(size=(bsz, steps, nx))
    expected = rum_sequence(p, xs, lam=lam, eta=eta)
    carry, hs = _scan(RUMParams(**{k: jnp.asarray(v) for k, v in p.items()}), jnp.asarray(xs), lam, eta)
    assert hs.dtype == jnp.float64
    np.testing.assert_allclose(hs, expected, atol=1e-10, rtol=1e-10)
    if lam >= 1:
        assert carry.memory.shape == (bsz, nh, nh)
    else:
        assert carry.memory is None


def test_reference_rejects_a_wrong_cell(x64, rng):
    """The reference is sharp: swapping Rotation(ε, τ) for Rotation(τ, ε) is caught."""
    p = _random_params(rng, 3, 5)
    xs = rng.normal(size=(2, 5, 3))
    params = RUMParams(**{k: jnp.asarray(v) for k, v in p.items()})
    swapped = params._replace(b_tau=params.b_eps, b_eps=params.b_tau)
    _, hs = _scan(swapped, jnp.asarray(xs), 0, None)
    assert np.max(np.abs(np.asarray(hs) - rum_sequence(p, xs, lam=0, eta=None))) > 1e-3


@pytest.mark.parametrize("lam,eta", [(0, None), (1, 1.0), (2, None)])
def test_nnx_rnn_equals_python_loop(rng, lam, eta):
    cell = RUMCell(5, 8, lam=lam, eta=eta, rngs=nnx.Rngs(0))
    xs = jnp.asarray(rng.normal(size=(4, 9, 5)), jnp.float32)
    ys = nnx.RNN(cell)(xs)
    carry = cell.initialize_carry((4, 5))
    loop = []
    for t in range(xs.shape[1]):
        carry, y = cell(carry, xs[:, t])
        loop.append(y)
    np.testing.assert_allclose(ys, jnp.stack(loop, axis=1), atol=1e-5)
    # and a plain lax.scan over the pure step gives the same
    _, hs = _scan(cell.params, xs, lam, eta)
    np.testing.assert_allclose(ys, hs, atol=1e-5)


def test_cell_parameters_and_initialisation():
    cell = RUMCell(7, 10, gate_init="separate", rngs=nnx.Rngs(0))  # the joint default: tests/test_fidelity.py
    params = nnx.state(cell, nnx.Param)
    names = {str(path[0]) for path, _ in nnx.to_flat_state(params)}
    assert names == set(RUMParams._fields)
    assert cell.w_x_tau[...].shape == (7, 10) and cell.w_h_u[...].shape == (10, 10)
    np.testing.assert_array_equal(cell.b_tau[...], 1.0)
    np.testing.assert_array_equal(cell.b_u[...], 1.0)
    np.testing.assert_array_equal(cell.b_eps[...], 0.0)
    for w in (cell.w_h_tau[...], cell.w_h_u[...]):  # orthogonal recurrent kernels
        np.testing.assert_allclose(w.T @ w, np.eye(10), atol=1e-5)
    w = cell.w_x_tau[...]  # orthogonal rows for a wide (7, 10) kernel
    np.testing.assert_allclose(w @ w.T, np.eye(7), atol=1e-5)


def test_memory_stays_orthogonal_over_1000_float32_steps():
    cell = RUMCell(6, 32, lam=1, rngs=nnx.Rngs(1))
    xs = jax.random.normal(jax.random.key(2), (4, 1000, 6))
    carry, _ = nnx.RNN(cell, return_carry=True)(xs)
    r = carry.memory
    drift = float(jnp.max(jnp.linalg.norm(r @ jnp.swapaxes(r, -1, -2) - jnp.eye(32)[None], axis=(-2, -1))))
    print(f"lambda=1, N=32, 1000 float32 steps: max ||R R^T - I||_F = {drift:.2e}")
    assert drift < 1e-3


def test_bfloat16_compute_keeps_float32_state(rng):
    cell = RUMCell(5, 8, lam=1, eta=1.0, dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    xs = jnp.asarray(rng.normal(size=(2, 6, 5)), jnp.float32)
    carry, ys = nnx.RNN(cell, return_carry=True)(xs)
    assert carry.h.dtype == jnp.float32 and carry.memory.dtype == jnp.float32
    full = RUMCell(5, 8, lam=1, eta=1.0, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(ys, nnx.RNN(full)(xs), atol=5e-2)  # bf16 products, same model


def test_jit_vmap_grad_and_no_recompile(rng):
    cell = RUMCell(3, 6, lam=1, rngs=nnx.Rngs(0))
    params = cell.params
    xs = jnp.asarray(rng.normal(size=(2, 5, 3)), jnp.float32)

    @jax.jit
    def loss(params, xs):
        _, hs = _scan(params, xs, 1, None)
        return jnp.sum(hs**2)

    g = jax.grad(loss)(params, xs)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(g))
    assert any(float(jnp.max(jnp.abs(leaf))) > 0 for leaf in jax.tree.leaves(g))
    loss(params, xs + 1.0)
    loss(params, xs * 2.0)
    assert loss._cache_size() == 1
    # vmap over a batch of independent examples equals the batched step
    carry = rum_initial_carry((2,), 6, 1)
    step = lambda c, x: rum_step(params, c, x, lam=1)  # noqa: E731
    batched, _ = step(carry, xs[:, 0])
    mapped, _ = jax.vmap(step)(carry, xs[:, 0])
    np.testing.assert_allclose(mapped.memory, batched.memory, atol=1e-6)
    np.testing.assert_allclose(mapped.h, batched.h, atol=1e-6)


class RUMLayer(nnx.Module):
    """An nnx layer built from its own rngs, as `nnx.bridge.to_linen` expects."""

    def __init__(self, in_features, hidden_features, *, rngs):
        self.rnn = nnx.RNN(RUMCell(in_features, hidden_features, lam=1, rngs=rngs), rngs=False)

    def __call__(self, xs):
        return self.rnn(xs)


def test_linen_model_uses_cell_through_bridge(rng):
    class Classifier(nn.Module):
        @nn.compact
        def __call__(self, xs):
            hs = nnx.bridge.to_linen(RUMLayer, 4, 8)(xs)
            return nn.Dense(3)(hs[:, -1])

    xs = jnp.asarray(rng.normal(size=(2, 5, 4)), jnp.float32)
    model = Classifier()
    variables = model.init(jax.random.key(0), xs)
    out = model.apply(variables, xs)
    assert out.shape == (2, 3)
    flat = jax.tree_util.tree_flatten_with_path(variables["params"])[0]
    assert any("w_h_tau" in jax.tree_util.keystr(path) for path, _ in flat)
    g = jax.grad(lambda v: jnp.sum(model.apply(v, xs) ** 2))(variables)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(g))


@pytest.mark.parametrize("kwargs", [dict(lam=-1), dict(lam=1.5), dict(eta=0.0), dict(eta="1")])
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError, match="lam|eta"):
        RUMCell(3, 4, rngs=nnx.Rngs(0), **kwargs)


def test_carry_is_named():
    cell = RUMCell(3, 4, lam=1, rngs=nnx.Rngs(0))
    carry = cell.initialize_carry((2, 3))
    assert isinstance(carry, RUMCarry)
    np.testing.assert_array_equal(carry.h, 0.0)
    np.testing.assert_array_equal(carry.memory, np.broadcast_to(np.eye(4), (2, 4, 4)))


class RUMStepVariantsTest(chex.TestCase):
    """The pure step gives the float64 reference's h_t with and without jit (chex variants)."""

    @chex.variants(with_jit=True, without_jit=True)
    def test_step_with_and_without_jit(self):
        rng = np.random.default_rng(3)
        nx, nh, bsz = 4, 6, 2
        p = _random_params(rng, nx, nh, np.float32)
        xs = rng.normal(size=(bsz, 1, nx)).astype(np.float32)
        params = RUMParams(**{k: jnp.asarray(v) for k, v in p.items()})
        step = self.variant(lambda carry, x: rum_step(params, carry, x, lam=1, eta=1.0))
        carry, h = step(rum_initial_carry((bsz,), nh, 1), jnp.asarray(xs[:, 0]))
        chex.assert_shape(carry.memory, (bsz, nh, nh))
        chex.assert_trees_all_close(
            h, jnp.asarray(rum_sequence(p, xs.astype(np.float64), lam=1, eta=1.0)[:, 0], jnp.float32), atol=1e-5
        )
