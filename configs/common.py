"""The keys every experiment shares, with their defaults; experiment files override what differs.

Common keys (the same name in every experiment, so ``--config.num_steps=20`` shortens any run):
  seed, batch_size, num_steps, cell, hidden, optimizer, learning_rate, task, task_options.
Per-cell option blocks (``config.rum.lam``) and per-optimizer blocks (``config.rmsprop.decay``)
always exist, so ``--config.cell=lstm`` or ``--config.optimizer=adam`` needs nothing else.
"""

from __future__ import annotations

import ml_collections

from rumjax.cells import CELL_OPTIONS

# Options of each optimizer, passed as keywords to the optax function of that name.
OPTIMIZER_OPTIONS = {
    # TF1's RMSPropOptimizer, which the paper's code used: decay 0.9, eps 1e-10, mean square starting at 1.
    "rmsprop": dict(decay=0.9, eps=1e-10, initial_scale=1.0),
    "adam": dict(b1=0.9, b2=0.999, eps=1e-8),
    "sgd": dict(momentum=0.0),
}


def _block(options: dict) -> ml_collections.ConfigDict:
    """A ConfigDict of options; a None default becomes a nullable float, settable from the command line."""
    block = ml_collections.ConfigDict()
    for key, value in options.items():
        block[key] = ml_collections.FieldReference(None, field_type=float) if value is None else value
    return block


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    # task
    c.task = "copying"
    c.task_options = ml_collections.ConfigDict()
    # model
    c.model = "rnn"  # "rnn": `cell` in a sequence model; "memn2n": the memory network (bAbI)
    c.memn2n = ml_collections.ConfigDict(dict(hops=3, linear_start_steps=0))
    c.cell = "rum"
    c.hidden = 128
    c.embed_dim = 0  # 0: one-hot inputs
    c.num_layers = 1  # > 1 stacks copies of the cell
    c.zoneout_cell = 0.0  # zoneout rates (probability of keeping the old value); 0 turns it off
    c.zoneout_hidden = 0.0
    c.dropout = 0.0  # non-recurrent dropout of language models (embedding and cell output)
    c.dtype = "float32"  # compute dtype of the cells' matrix products; the recurrent state stays float32
    c.unroll = 1
    c.remat = False
    for name, options in CELL_OPTIONS.items():
        c[name] = _block(options)
    # optimisation
    c.optimizer = "rmsprop"
    for name, options in OPTIMIZER_OPTIONS.items():
        c[name] = ml_collections.ConfigDict(options)
    c.learning_rate = 1e-3
    c.schedule = "constant"  # or "piecewise": learning_rate until lr_boundaries[0], then lr_values[i]
    c.lr_boundaries = ()
    c.lr_values = ()
    c.grad_clip = 0.0  # global-norm clipping; 0 turns it off
    c.batch_size = 128
    c.num_steps = 1000
    c.time_budget_s = 0.0  # > 0: also stop (evaluate, save) once training has run this many seconds
    # evaluation on a fixed held-out set drawn from eval_seed
    c.eval_every = 500
    c.eval_size = 2000
    c.eval_batch_size = 1000
    c.eval_seed = 12345
    # logging and checkpoints
    c.log_every = 50
    c.checkpoint_every = 500
    c.keep_checkpoints = 3
    c.num_devices = 0  # 0: every device JAX sees; the batch is split over them
    c.progress = True
    return c


def parse_arg(arg: str | None, presets: dict) -> tuple[bool, list[str]]:
    """Split ``"cpu,lstm"`` into (cpu?, [preset names]); unknown tokens raise a ValueError."""
    tokens = [t for t in (arg or "").split(",") if t]
    valid = {"cpu", *presets}
    bad = [t for t in tokens if t not in valid]
    if bad:
        raise ValueError(f"Unknown config variant(s) {bad}; valid: {', '.join(sorted(valid))}.")
    return "cpu" in tokens, [t for t in tokens if t != "cpu"]


def apply_preset(config: ml_collections.ConfigDict, preset: dict) -> None:
    """Set cell, hidden and the cell's options from a preset dict like dict(cell='rum', hidden=100, lam=1);
    a key that is not an option of the cell sets the config key of that name (e.g. embed_dim)."""
    preset = dict(preset)
    config.cell = preset.pop("cell")
    config.hidden = preset.pop("hidden")
    for key, value in preset.items():
        if key in config[config.cell]:
            config[config.cell][key] = value
        else:
            config[key] = value
