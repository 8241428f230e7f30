"""Independent float64 NumPy references, written from the paper's equations for the tests.

Nothing here imports rumjax: it is the yardstick the library is measured against.
"""

import numpy as np


def rotation_eq1(a, b):
    """R(a, b) of eq. 1 for one pair of generic vectors, literally as printed."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    u_a = a / np.linalg.norm(a)
    w = b - (u_a @ b) * u_a
    u_b = w / np.linalg.norm(w)
    cos = (u_a @ b) / np.linalg.norm(b)
    sin = np.sqrt(1.0 - cos**2)
    plane = np.stack([u_a, u_b], axis=1)  # (n, 2)
    r_theta = np.array([[cos, -sin], [sin, cos]])
    n = a.shape[0]
    return np.eye(n) - np.outer(u_a, u_a) - np.outer(u_b, u_b) + plane @ r_theta @ plane.T


def rotation_eq1_batched(a, b):
    """eq. 1 over any leading axes."""
    a, b = np.asarray(a), np.asarray(b)
    flat_a, flat_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    out = np.stack([rotation_eq1(x, y) for x, y in zip(flat_a, flat_b)])
    return out.reshape(*a.shape, a.shape[-1])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rum_sequence(p, xs, *, lam, eta):
    """RUM of §3.2 over xs (B, T, Nx) with dense matrices and Python loops; returns hs (B, T, Nh)."""
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    xs = np.asarray(xs, np.float64)
    bsz, steps, _ = xs.shape
    nh = p["b_tau"].shape[0]
    out = np.zeros((bsz, steps, nh))
    for i in range(bsz):
        h = np.zeros(nh)
        mem = np.eye(nh)
        for t in range(steps):
            x = xs[i, t]
            tau = x @ p["w_x_tau"] + h @ p["w_h_tau"] + p["b_tau"]
            u = sigmoid(x @ p["w_x_u"] + h @ p["w_h_u"] + p["b_u"])
            eps = x @ p["w_x_eps"] + p["b_eps"]
            mem = np.linalg.matrix_power(mem, lam) @ rotation_eq1(eps, tau)
            h_tilde = np.maximum(eps + mem @ h, 0.0)
            h = u * h + (1.0 - u) * h_tilde
            if eta is not None:
                h = eta * h / np.linalg.norm(h)
            out[i, t] = h
    return out


def givens_layer(n, pairs, thetas):
    """Dense layer of plane rotations [[c, −s], [s, c]] on the given coordinate pairs."""
    m = np.eye(n)
    for (i, j), t in zip(pairs, thetas):
        m[i, i], m[i, j], m[j, i], m[j, j] = np.cos(t), -np.sin(t), np.sin(t), np.cos(t)
    return m


def layer_norm(z, gain=1.0, bias=0.0, eps=1e-5):
    mu = z.mean(-1, keepdims=True)
    var = ((z - mu) ** 2).mean(-1, keepdims=True)
    return (z - mu) / np.sqrt(var + eps) * gain + bias
