"""rumjax.rotation against eq. 1 written independently in NumPy float64, plus its invariants."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import test_util

from rumjax import compose, rotate, rotation, rotation_components, rotation_matrix
from tests.reference import rotation_eq1, rotation_eq1_batched

SHAPES = [((), 2), ((), 7), ((3,), 5), ((2, 4), 33), ((128,), 64)]


@pytest.mark.parametrize("batch,n", SHAPES)
def test_fast_paths_match_eq1_float64(x64, rng, batch, n):
    a, b, h = rng.normal(size=(3, *batch, n))
    m = rng.normal(size=(*batch, n, n))
    r_ref = rotation_eq1_batched(a, b)
    np.testing.assert_allclose(rotation_matrix(a, b), r_ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(rotate(a, b, h), np.einsum("...ij,...j->...i", r_ref, h), atol=1e-10, rtol=0)
    np.testing.assert_allclose(compose(m, a, b), m @ r_ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("batch,n", SHAPES)
def test_rotation_invariants(x64, rng, batch, n):
    a, b, h = rng.normal(size=(3, *batch, n))
    r = np.asarray(rotation_matrix(a, b))
    eye = np.broadcast_to(np.eye(n), r.shape)
    np.testing.assert_allclose(np.swapaxes(r, -1, -2) @ r, eye, atol=1e-12)  # RᵀR = I
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-10)  # a rotation, not a reflection
    a_hat = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b_hat = b / np.linalg.norm(b, axis=-1, keepdims=True)
    np.testing.assert_allclose(np.einsum("...ij,...j->...i", r, a_hat), b_hat, atol=1e-12)  # R â = b̂
    np.testing.assert_allclose(
        np.linalg.norm(rotate(a, b, h), axis=-1), np.linalg.norm(h, axis=-1), rtol=1e-12
    )  # ‖R h‖ = ‖h‖
    # identity on the orthogonal complement of span(a, b)
    q, _ = np.linalg.qr(np.stack([a, b], axis=-1))  # (..., n, 2)
    h_perp = h - np.einsum("...ik,...jk,...j->...i", q, q, h)
    np.testing.assert_allclose(rotate(a, b, h_perp), h_perp, atol=1e-12)


def test_rotation_components_match_eq1(x64, rng):
    a, b = rng.normal(size=(2, 6, 9))
    u_a, u_b, cos, sin = (np.asarray(t) for t in rotation_components(a, b))
    for i in range(6):
        ua = a[i] / np.linalg.norm(a[i])
        w = b[i] - (ua @ b[i]) * ua
        np.testing.assert_allclose(u_a[i], ua, atol=1e-12)
        np.testing.assert_allclose(u_b[i], w / np.linalg.norm(w), atol=1e-12)
        np.testing.assert_allclose(cos[i], ua @ b[i] / np.linalg.norm(b[i]), atol=1e-12)
    np.testing.assert_allclose(cos**2 + sin**2, 1.0, atol=1e-12)
    assert np.all(sin >= 0)
    np.testing.assert_allclose(np.sum(u_a * u_b, -1), 0.0, atol=1e-12)
    # eq. 1 rebuilt from the components equals the dense matrix
    plane = np.stack([u_a, u_b], -1)
    r_theta = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    rebuilt = np.eye(9) - plane @ np.swapaxes(plane, -1, -2) + plane @ r_theta @ np.swapaxes(plane, -1, -2)
    np.testing.assert_allclose(rebuilt, rotation_matrix(a, b), atol=1e-12)


def _degenerate_cases(rng, n=6):
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    zero = np.zeros(n)
    return {
        "a=b": (a, a),
        "a=-b": (a, -a),
        "a=c*b": (2.5 * b, b),
        "a=-c*b": (-0.3 * b, b),
        "a=0": (zero, b),
        "b=0": (a, zero),
        "a=b=0": (zero, zero),
    }


@pytest.mark.parametrize("dtype", [pytest.param("float32", marks=pytest.mark.slow), "float64"])  # float32: test-all
@pytest.mark.parametrize("case", list(_degenerate_cases(np.random.default_rng(0))))
def test_degenerate_inputs_are_identity_with_finite_gradients(rng, dtype, case):
    with jax.enable_x64(dtype == "float64"):
        a, b = (jnp.asarray(t, dtype) for t in _degenerate_cases(rng)[case])
        h = jnp.asarray(rng.normal(size=a.shape), dtype)
        m = jnp.asarray(rng.normal(size=(a.shape[0], a.shape[0])), dtype)
        tol = 1e-5 if dtype == "float32" else 1e-12
        # the documented choice: R = I when the plane is undefined or θ ∈ {0, π}
        np.testing.assert_allclose(rotation_matrix(a, b), np.eye(a.shape[0]), atol=tol)
        np.testing.assert_allclose(rotate(a, b, h), h, atol=tol)
        np.testing.assert_allclose(compose(m, a, b), m, atol=tol * 10)
        comps = rotation_components(a, b)
        assert all(bool(jnp.all(jnp.isfinite(c))) for c in comps)
        np.testing.assert_allclose(comps.cos**2 + comps.sin**2, 1.0, atol=tol)

        def loss(a, b, h, m):
            weights = jnp.arange(1.0, a.shape[0] + 1, dtype=a.dtype)
            return (
                jnp.sum(weights * rotate(a, b, h))
                + jnp.sum(weights[None, :] * compose(m, a, b))
                + jnp.sum(rotation_matrix(a, b) ** 3)
                + jnp.sum(weights * sum(rotation_components(a, b)[:2]))
            )

        grads = jax.grad(loss, argnums=(0, 1, 2, 3))(a, b, h, m)
        for g in grads:
            assert g.dtype == a.dtype
            assert bool(jnp.all(jnp.isfinite(g))), (case, dtype, g)
        # h = 0 is mapped to 0 with finite gradients too
        np.testing.assert_allclose(rotate(a, b, jnp.zeros_like(h)), 0.0)
        g_h0 = jax.grad(lambda x, y: jnp.sum(rotate(x, y, jnp.zeros_like(h)) ** 2))(a, b)
        assert bool(jnp.all(jnp.isfinite(g_h0)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_parallel_limit_is_smooth(dtype):
    """As b → a the rotation tends to I continuously and the gradient stays bounded."""
    with jax.enable_x64(dtype == "float64"):
        rng = np.random.default_rng(1)
        a = jnp.asarray(rng.normal(size=5), dtype)
        d = jnp.asarray(rng.normal(size=5), dtype)
        h = jnp.asarray(rng.normal(size=5), dtype)
        norms = []
        for scale in [1e-1, 1e-3, 1e-5]:
            g = jax.grad(lambda b: jnp.sum(rotate(a, b, h)))(a + scale * d)
            norms.append(float(jnp.linalg.norm(g)))
            assert np.isfinite(norms[-1])
        assert max(norms) < 10 * (1 + norms[0])


@pytest.mark.slow
def test_check_grads_generic(x64, rng):
    a, b, h = (jnp.asarray(t) for t in rng.normal(size=(3, 4, 6)))
    m = jnp.asarray(rng.normal(size=(4, 6, 6)))
    test_util.check_grads(rotate, (a, b, h), order=2, modes=("fwd", "rev"))
    test_util.check_grads(compose, (m, a, b), order=2, modes=("fwd", "rev"))
    test_util.check_grads(rotation_matrix, (a, b), order=1, modes=("fwd", "rev"))
    test_util.check_grads(lambda x, y: rotation_components(x, y).u_b, (a, b), order=1, modes=("rev",))


def test_fused_equals_dense_float32(rng):
    a, b, h = (jnp.asarray(t, jnp.float32) for t in rng.normal(size=(3, 128, 64)))
    r = rotation_matrix(a, b)
    np.testing.assert_allclose(rotate(a, b, h), jnp.einsum("bij,bj->bi", r, h), atol=2e-5)


def test_jit_vmap_grad_without_recompiling(rng):
    a, b, h = (jnp.asarray(t, jnp.float32) for t in rng.normal(size=(3, 8, 16)))
    m = jnp.asarray(rng.normal(size=(8, 16, 16)), jnp.float32)
    np.testing.assert_allclose(jax.jit(rotate)(a, b, h), rotate(a, b, h), atol=1e-6)
    np.testing.assert_allclose(jax.vmap(rotate)(a, b, h), rotate(a, b, h), atol=1e-6)
    np.testing.assert_allclose(jax.vmap(compose)(m, a, b), compose(m, a, b), atol=1e-5)
    grad_fn = jax.jit(jax.grad(lambda a, b, h: jnp.sum(jnp.sin(rotate(a, b, h)))))
    grad_fn(a, b, h)
    before = grad_fn._cache_size()
    for k in range(3):
        grad_fn(a + k, b, h)
    assert grad_fn._cache_size() == before == 1


def test_eq1_reference_sanity():
    """The test's own reference is a rotation taking â to b̂ (guards the yardstick)."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 4))
    r = rotation_eq1(a, b)
    np.testing.assert_allclose(r @ (a / np.linalg.norm(a)), b / np.linalg.norm(b), atol=1e-12)
    np.testing.assert_allclose(r.T @ r, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("batch,n", SHAPES)
def test_compose_apply_matches_dense(x64, rng, batch, n):
    from rumjax.rotation import compose_apply

    a, b, h = rng.normal(size=(3, *batch, n))
    m = rng.normal(size=(*batch, n, n))
    r_ref = rotation_eq1_batched(a, b)
    new_m, r_h = compose_apply(m, a, b, h)
    np.testing.assert_allclose(new_m, m @ r_ref, atol=1e-10, rtol=0)
    np.testing.assert_allclose(r_h, np.einsum("...ij,...j->...i", m @ r_ref, h), atol=1e-10, rtol=0)


@pytest.mark.parametrize(
    "dtype,tol", [("float64", 1e-9), pytest.param("float32", 1e-4, marks=pytest.mark.slow)]
)  # float32: test-all
def test_compose_apply_hand_written_backward_equals_autodiff(dtype, tol):
    """The custom VJP of the λ = 1 memory update against JAX's autodiff through the same forward terms, on random
    and degenerate planes (a ∥ b, a = −b, a = 0, b = 0)."""
    from rumjax.rotation import _memory_update_fwd_terms, plane

    def reference(m, a, b, h):
        p = plane(a, b)
        return _memory_update_fwd_terms(m, p.a_hat, p.v, p.cos, p.inv_one_plus_cos, h)[0]

    with jax.enable_x64(dtype == "float64"):
        rng = np.random.default_rng(0)
        n = 6
        m, a, b, h = (jnp.asarray(rng.normal(size=s), dtype) for s in ((6, n, n), (6, n), (6, n), (6, n)))
        a = a.at[1].set(2.0 * b[1])  # a ∥ b
        a = a.at[2].set(-b[2])  # antiparallel
        a = a.at[3].set(0.0)  # a = 0
        b = b.at[4].set(0.0)  # b = 0
        wm, wy = jnp.asarray(rng.normal(size=(6, n, n)), dtype), jnp.asarray(rng.normal(size=(6, n)), dtype)

        def loss(f):
            return lambda *args: jnp.sum(f(*args)[0] * wm) + jnp.sum(f(*args)[1] * wy)

        for x, y in zip(rotation.compose_apply(m, a, b, h), reference(m, a, b, h)):
            np.testing.assert_allclose(x, y, rtol=tol, atol=tol)
        fast = jax.grad(loss(rotation.compose_apply), argnums=(0, 1, 2, 3))(m, a, b, h)
        slow = jax.grad(loss(reference), argnums=(0, 1, 2, 3))(m, a, b, h)
        for x, y in zip(fast, slow):
            assert np.all(np.isfinite(x))
            assert float(jnp.max(jnp.abs(x - y))) <= tol * (1.0 + float(jnp.max(jnp.abs(y))))
