"""rum_sequence (hoisted projections, reversible λ = 1 backward) against the step-wise scan."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rumjax import RUMCell, rum_step
from rumjax.rum import rum_initial_carry
from rumjax.rum_sequence import rum_sequence


def stepwise(params, carry, xs, **kw):
    def body(c, x):
        return rum_step(params, c, x, **kw)

    carry, hs = jax.lax.scan(body, carry, jnp.swapaxes(xs, 0, 1))
    return carry, jnp.swapaxes(hs, 0, 1)


@pytest.mark.parametrize("hoist_inputs", [True, False])
@pytest.mark.parametrize("lam,eta,layer_norm", [(0, None, False), (1, None, False), (1, 1.0, True), (2, 1.0, False)])
def test_sequence_equals_stepwise_scan(x64, lam, eta, layer_norm, hoist_inputs):
    cell = RUMCell(4, 6, lam=lam, eta=eta, layer_norm=layer_norm, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    xs = jax.random.normal(jax.random.key(1), (3, 9, 4), jnp.float64)
    carry = rum_initial_carry((3,), 6, lam, jnp.float64)
    kw = dict(lam=lam, eta=eta, layer_norm=cell.ln_params)
    c1, h1 = stepwise(cell.params, carry, xs, **kw)
    c2, h2 = rum_sequence(cell.params, carry, xs, hoist_inputs=hoist_inputs, **kw)
    np.testing.assert_allclose(h2, h1, atol=1e-12)
    np.testing.assert_allclose(c2.h, c1.h, atol=1e-12)


@pytest.mark.parametrize(
    "dtype,tol", [("float64", 1e-9), pytest.param("float32", 1e-4, marks=pytest.mark.slow)]
)  # float32: test-all
@pytest.mark.parametrize("eta,layer_norm", [(None, False), (1.0, True)])
def test_reversible_gradients_equal_the_stored_ones(dtype, tol, eta, layer_norm):
    with jax.enable_x64(dtype == "float64"):
        cell = RUMCell(4, 8, lam=1, eta=eta, layer_norm=layer_norm, param_dtype=jnp.dtype(dtype), rngs=nnx.Rngs(0))
        xs = jax.random.normal(jax.random.key(1), (3, 40, 4), dtype)
        target = jax.random.normal(jax.random.key(2), (3, 40, 8), dtype)
        carry = rum_initial_carry((3,), 8, 1, dtype)

        def loss(params, ln, carry, reversible):
            final, hs = rum_sequence(params, carry, xs, lam=1, eta=eta, layer_norm=ln, reversible=reversible)
            return jnp.mean((hs - target) ** 2) + jnp.mean(final.memory[:, 0]) + jnp.mean(final.h)

        stored = jax.grad(loss, argnums=(0, 1, 2))(cell.params, cell.ln_params, carry, False)
        recomputed = jax.grad(loss, argnums=(0, 1, 2))(cell.params, cell.ln_params, carry, True)
        for a, b in zip(jax.tree.leaves(recomputed), jax.tree.leaves(stored)):
            scale = float(jnp.max(jnp.abs(b))) + 1e-12
            assert float(jnp.max(jnp.abs(a - b))) / scale < tol
        assert float(loss(cell.params, cell.ln_params, carry, True)) == pytest.approx(
            float(loss(cell.params, cell.ln_params, carry, False))
        )


def test_reversible_backward_stores_no_memory_per_step():
    """Compiled temporary memory of the gradient as T doubles: the stored scan grows by about one R_t
    (b·n² floats) per step, the reversible one by far less (only h_t and the input terms)."""
    b, n = 8, 128  # the reversible backward keeps O(b·n) per step: a small fraction of b·n² at this n
    cell = RUMCell(5, n, lam=1, rngs=nnx.Rngs(0))
    carry = rum_initial_carry((b,), n, 1)

    def temp_bytes(t, reversible):
        xs = jnp.ones((b, t, 5))

        def loss(params):
            return jnp.sum(rum_sequence(params, carry, xs, lam=1, reversible=reversible)[1])

        compiled = jax.jit(jax.grad(loss)).lower(cell.params).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    per_step = b * n * n * 4  # one float32 R_t
    stored_growth = temp_bytes(200, False) - temp_bytes(100, False)
    reversible_growth = temp_bytes(200, True) - temp_bytes(100, True)
    assert stored_growth > 0.9 * 100 * per_step
    assert reversible_growth < 0.1 * 100 * per_step


@pytest.mark.slow
def test_remat_keeps_gradients_and_stores_less_per_step():
    """jax.checkpoint on the step: the same gradients, and the compiled temporary memory grows with T
    by the carry only, not by every intermediate of the step."""
    b, n = 16, 64
    cell = RUMCell(5, n, eta=1.0, rngs=nnx.Rngs(0))
    carry = rum_initial_carry((b,), n, 0)

    def grad_fn(t, remat):
        xs = jax.random.normal(jax.random.key(1), (b, t, 5))

        w = jax.random.normal(jax.random.key(2), (b, t, n))

        def loss(params):  # not Σ h² : with η = 1 every ‖h_t‖ = 1, so that loss is constant
            return jnp.sum(rum_sequence(params, carry, xs, eta=1.0, remat=remat)[1] * w)

        return jax.jit(jax.grad(loss))

    for a, c in zip(jax.tree.leaves(grad_fn(20, True)(cell.params)), jax.tree.leaves(grad_fn(20, False)(cell.params))):
        assert float(jnp.max(jnp.abs(a - c))) <= 1e-4 * float(jnp.max(jnp.abs(c)))  # float32, relative to the leaf

    def growth(remat):
        sizes = [
            grad_fn(t, remat).lower(cell.params).compile().memory_analysis().temp_size_in_bytes for t in (100, 200)
        ]
        return sizes[1] - sizes[0]

    assert growth(True) < 0.6 * growth(False), (growth(True), growth(False))


def test_batch_chunks_give_the_same_values_and_gradients(x64):
    from rumjax.rum_sequence import cache_target_bytes, cpu_batch_chunk

    cell = RUMCell(4, 6, lam=1, eta=1.0, layer_norm=True, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    xs = jax.random.normal(jax.random.key(1), (4, 9, 4), jnp.float64)
    w = jax.random.normal(jax.random.key(2), (4, 9, 6), jnp.float64)
    carry = rum_initial_carry((4,), 6, 1, jnp.float64)

    def loss(params, chunk):
        final, hs = rum_sequence(
            params, carry, xs, lam=1, eta=1.0, layer_norm=cell.ln_params, reversible=True, batch_chunk=chunk
        )
        return jnp.sum(hs * w) + jnp.sum(final.memory[:, 0])

    for a, b in zip(
        jax.tree.leaves(jax.grad(loss)(cell.params, 2)), jax.tree.leaves(jax.grad(loss)(cell.params, None))
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="batch_chunk=3 must divide the batch of 4"):
        loss(cell.params, 3)
    twelve = 12 * 2**20
    assert cpu_batch_chunk(128, 100, cache_bytes=twelve) == 64 and cpu_batch_chunk(128, 50, cache_bytes=twelve) is None
    for l2 in (2 * 2**20, 512 * 2**10):  # a Xeon's 2 MiB of L2 per core, an EPYC's 512 KiB: the chunks measured best
        target = cache_target_bytes(l2)
        assert cpu_batch_chunk(128, 100, cache_bytes=target) == 8 and cpu_batch_chunk(128, 50, cache_bytes=target) == 32
    assert cache_target_bytes(None) == twelve
    assert cpu_batch_chunk(7, 1000) == 1


def test_the_l2_cache_is_read_from_sysfs(tmp_path):
    from rumjax.rum_sequence import l2_cache_bytes

    for index, (level, kind, size) in enumerate(
        [("1", "Data", "48K"), ("1", "Instruction", "64K"), ("2", "Unified", "2048K")]
    ):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(level + "\n")
        (folder / "type").write_text(kind + "\n")
        (folder / "size").write_text(size + "\n")
    assert l2_cache_bytes(str(tmp_path)) == 2 * 2**20
    assert l2_cache_bytes(str(tmp_path / "missing")) is None
