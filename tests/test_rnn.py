"""rumjax.RNN against flax.nnx.RNN over the same cell: values, carries and gradients, every argument."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import rumjax
from rumjax.rum_sequence import rum_sequence


def _cell(lam=0, eta=None, layer_norm=False, dtype=jnp.float64, nx=3, nh=6, seed=0):
    return rumjax.RUMCell(nx, nh, lam=lam, eta=eta, layer_norm=layer_norm, param_dtype=dtype, rngs=nnx.Rngs(seed))


def _close(a, b, tol):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def _loss(layer_type, kwargs, xs):
    def loss(cell):
        carry, ys = layer_type(cell)(xs, return_carry=True, **kwargs)
        return jnp.sum(ys**2) + sum(jnp.sum(jnp.sin(leaf)) for leaf in jax.tree.leaves(carry))

    return loss


FAST_TIER = {(0, None, False, False), (1, 1.0, True, True), (1, None, False, True)}  # every value of each factor


@pytest.mark.parametrize(
    "lam,eta,layer_norm,reverse",
    [  # the whole matrix in test-all; in the fast tier, three rows that take every value of each factor
        p if p in FAST_TIER else pytest.param(*p, marks=pytest.mark.slow)
        for p in itertools.product((0, 1), (None, 1.0), (False, True), (False, True))
    ],
)
def test_rnn_equals_nnx_rnn_with_ragged_lengths(x64, lam, eta, layer_norm, reverse):
    cell = _cell(lam, eta, layer_norm)
    xs = jax.random.normal(jax.random.key(1), (4, 7, 3), jnp.float64)
    kwargs = dict(seq_lengths=jnp.array([7, 3, 1, 5]), reverse=reverse, keep_order=True)
    ours = rumjax.RNN(cell)(xs, return_carry=True, **kwargs)
    flax_ = nnx.RNN(cell)(xs, return_carry=True, **kwargs)
    _close(ours, flax_, 1e-10)
    if lam:
        assert ours[0].memory.shape == (4, 6, 6)
    _close(nnx.grad(_loss(rumjax.RNN, kwargs, xs))(cell), nnx.grad(_loss(nnx.RNN, kwargs, xs))(cell), 1e-8)


def test_rnn_time_major_batch_axes_and_initial_carry(x64):
    cell = _cell(lam=1, eta=2.0)
    xs = jax.random.normal(jax.random.key(2), (5, 2, 3, 3), jnp.float64)  # (t, b1, b2, x)
    h0 = jax.random.normal(jax.random.key(3), (2, 3, 6), jnp.float64)
    carry = rumjax.RUMCarry(h0, jnp.broadcast_to(jnp.eye(6), (2, 3, 6, 6)))
    for layer in (rumjax.RNN(cell, time_major=True), nnx.RNN(cell, time_major=True)):
        assert layer(xs).shape == (5, 2, 3, 6)
    _close(
        rumjax.RNN(cell, time_major=True, return_carry=True)(xs, initial_carry=carry),
        nnx.RNN(cell, time_major=True, return_carry=True)(xs, initial_carry=carry),
        1e-10,
    )
    _close(
        rumjax.RNN(cell)(xs, time_major=True, reverse=True),  # call arguments override the constructor's
        nnx.RNN(cell)(xs, time_major=True, reverse=True),
        1e-10,
    )


def test_rnn_inside_bidirectional(x64):
    forward, backward = _cell(lam=1, eta=1.0, seed=0), _cell(lam=0, layer_norm=True, seed=1)
    xs = jax.random.normal(jax.random.key(4), (3, 6, 3), jnp.float64)
    lengths = jnp.array([6, 2, 4])
    ours = nnx.Bidirectional(rumjax.RNN(forward), rumjax.RNN(backward), return_carry=True, rngs=nnx.Rngs(0))
    flax_ = nnx.Bidirectional(nnx.RNN(forward), nnx.RNN(backward), return_carry=True, rngs=nnx.Rngs(0))
    (c1, y1), (c2, y2) = ours(xs, seq_lengths=lengths), flax_(xs, seq_lengths=lengths)
    assert y1.shape == (3, 6, 12)
    _close((c1, y1), (c2, y2), 1e-10)


def test_rnn_falls_back_to_nnx_scan_for_other_cells():
    cell = nnx.GRUCell(3, 5, rngs=nnx.Rngs(0))
    xs = jax.random.normal(jax.random.key(5), (2, 4, 3))
    _close(
        rumjax.RNN(cell, return_carry=True)(xs, seq_lengths=jnp.array([4, 2])),
        nnx.RNN(cell, return_carry=True)(xs, seq_lengths=jnp.array([4, 2])),
        0,
    )


def test_rnn_reaches_the_reversible_path_and_stores_no_memory_per_step():
    """λ = 1 through rumjax.RNN: the values of `rum_sequence(reversible=True)`, and a backward whose temporary memory
    grows with t by O(b n) vectors per step; nnx.RNN's autodiff stores every R_t, (b, n, n) per step."""
    cell = rumjax.RUMCell(8, 32, lam=1, eta=1.0, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(cell)

    def temp_bytes(layer_type, t):
        xs = jax.random.normal(jax.random.key(6), (16, t, 8))
        f = jax.jit(jax.grad(lambda s: jnp.sum(layer_type(nnx.merge(graphdef, s))(xs) ** 2)))
        return f.lower(state).compile().memory_analysis().temp_size_in_bytes

    memories = 64 * 16 * 32 * 32 * 4  # 64 more steps of R_t (b, n, n) float32
    assert temp_bytes(nnx.RNN, 128) - temp_bytes(nnx.RNN, 64) >= memories
    assert temp_bytes(rumjax.RNN, 128) - temp_bytes(rumjax.RNN, 64) < memories / 2
    xs = jax.random.normal(jax.random.key(7), (16, 20, 8))
    _, reference = rum_sequence(cell.params, cell.initialize_carry(xs[:, 0].shape), xs, lam=1, eta=1.0, reversible=True)
    _close(rumjax.RNN(cell)(xs), reference, 1e-5)


@pytest.mark.parametrize("lam", (0, 1))
def test_zero_padded_input_with_eta_has_finite_gradients(lam):
    """h'_t = 0 (a zero input with b_ε = 0 from h_0 = 0): time normalisation's gradient was NaN there."""
    cell = rumjax.RUMCell(3, 6, lam=lam, eta=1.0, eps_bias=False, rngs=nnx.Rngs(0))
    xs = jnp.concatenate([jnp.zeros((2, 3, 3)), jnp.ones((2, 4, 3))], axis=1)  # front padding
    for layer in (nnx.RNN(cell), rumjax.RNN(cell)):
        grads = nnx.grad(lambda c: jnp.sum(type(layer)(c)(xs) ** 2))(cell)
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
        assert float(jnp.abs(grads.w_h_u[...]).sum()) > 0  # ... and the gates still learn
    h = jnp.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(rumjax.rum.time_normalise(h, 2.0), [[0, 0], [1.2, 1.6]], rtol=1e-6)


@pytest.mark.parametrize("dtype", (jnp.bfloat16, jnp.float16))
@pytest.mark.parametrize("gate_init", ("joint", "separate"))
def test_half_precision_parameters(dtype, gate_init):
    """Kernels are drawn in float32 and cast (LAPACK has no half-precision QR); the carry stays float32."""
    cell = rumjax.RUMCell(3, 6, lam=1, eta=1.0, gate_init=gate_init, param_dtype=dtype, rngs=nnx.Rngs(0))
    reference = rumjax.RUMCell(3, 6, lam=1, eta=1.0, gate_init=gate_init, rngs=nnx.Rngs(0))
    assert cell.w_h_tau[...].dtype == dtype
    np.testing.assert_allclose(np.asarray(cell.w_h_tau[...], np.float32), reference.w_h_tau[...], atol=1e-2)
    carry, ys = rumjax.RNN(cell, return_carry=True)(jnp.ones((2, 5, 3)))
    assert carry.h.dtype == carry.memory.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(ys)))


# Flax's cell arguments, with Flax's meaning (flax.nnx.GRUCell / LSTMCell)


def test_bias_init_sets_every_bias_and_none_keeps_the_authors_values():
    default = rumjax.RUMCell(3, 4, rngs=nnx.Rngs(0))
    np.testing.assert_array_equal(default.b_tau[...], np.ones(4))
    np.testing.assert_array_equal(default.b_eps[...], np.zeros(4))
    cell = rumjax.RUMCell(3, 4, bias_init=nnx.initializers.constant(0.25), rngs=nnx.Rngs(0))
    for b in (cell.b_tau, cell.b_u, cell.b_eps):
        np.testing.assert_array_equal(b[...], np.full(4, 0.25))
    # the kernels are drawn as before: bias_init=None consumes no random numbers
    np.testing.assert_array_equal(default.w_h_tau[...], rumjax.RUMCell(3, 4, rngs=nnx.Rngs(0)).w_h_tau[...])


def test_kernel_inits_are_honoured_by_separate_and_refused_by_joint():
    cell = rumjax.RUMCell(
        3,
        4,
        gate_init="separate",
        kernel_init=nnx.initializers.constant(0.5),
        recurrent_kernel_init=nnx.initializers.constant(-0.5),
        rngs=nnx.Rngs(0),
    )
    np.testing.assert_array_equal(cell.w_x_tau[...], np.full((3, 4), 0.5))
    np.testing.assert_array_equal(cell.w_x_eps[...], np.full((3, 4), 0.5))
    np.testing.assert_array_equal(cell.w_h_u[...], np.full((4, 4), -0.5))
    with pytest.raises(ValueError, match="gate_init='separate'"):
        rumjax.RUMCell(3, 4, kernel_init=nnx.initializers.zeros, rngs=nnx.Rngs(0))  # joint by default


def test_metadata_annotates_the_parameters_for_sharding():
    mesh = jax.make_mesh((1,), ("model",), axis_types=(jax.sharding.AxisType.Auto,))
    with jax.set_mesh(mesh):
        cell = rumjax.RUMCell(
            3,
            4,
            kernel_metadata={"out_sharding": (None, "model")},
            recurrent_kernel_metadata={"out_sharding": ("model", None)},
            bias_metadata={"out_sharding": ("model",)},
            rngs=nnx.Rngs(0),
        )
        spec = nnx.get_partition_spec(nnx.state(cell, nnx.Param))
    assert tuple(spec["w_x_tau"].get_value()) == (None, "model") and tuple(spec["w_x_eps"].get_value()) == (
        None,
        "model",
    )
    assert tuple(spec["w_h_u"].get_value()) == ("model", None)
    assert tuple(spec["b_eps"].get_value()) == ("model",)
    assert cell.w_h_u[...].sharding.spec == jax.sharding.PartitionSpec("model", None)  # created sharded


def test_carry_init_draws_h0_and_keeps_the_memory_at_the_identity():
    cell = rumjax.RUMCell(3, 4, lam=1, carry_init=nnx.initializers.ones, rngs=nnx.Rngs(0))
    carry = cell.initialize_carry((2, 3), nnx.Rngs(carry=1))
    np.testing.assert_array_equal(carry.h, np.ones((2, 4)))
    np.testing.assert_array_equal(carry.memory, np.broadcast_to(np.eye(4), (2, 4, 4)))
    normal = cell.initialize_carry((2, 3), nnx.Rngs(carry=1), carry_init=nnx.initializers.normal(1.0))
    assert float(jnp.std(normal.h)) > 0.1  # the call's carry_init wins over the constructor's
    with pytest.raises(ValueError, match="needs rngs"):
        cell.initialize_carry((2, 3))
    plain = rumjax.RUMCell(3, 4, lam=1, rngs=nnx.Rngs(0)).initialize_carry((2, 3))
    np.testing.assert_array_equal(plain.h, np.zeros((2, 4)))  # no carry_init: the paper's h_0 = 0
    # through nnx.RNN and rumjax.RNN, the drawn h_0 is where the sequence starts
    xs = jnp.ones((2, 5, 3))
    np.testing.assert_allclose(
        rumjax.RNN(cell)(xs, rngs=nnx.Rngs(carry=1)), nnx.RNN(cell)(xs, rngs=nnx.Rngs(carry=1)), atol=1e-5
    )
