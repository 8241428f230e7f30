"""The Rotational Unit of Memory (RUM), §3.2 of the paper: `RUMCell`, a thin nnx module over the pure
functions of `rumjax.rum_core` (the step, re-exported here) and `rumjax.rum_sequence` (whole sequences).

The equations of one step, with the paper's symbols and the parameter names they have here, are in
`rumjax.rum_core`'s docstring: τ_t (memory target), u_t (update gate), ε_t (embedded input), the memory
R_t = (R_{t−1})^λ · Rotation(ε_t, τ_t), h̃_t, and the time normalisation by η.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from rumjax.rum_core import (
    LN_EPS,
    Activation,
    RUMCarry,
    RUMInputs,
    RUMLayerNorm,
    RUMParams,
    check_lam_eta,
    memory_target,
    rum_initial_carry,
    rum_inputs,
    rum_output,
    rum_recurrence,
    rum_step,
    time_normalise,
    update_gate,
)
from rumjax.rum_sequence import carry_at_lengths, cpu_batch_chunk, rum_sequence

__all__ = [
    "RUMParams",
    "RUMCarry",
    "RUMLayerNorm",
    "RUMInputs",
    "rum_inputs",
    "rum_recurrence",
    "rum_step",
    "rum_initial_carry",
    "joint_orthogonal",
    "RUMCell",
    "LN_EPS",
    "memory_target",
    "update_gate",
    "time_normalise",
    "rum_output",
]


GATE_INITS = ("joint", "separate")


def joint_orthogonal(key: jax.Array, rows: int, cols: int, dtype=jnp.float32) -> jax.Array:
    """The authors' kernel initialisation of τ and u over [x; h]: a (rows, cols) matrix whose first ⌊cols/2⌋
    and last ⌈cols/2⌉ columns are each an orthonormal set (orthonormal rows where a half is wider than
    `rows`), drawn independently. (For odd `cols` their code leaves the last column zero; here the second
    half takes it.)"""
    k1, k2 = jax.random.split(key)
    half = cols // 2
    ortho = nnx.initializers.orthogonal()
    return jnp.concatenate([ortho(k1, (rows, half), dtype), ortho(k2, (rows, cols - half), dtype)], axis=1)


class RUMCell(nnx.RNNCellBase):
    """The RUM cell as a flax.nnx module; `__call__` is `rum_step` on its parameters.

    Args:
      in_features: N_x.
      hidden_features: N_h.
      lam: λ, the associative power (non-negative integer; 0 keeps no memory).
      eta: η, the norm of time normalisation, or None for none.
      activation: the activation of h̃ (ReLU in the paper).
      gate_init: "joint" (default; the authors' code): [W_xτ; W_hτ] is one (N_x + N_h, N_h) kernel over the
        concatenated [x; h], its two column halves each orthonormal, and the same for [W_xu; W_hu].
        "separate": each of W_x· and W_h· from `kernel_init` / `recurrent_kernel_init` (rumjax 0.1).
      kernel_init, recurrent_kernel_init: initialisers of the W_x· and W_h· kernels for
        ``gate_init="separate"`` (None: orthogonal); W_xε always uses `kernel_init` (orthogonal, as the
        authors). With ``gate_init="joint"`` passing either is an error (the joint draw has no use for them).
      bias_init: initialiser of b_τ, b_u and b_ε (None: b_τ = b_u = 1, b_ε = 0, as the authors' code).
      carry_init: initialiser of h_0 for `initialize_carry` (None: h_0 = 0); R_0 is always I.
      kernel_metadata, recurrent_kernel_metadata, bias_metadata: metadata of the W_x· (and W_xε), the W_h·
        and the bias parameters, as Flax's cells: e.g. ``{"out_sharding": (None, "model")}`` (under
        ``jax.set_mesh``) creates them sharded and names their axes for ``nnx.get_partition_spec``.
      eps_bias: whether ε has its bias b_ε (the paper's equation; the authors' code has none:
        ``eps_bias=False`` keeps b_ε at zero and out of the parameters).
      layer_norm: layer norm on τ, on u (`ln_update_gate`) and on the pre-activation of h̃
        (gains `ln_gain_*`, biases `ln_bias_*`).
      ln_update_gate: with `layer_norm`, also normalise u after its sigmoid (Appendix D and the
        authors' code; default True); False: τ and h̃ only (rumjax 0.1).
      ln_eps: ε of the layer norm (1e-3 as the authors' code; rumjax 0.1 used 1e-5).
      reversible: for λ = 1, `sequence` backpropagates by recomputing R_{t−1} from R_t instead of
        storing every R_t, with the memory's backward written by hand (`rumjax.rum_sequence`): the
        default, since it is both faster and smaller (benchmarks/README.md). False: JAX's autodiff through
        the stored R_t, the reference it is tested against.
      hoist_inputs: whether `sequence` computes the input terms of every step in one matrix product
        before the scan. None (default): on accelerators yes; on CPU no, where it measured slower
        (`python -m benchmarks.options`). Either way the result is the same.
      dtype: compute dtype of the matrix products (None: from inputs and params).
      param_dtype: dtype of the parameters. The carry is at least float32.

    Example: one step, and a whole sequence through `rumjax.RNN`.

    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> import rumjax
    >>> cell = rumjax.RUMCell(4, 16, lam=1, eta=1.0, rngs=nnx.Rngs(0))
    >>> carry = cell.initialize_carry((2, 4))                       # (batch, N_x)
    >>> carry, h = cell(carry, jnp.ones((2, 4)))
    >>> h.shape, round(float(jnp.linalg.norm(h[0])), 5)             # η = 1: ‖h_t‖ = η
    ((2, 16), 1.0)
    >>> rumjax.RNN(cell)(jnp.ones((2, 7, 4))).shape
    (2, 7, 16)
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        *,
        lam: int = 0,
        eta: float | None = None,
        activation: Activation = jax.nn.relu,
        layer_norm: bool = False,
        ln_update_gate: bool = True,
        ln_eps: float = LN_EPS,
        reversible: bool = True,
        hoist_inputs: bool | None = None,
        gate_init: str = "joint",
        eps_bias: bool = True,
        kernel_init=None,
        recurrent_kernel_init=None,
        bias_init=None,
        carry_init=None,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
        kernel_metadata: Mapping[str, Any] = MappingProxyType({}),
        recurrent_kernel_metadata: Mapping[str, Any] = MappingProxyType({}),
        bias_metadata: Mapping[str, Any] = MappingProxyType({}),
    ):
        check_lam_eta(lam, eta)
        self.in_features = in_features
        self.hidden_features = hidden_features
        self.lam = lam
        self.eta = eta
        self.activation = activation
        self.dtype = dtype
        self.param_dtype = param_dtype
        if gate_init not in GATE_INITS:
            raise ValueError(f"RUM: gate_init must be one of {GATE_INITS}, got {gate_init!r}.")
        if gate_init == "joint" and (kernel_init is not None or recurrent_kernel_init is not None):
            raise ValueError(
                "RUM: gate_init='joint' draws each [W_x·; W_h·] kernel of τ and u as one orthogonal "
                "matrix and has no use for kernel_init / recurrent_kernel_init; pass "
                "gate_init='separate' to draw W_x· from kernel_init and W_h· from recurrent_kernel_init "
                "(for sharding annotations, kernel_metadata / recurrent_kernel_metadata apply to both)."
            )
        kernel_init = nnx.initializers.orthogonal() if kernel_init is None else kernel_init
        recurrent_kernel_init = (
            nnx.initializers.orthogonal() if recurrent_kernel_init is None else recurrent_kernel_init
        )
        self.carry_init = carry_init
        if not (isinstance(ln_eps, (int, float)) and ln_eps > 0):
            raise ValueError(f"RUM: ln_eps must be a positive number, got {ln_eps!r}.")
        nx, nh = in_features, hidden_features
        draw = jnp.promote_types(param_dtype, jnp.float32)  # kernels drawn in ≥ float32, then cast (no bf16 QR)
        for gate in ("tau", "u"):
            if gate_init == "joint":
                kernel = joint_orthogonal(rngs.params(), nx + nh, nh, draw)  # (x + n, n) over [x; h]
                w_x, w_h = kernel[:nx], kernel[nx:]
            else:
                w_x = kernel_init(rngs.params(), (nx, nh), draw)
                w_h = recurrent_kernel_init(rngs.params(), (nh, nh), draw)
            setattr(self, f"w_x_{gate}", nnx.Param(w_x.astype(param_dtype), **kernel_metadata))
            setattr(self, f"w_h_{gate}", nnx.Param(w_h.astype(param_dtype), **recurrent_kernel_metadata))
            b = jnp.ones((nh,), param_dtype) if bias_init is None else bias_init(rngs.params(), (nh,), param_dtype)
            setattr(self, f"b_{gate}", nnx.Param(b, **bias_metadata))
        self.w_x_eps = nnx.Param(kernel_init(rngs.params(), (nx, nh), draw).astype(param_dtype), **kernel_metadata)
        if eps_bias:
            b = jnp.zeros((nh,), param_dtype) if bias_init is None else bias_init(rngs.params(), (nh,), param_dtype)
            self.b_eps = nnx.Param(b, **bias_metadata)
        self.eps_bias = eps_bias
        self.layer_norm = layer_norm
        self.ln_update_gate = ln_update_gate
        self.ln_eps = float(ln_eps)
        self.reversible = reversible
        self.hoist_inputs = hoist_inputs
        if layer_norm:
            self.ln_gain_tau = nnx.Param(jnp.ones((nh,), param_dtype))
            self.ln_bias_tau = nnx.Param(jnp.zeros((nh,), param_dtype))
            self.ln_gain_c = nnx.Param(jnp.ones((nh,), param_dtype))
            self.ln_bias_c = nnx.Param(jnp.zeros((nh,), param_dtype))
            if ln_update_gate:
                self.ln_gain_u = nnx.Param(jnp.ones((nh,), param_dtype))
                self.ln_bias_u = nnx.Param(jnp.zeros((nh,), param_dtype))

    @property
    def params(self) -> RUMParams:
        """The parameters as the pure-function `RUMParams`."""
        fields = {name: getattr(self, name)[...] for name in RUMParams._fields if name != "b_eps"}
        b_eps = self.b_eps[...] if self.eps_bias else jnp.zeros((self.hidden_features,), self.param_dtype)
        return RUMParams(**fields, b_eps=b_eps)

    @property
    def ln_params(self) -> RUMLayerNorm | None:
        """The layer-norm parameters, or None without layer norm."""
        if not self.layer_norm:
            return None
        gain_u, bias_u = (self.ln_gain_u[...], self.ln_bias_u[...]) if self.ln_update_gate else (None, None)
        return RUMLayerNorm(
            self.ln_gain_tau[...], self.ln_bias_tau[...], self.ln_gain_c[...], self.ln_bias_c[...], gain_u, bias_u
        )

    @property
    def carry_dtype(self):
        return jnp.promote_types(self.param_dtype, jnp.float32)

    def __call__(self, carry: RUMCarry, inputs: jax.Array) -> tuple[RUMCarry, jax.Array]:  # type: ignore[override]
        return rum_step(self.params, carry, inputs, **self.step_options)

    @property
    def step_options(self) -> dict:
        """What `rum_step` and `rum_sequence` take from this cell besides its parameters: λ, η, the activation,
        the compute dtype and the layer norms."""
        return dict(
            lam=self.lam,
            eta=self.eta,
            activation=self.activation,
            dtype=self.dtype,
            layer_norm=self.ln_params,
            ln_eps=self.ln_eps,
        )

    def sequence(
        self,
        carry: RUMCarry,
        xs: jax.Array,
        *,
        unroll: int = 1,
        remat: bool = False,
        seq_lengths: jax.Array | None = None,
    ) -> tuple[RUMCarry, jax.Array]:
        """The cell over xs (b, t, x) at once: equal to scanning `__call__`; the input projections are
        hoisted out of the loop per `hoist_inputs`, and λ = 1 backpropagates reversibly when
        `reversible`; `remat` recomputes each step in the backward pass instead of storing it.
        With `seq_lengths` (b,), the carry returned is each sequence's after its last valid step
        (`rumjax.rum_sequence.carry_at_lengths`); the outputs run on over the padding, as `nnx.RNN`'s."""
        cpu = jax.default_backend() == "cpu"
        hoist = self.hoist_inputs if self.hoist_inputs is not None else not cpu
        chunk = cpu_batch_chunk(xs.shape[0], self.hidden_features) if cpu and xs.ndim == 3 else None
        final, hs = rum_sequence(
            self.params,
            carry,
            xs,
            **self.step_options,
            reversible=self.reversible,
            unroll=unroll,
            remat=remat,
            hoist_inputs=hoist,
            batch_chunk=chunk,
        )
        if seq_lengths is not None:
            final = carry_at_lengths(
                self.params,
                carry,
                xs,
                hs,
                seq_lengths,
                lam=self.lam,
                dtype=self.dtype,
                layer_norm=self.ln_params,
                ln_eps=self.ln_eps,
            )
        return final, hs

    def initialize_carry(self, input_shape: tuple[int, ...], rngs=None, carry_init=None) -> RUMCarry:  # type: ignore[override]
        """h_0 = 0 and R_0 = I (the paper's start) for inputs of shape ``(*batch, N_x)``.

        As Flax's cells: `carry_init` (here, else the constructor's) draws h_0 instead, from ``rngs.carry()``
        (`rngs` an ``nnx.Rngs`` or a stream); R_0 stays I, so the memory starts orthogonal.
        """
        carry = rum_initial_carry(tuple(input_shape[:-1]), self.hidden_features, self.lam, self.carry_dtype)
        carry_init = self.carry_init if carry_init is None else carry_init
        if carry_init is None:
            return carry
        if rngs is None:
            raise ValueError(
                "RUMCell.initialize_carry: carry_init draws h_0 at random and needs rngs "
                "(an nnx.Rngs with a 'carry' stream, or a stream)."
            )
        key = rngs.carry() if isinstance(rngs, nnx.Rngs) else rngs()
        h0 = carry_init(key, carry.h.shape, self.carry_dtype)
        return carry._replace(h=h0.astype(self.carry_dtype))

    @property
    def num_feature_axes(self) -> int:
        return 1
