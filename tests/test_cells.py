"""Each baseline cell against a naive float64 reference written from its equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rumjax.eunn import EUNNCell, eunn_apply, eunn_matrix, fft_layout, mod_relu, tunable_layout
from rumjax.fast_weights import FastWeightsCell
from rumjax.fs_rnn import FSRNNCell
from rumjax.goru import GORUCell
from rumjax.learned_memory import LearnedMemoryCell
from rumjax.ln_lstm import LNLSTMCell
from rumjax.ntm import NTMCell, address
from rumjax.rum import RUMCell
from rumjax.stacked import StackedCell
from rumjax.zoneout import ZoneoutCell
from tests.reference import givens_layer, layer_norm, rotation_eq1, sigmoid


def _np(tree):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def _relu(z):
    return np.maximum(z, 0.0)


# ---------------------------------------------------------------- EUNN


def test_tunable_eunn_is_the_product_of_givens_layers(x64, rng):
    n, capacity = 7, 4
    layout = tunable_layout(n, capacity)
    theta = rng.uniform(-np.pi, np.pi, layout.num_angles)
    expected, k = np.eye(n), 0
    for layer in range(capacity):  # F_A pairs (0,1),(2,3),…; F_B (1,2),(3,4),…; first layer acts first
        pairs = [(i, i + 1) for i in range(layer % 2, n - 1, 2)]
        expected = givens_layer(n, pairs, theta[k : k + len(pairs)]) @ expected
        k += len(pairs)
    assert k == layout.num_angles == 3 + 3 + 3 + 3
    w = np.asarray(eunn_matrix(jnp.asarray(theta), layout))
    np.testing.assert_allclose(w, expected, atol=1e-12)
    np.testing.assert_allclose(w.T @ w, np.eye(n), atol=1e-12)
    assert np.linalg.det(w) == pytest.approx(1.0)
    h = rng.normal(size=(3, n))
    np.testing.assert_allclose(eunn_apply(jnp.asarray(theta), layout, jnp.asarray(h)), h @ expected.T, atol=1e-12)


def test_fft_eunn_is_the_product_of_butterfly_layers(x64, rng):
    n = 8
    layout = fft_layout(n)
    theta = rng.uniform(-np.pi, np.pi, layout.num_angles)
    assert layout.num_angles == (n // 2) * 3
    layers = [[(0, 4), (1, 5), (2, 6), (3, 7)], [(0, 2), (1, 3), (4, 6), (5, 7)], [(0, 1), (2, 3), (4, 5), (6, 7)]]
    expected, k = np.eye(n), 0
    for pairs in layers:
        expected = givens_layer(n, pairs, theta[k : k + 4]) @ expected
        k += 4
    np.testing.assert_allclose(eunn_matrix(jnp.asarray(theta), layout), expected, atol=1e-12)
    with pytest.raises(ValueError, match="power of 2"):
        fft_layout(12)


def test_eunn_cell_step(x64, rng):
    cell = EUNNCell(3, 6, capacity=2, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    h, x = rng.normal(size=(2, 6)), rng.normal(size=(2, 3))
    w = np.asarray(cell.w.matrix())
    np.testing.assert_allclose(w, eunn_matrix(cell.w.theta[...], cell.w.layout))
    z = h @ w.T + x @ np.asarray(cell.w_x[...])
    expected = np.sign(z) * _relu(np.abs(z) + np.asarray(cell.b[...]))
    np.testing.assert_allclose(cell(jnp.asarray(h), jnp.asarray(x))[1], expected, atol=1e-12)
    np.testing.assert_allclose(mod_relu(jnp.asarray([-2.0, 0.5]), jnp.asarray([-1.0, -1.0])), [-1.0, 0.0])


# ---------------------------------------------------------------- GORU


def test_goru_step(x64, rng):
    cell = GORUCell(4, 8, fft=True, param_dtype=jnp.float64, rngs=nnx.Rngs(1))
    p = _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
    h, x = rng.normal(size=(3, 8)), rng.normal(size=(3, 4))
    u_o = np.asarray(cell.u_o.matrix())
    r = sigmoid(h @ p["v_r"] + x @ p["x_r"] + p["b_r"])
    z = sigmoid(h @ p["v_z"] + x @ p["x_z"] + p["b_z"])
    pre = r * (h @ u_o.T) + x @ p["x_h"]
    h_tilde = np.sign(pre) * _relu(np.abs(pre) + p["b_h"])
    expected = z * h + (1 - z) * h_tilde
    np.testing.assert_allclose(cell(jnp.asarray(h), jnp.asarray(x))[1], expected, atol=1e-12)
    np.testing.assert_array_equal(p["b_r"], 2.0)


# ---------------------------------------------------------------- fast weights


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_fast_weights_against_explicit_memory(x64, rng, inner_steps):
    decay, eta = 0.9, 0.5
    cell = FastWeightsCell(
        3, 5, decay=decay, eta=eta, inner_steps=inner_steps, param_dtype=jnp.float64, rngs=nnx.Rngs(0)
    )
    cell.ln.scale[...] = jnp.asarray(rng.uniform(0.5, 1.5, 5))
    cell.ln.bias[...] = jnp.asarray(rng.normal(size=5) * 0.1)
    p = _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
    xs = rng.normal(size=(2, 6, 3))
    carry = cell.initialize_carry((2, 3))
    carry = jax.tree.map(lambda a: a.astype(jnp.float64), carry)
    for i in range(2):
        h, a = np.zeros(5), np.zeros((5, 5))
        for t in range(6):
            z = p["w"].T @ h + p["c"].T @ xs[i, t] + p["b"]
            hs = _relu(layer_norm(z, p["ln"]["scale"], p["ln"]["bias"]))
            for _ in range(inner_steps):
                hs = _relu(layer_norm(z + a @ hs, p["ln"]["scale"], p["ln"]["bias"]))
            h = hs
            a = decay * a + eta * np.outer(h, h)  # A_t = λA_{t−1} + η h_t h_tᵀ
        if i == 0:
            expected_h0, expected_a0 = h, a
    c = carry
    for t in range(6):
        c, y = cell(c, jnp.asarray(xs[:, t]))
    np.testing.assert_allclose(c.h[1], h, atol=1e-10)
    np.testing.assert_allclose(c.memory[1], a, atol=1e-10)
    np.testing.assert_allclose(c.h[0], expected_h0, atol=1e-10)
    np.testing.assert_allclose(c.memory[0], expected_a0, atol=1e-10)


# ---------------------------------------------------------------- LN-LSTM, RUM with layer norm


def test_ln_lstm_step(x64, rng):
    cell = LNLSTMCell(3, 4, form="ba", param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    for name in ("gain_x", "gain_h", "bias_x", "bias_h", "gain_c", "bias_c"):
        getattr(cell, name)[...] = jnp.asarray(rng.normal(size=getattr(cell, name)[...].shape))
    p = _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
    c, h, x = rng.normal(size=(3, 2, 4))[0], rng.normal(size=(2, 4)), rng.normal(size=(2, 3))
    zx = (x @ p["w_x"]).reshape(2, 4, 4)
    zh = (h @ p["w_h"]).reshape(2, 4, 4)
    z = layer_norm(zh, p["gain_h"], p["bias_h"], 1e-3) + layer_norm(zx, p["gain_x"], p["bias_x"], 1e-3) + p["b"]
    f, i, o, g = z[:, 0], z[:, 1], z[:, 2], z[:, 3]
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(layer_norm(c_new, p["gain_c"], p["bias_c"], 1e-3))
    (c_out, h_out), y = cell((jnp.asarray(c), jnp.asarray(h)), jnp.asarray(x))
    np.testing.assert_allclose(c_out, c_new, atol=1e-12)
    np.testing.assert_allclose(h_out, h_new, atol=1e-12)
    np.testing.assert_array_equal(p["b"][0], 1.0)  # forget bias +1


def test_rum_layer_norm_step(x64, rng):
    cell = RUMCell(
        3, 5, eta=1.0, layer_norm=True, ln_update_gate=False, ln_eps=1e-5, param_dtype=jnp.float64, rngs=nnx.Rngs(0)
    )
    cell.ln_gain_tau[...] = jnp.asarray(rng.uniform(0.5, 1.5, 5))
    cell.ln_bias_c[...] = jnp.asarray(rng.normal(size=5))
    p = _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
    h, x = rng.normal(size=5), rng.normal(size=3)
    tau = layer_norm(x @ p["w_x_tau"] + h @ p["w_h_tau"] + p["b_tau"], p["ln_gain_tau"], p["ln_bias_tau"])
    u = sigmoid(x @ p["w_x_u"] + h @ p["w_h_u"] + p["b_u"])
    eps = x @ p["w_x_eps"] + p["b_eps"]
    h_tilde = _relu(layer_norm(eps + rotation_eq1(eps, tau) @ h, p["ln_gain_c"], p["ln_bias_c"]))
    h_new = u * h + (1 - u) * h_tilde
    h_new = h_new / np.linalg.norm(h_new)
    carry = cell.initialize_carry((1, 3))._replace(h=jnp.asarray(h[None]))
    np.testing.assert_allclose(cell(carry, jnp.asarray(x[None]))[1][0], h_new, atol=1e-10)


# ---------------------------------------------------------------- NTM


def _address_reference(params, memory, w_prev):
    width = memory.shape[-1]
    k, beta = params[:width], np.log1p(np.exp(params[width]))
    g = sigmoid(params[width + 1])
    s = np.exp(params[width + 2 : width + 5]) / np.exp(params[width + 2 : width + 5]).sum()
    gamma = 1 + np.log1p(np.exp(params[width + 5]))
    cos = memory @ k / (np.linalg.norm(memory, axis=1) * np.linalg.norm(k) + 1e-8)
    w_c = np.exp(beta * cos) / np.exp(beta * cos).sum()
    w_g = g * w_c + (1 - g) * w_prev
    n = len(w_g)
    shifted = np.array(
        [
            sum(
                w_g[j] * s[((i - j) % n) + 1]
                if ((i - j) % n) in (0, 1)
                else (w_g[j] * s[0] if (i - j) % n == n - 1 else 0.0)
                for j in range(n)
            )
            for i in range(n)
        ]
    )
    w_pow = (shifted + 1e-8) ** gamma
    return w_pow / w_pow.sum()


def test_ntm_addressing_against_the_four_stages(x64, rng):
    memory, w_prev = rng.normal(size=(6, 4)), rng.dirichlet(np.ones(6))
    params = rng.normal(size=4 + 6)
    got = address(jnp.asarray(params[None]), jnp.asarray(memory[None]), jnp.asarray(w_prev[None]))[0]
    np.testing.assert_allclose(got, _address_reference(params, memory, w_prev), atol=1e-10)
    np.testing.assert_allclose(np.sum(got), 1.0, atol=1e-12)


def test_ntm_write_then_read(x64, rng):
    cell = NTMCell(3, 8, slots=5, width=4, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    carry = jax.tree.map(lambda a: a.astype(jnp.float64), cell.initialize_carry((2, 3)))
    x = jnp.asarray(rng.normal(size=(2, 3)))
    new, y = cell(carry, x)
    w, m_old, m_new = np.asarray(new.write_w), np.asarray(carry.memory), np.asarray(new.memory)
    head = 4 + 2 + 3 + 1
    wp = np.asarray(cell.write_head(new.controller[1]))
    erase, add = sigmoid(wp[:, head : head + 4]), np.tanh(wp[:, head + 4 :])
    # erase, then add: M_t(i) = M_{t−1}(i) ⊙ (1 − w(i) e) + w(i) a
    expected = m_old * (1 - w[:, :, None] * erase[:, None, :]) + w[:, :, None] * add[:, None, :]
    np.testing.assert_allclose(m_new, expected, atol=1e-12)
    np.testing.assert_allclose(np.sum(new.read_w, -1), 1.0, atol=1e-12)
    np.testing.assert_allclose(new.read, np.einsum("bn,bnw->bw", np.asarray(new.read_w), m_new), atol=1e-12)
    assert y.shape == (2, 8)


# ---------------------------------------------------------------- learned-update memory


def test_learned_memory_against_reference(x64, rng):
    k, n = 2, 4
    cell = LearnedMemoryCell(3, n, memories=k, param_dtype=jnp.float64, rngs=nnx.Rngs(0))
    p = _np(nnx.to_pure_dict(nnx.state(cell, nnx.Param)))
    xs = rng.normal(size=(1, 4, 3))
    h, a = np.zeros(n), np.zeros((k, n, n))
    for t in range(4):
        xh = np.concatenate([xs[0, t], h])
        z = h @ p["w"] + xs[0, t] @ p["c"] + p["b"]
        q, v = (xh @ p["q"]).reshape(k, n), (xh @ p["v"]).reshape(k, n)
        g = sigmoid(xh @ p["gates"] + p["gate_bias"])
        a = g[:k, None, None] * a + g[k:, None, None] * np.einsum("ki,kj->kij", v, q)
        h0 = _relu(layer_norm(z, p["ln"]["scale"], p["ln"]["bias"]))
        h = _relu(layer_norm(z + np.einsum("kij,j->i", a, h0), p["ln"]["scale"], p["ln"]["bias"]))
    c = jax.tree.map(lambda x: x.astype(jnp.float64), cell.initialize_carry((1, 3)))
    for t in range(4):
        c, y = cell(c, jnp.asarray(xs[:, t]))
    np.testing.assert_allclose(c.h[0], h, atol=1e-10)
    np.testing.assert_allclose(c.memory[0], a, atol=1e-10)


# ---------------------------------------------------------------- wrappers


def test_fs_rnn_composes_its_cells(rng):
    fast = [LNLSTMCell(3, 6, rngs=nnx.Rngs(1)), LNLSTMCell(5, 6, rngs=nnx.Rngs(2)), LNLSTMCell(1, 6, rngs=nnx.Rngs(3))]
    slow = RUMCell(6, 5, eta=1.0, rngs=nnx.Rngs(4))
    fs = FSRNNCell(fast, slow)
    x = jnp.asarray(rng.normal(size=(2, 3)), jnp.float32)
    carry = fs.initialize_carry((2, 3))
    new, y = fs(carry, x)
    f, h1 = fast[0](carry.fast, x)  # F1(h^{F3}_{t−1}, x)
    s, hs = slow(carry.slow, h1)  # S(h^S_{t−1}, h^{F1})
    f, h2 = fast[1](f, hs)  # F2(h^{F1}, h^S)
    f, h3 = fast[2](f, jnp.zeros((2, 1)))  # F3(h^{F2}), no input
    np.testing.assert_allclose(y, h3, atol=1e-6)
    np.testing.assert_allclose(new.slow.h, s.h, atol=1e-6)


def test_stacked_feeds_each_layer_the_previous_output(rng):
    a, b = RUMCell(3, 4, rngs=nnx.Rngs(0)), RUMCell(4, 4, lam=1, rngs=nnx.Rngs(1))
    stack = StackedCell([a, b])
    x = jnp.asarray(rng.normal(size=(2, 3)), jnp.float32)
    carry = stack.initialize_carry((2, 3))
    (ca, cb), y = stack(carry, x)
    ca2, ya = a(carry[0], x)
    cb2, yb = b(carry[1], ya)
    np.testing.assert_allclose(y, yb, atol=1e-6)


def test_zoneout_masks_and_expectation(rng):
    inner = nnx.LSTMCell(3, 64, rngs=nnx.Rngs(0))
    cell = ZoneoutCell(inner, cell_rate=0.5, hidden_rate=0.2)
    x = jnp.asarray(rng.normal(size=(256, 3)), jnp.float32)
    old = (jnp.asarray(rng.normal(size=(256, 64)), jnp.float32), jnp.asarray(rng.normal(size=(256, 64)), jnp.float32))
    (c_new, h_new), _ = inner(old, x)
    carry = type(cell.initialize_carry((256, 3), rngs=nnx.Rngs(carry=1)))(old, jax.random.key(1))
    (zc, zh) = cell(carry, x)[0].inner
    kept_c = np.mean(np.asarray(zc) == np.asarray(old[0]))
    kept_h = np.mean(np.asarray(zh) == np.asarray(old[1]))
    assert abs(kept_c - 0.5) < 0.02 and abs(kept_h - 0.2) < 0.02
    assert np.all((np.asarray(zc) == np.asarray(old[0])) | (np.asarray(zc) == np.asarray(c_new)))
    cell.eval()  # expectation at test time
    new, y = cell(carry, x)
    ec, eh = new.inner
    np.testing.assert_allclose(ec, 0.5 * old[0] + 0.5 * c_new, atol=1e-6)
    np.testing.assert_allclose(eh, 0.2 * old[1] + 0.8 * h_new, atol=1e-6)
    np.testing.assert_allclose(y, eh)
    with pytest.raises(ValueError, match="hidden_rate"):
        ZoneoutCell(inner, hidden_rate=1.0)
