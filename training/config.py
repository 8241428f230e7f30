"""The experiment config: validation with messages that name the key, and what a resumed run keeps."""

from __future__ import annotations

import inspect
import json

import jax
import jax.numpy as jnp
import ml_collections

from configs.common import OPTIMIZER_OPTIONS, SAVED_BEFORE, base_config
from rumjax.cells import CELL_OPTIONS, CELLS
from tasks import TASKS

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
SCHEDULES = ("constant", "piecewise")
MODELS = ("rnn", "memn2n")  # rnn: a registered cell in a sequence model; memn2n: the attention baseline
# Keys that fix the model's shapes: a resumed run must have the same values as its checkpoint.
MODEL_KEYS = (
    "task",
    "task_options",
    "model",
    "cell",
    "hidden",
    "embed_dim",
    "num_layers",
    "optimizer",
    "grad_clip",
    "loss_reduction",
    "readout_hidden",
)
LOSS_REDUCTIONS = ("mean", "sum_time")
# Cell options that choose how a step is computed, not what it computes (the same function and gradients):
# a resumed run may change them, and takes today's value.
COMPUTE_ONLY = {"rum": ("reversible", "hoist_inputs")}


def validate_config(c: ml_collections.ConfigDict) -> None:
    """Raise a ValueError naming any bad key or value and what is allowed."""

    def positive_int(key, allow_zero=False):
        value = c[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
            kind = "a non-negative" if allow_zero else "a positive"
            raise ValueError(f"config.{key} must be {kind} integer, got {value!r}.")

    for key in (
        "batch_size",
        "num_steps",
        "hidden",
        "log_every",
        "eval_every",
        "checkpoint_every",
        "keep_checkpoints",
        "eval_size",
        "eval_batch_size",
        "unroll",
    ):
        positive_int(key)
    for key in ("embed_dim", "num_devices", "seed", "eval_seed"):
        positive_int(key, allow_zero=True)
    positive_int("num_layers")
    if not (isinstance(c.time_budget_s, (int, float)) and c.time_budget_s >= 0):
        raise ValueError(f"config.time_budget_s must be >= 0 seconds (0: no limit), got {c.time_budget_s!r}.")
    for key in ("zoneout_cell", "zoneout_hidden"):
        if not (isinstance(c[key], (int, float)) and 0 <= c[key] < 1):
            raise ValueError(f"config.{key} must be in [0, 1), got {c[key]!r}.")
    named = (
        ("task", "valid tasks", sorted(TASKS)),
        ("cell", "valid cells", sorted(CELLS)),
        ("optimizer", "valid", list(OPTIMIZER_OPTIONS)),
        ("model", "valid", MODELS),
        ("dtype", "valid", list(DTYPES)),
        ("loss_reduction", "valid", LOSS_REDUCTIONS),
        ("schedule", "valid", SCHEDULES),
    )
    for key, label, allowed in named:
        if c[key] not in allowed:
            raise ValueError(f"config.{key}={c[key]!r} is unknown; {label}: {', '.join(allowed)}.")
    positive_int("readout_hidden", allow_zero=True)
    positive_int("final_test_batch_size", allow_zero=True)
    if not (isinstance(c.learning_rate, (int, float)) and c.learning_rate > 0):
        raise ValueError(f"config.learning_rate must be a positive number, got {c.learning_rate!r}.")
    if c.schedule == "piecewise":
        bounds, values = tuple(c.lr_boundaries), tuple(c.lr_values)
        if not bounds or len(bounds) != len(values) or list(bounds) != sorted(bounds):
            raise ValueError(
                "config.schedule='piecewise' needs increasing config.lr_boundaries (steps) and as many "
                f"config.lr_values; got lr_boundaries={bounds!r}, lr_values={values!r}."
            )
    if not (isinstance(c.grad_clip, (int, float)) and c.grad_clip >= 0):
        raise ValueError(f"config.grad_clip must be >= 0 (0 turns clipping off), got {c.grad_clip!r}.")
    n_dev = c.num_devices or jax.device_count()
    if jax.process_count() > 1 and n_dev != jax.device_count():
        raise ValueError(
            f"config.num_devices={c.num_devices} does not fit {jax.process_count()} processes with "
            f"{jax.local_device_count()} devices each: with several processes the mesh spans every "
            f"device; use 0 (all {jax.device_count()})."
        )
    if n_dev > jax.device_count():
        raise ValueError(f"config.num_devices={c.num_devices} but JAX sees only {jax.device_count()} devices.")
    for key in ("batch_size", "eval_batch_size"):
        if c[key] % n_dev:
            raise ValueError(f"config.{key}={c[key]} must be a multiple of the {n_dev} devices it is split over.")
    if not hasattr(TASKS[c.task], "eval_sets") and c.eval_size % c.eval_batch_size:  # synthetic eval sets
        raise ValueError(f"config.eval_size={c.eval_size} must be a multiple of eval_batch_size={c.eval_batch_size}.")


def load_config(path: str) -> ml_collections.ConfigDict:
    """A run's saved config.json over today's defaults, so runs saved before a key existed still load."""

    def merge(base, saved):
        for key, value in saved.items():
            if isinstance(value, dict) and key in base and isinstance(base[key], ml_collections.ConfigDict):
                merge(base[key], value)
            else:
                base[key] = tuple(value) if isinstance(value, list) else value

    config = base_config()
    with open(path) as f:
        saved = json.load(f)
    merge(config, saved)
    apply_saved_before(saved, config)
    task_args = inspect.signature(TASKS[config.task].__init__).parameters if config.task in TASKS else {}
    for dotted, old in SAVED_BEFORE.items():  # task options a run saved before they existed did not list
        block, _, leaf = dotted.partition(".")
        if block == "task_options" and leaf in task_args and leaf not in config.task_options:
            config.task_options[leaf] = old
    return config


def apply_saved_before(saved: dict, c: ml_collections.ConfigDict) -> dict:
    """Give `c` the value a run saved before a key existed had (configs.common.SAVED_BEFORE) for each such key
    that the saved config lacks; returns {key: (today's value, the value used)} for those that differed."""
    changed = {}
    for dotted, old in SAVED_BEFORE.items():
        *parents, leaf = dotted.split(".")
        block, saved_block = c, saved
        for name in parents:
            block = block.get(name) if isinstance(block, ml_collections.ConfigDict) else None
            saved_block = saved_block.get(name, {}) if isinstance(saved_block, dict) else {}
        if not isinstance(block, ml_collections.ConfigDict) or leaf not in block or leaf in saved_block:
            continue
        if block[leaf] != old:
            changed[dotted] = (block[leaf], old)
            block[leaf] = old
    return changed


def cell_options(c: ml_collections.ConfigDict) -> dict:
    return {k: c[c.cell][k] for k in CELL_OPTIONS[c.cell]}


def compute_only_changes(saved: dict, c: ml_collections.ConfigDict) -> dict:
    """{"block.key": (saved value, today's value)} for the COMPUTE_ONLY options of `c`'s cell that differ."""
    block = saved.get(c.cell, {})
    return {
        f"{c.cell}.{key}": (block[key], c[c.cell][key])
        for key in COMPUTE_ONLY.get(c.cell, ())
        if key in block and block[key] != c[c.cell][key]
    }


def saved_config_mismatch(saved: dict, c: ml_collections.ConfigDict) -> list[str]:
    """The model-defining keys (MODEL_KEYS and the cell's block, less COMPUTE_ONLY) in which `c` differs from a
    run's saved config."""
    current = json.loads(c.to_json())
    keys = list(MODEL_KEYS) + [c.cell]
    if saved.get("grad_clip") and c.grad_clip:  # clipping on in both: its threshold may change
        keys.remove("grad_clip")

    def differs(old, new, skip=()):  # keys added to the config after a run was saved count as unchanged
        if isinstance(old, dict) and isinstance(new, dict):
            return any(differs(v, new.get(k)) for k, v in old.items() if k not in skip)
        return old != new

    return [k for k in keys if k in saved and differs(saved[k], current.get(k), COMPUTE_ONLY.get(k, ()))]
