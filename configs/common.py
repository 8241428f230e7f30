"""The keys every experiment shares, with their defaults; experiment files override what differs.

Common keys (the same name in every experiment, so ``--config.num_steps=20`` shortens any run):
  seed, batch_size, num_steps, cell, hidden, optimizer, learning_rate, task, task_options.
Per-cell option blocks (``config.rum.lam``) and per-optimizer blocks (``config.rmsprop.decay``)
always exist, so ``--config.cell=lstm`` or ``--config.optimizer=adam`` needs nothing else.
"""

from __future__ import annotations

import os

import ml_collections

from rumjax.cells import CELL_OPTIONS

# Options of each optimizer, passed as keywords to the optax function of that name.
OPTIMIZER_OPTIONS = {
    # TF1's RMSPropOptimizer, which the paper's code used: decay 0.9, eps 1e-10, mean square starting at 1.
    "rmsprop": dict(decay=0.9, eps=1e-10, initial_scale=1.0),
    "adam": dict(b1=0.9, b2=0.999, eps=1e-8),
    "sgd": dict(momentum=0.0),
}


# Keys added after runs had been saved, with the value such a run had before the key existed. train.py
# resumes a workdir whose config.json lacks one of these keys with this value, not today's default, so a
# new default never changes an old run's model (configs/README.md lists why each default changed).
SAVED_BEFORE = {
    "rum.ln_update_gate": False,
    "rum.ln_eps": 1e-5,
    "rum.gate_init": "separate",
    "rum.eps_bias": True,
    "lstm.forget_bias": 0.0,
    "ln_lstm.form": "ba",
    "ln_lstm.forget_bias": 1.0,
    "fs_rnn.ln_lstm_form": "ba",
    "fs_rnn.slow_ln_update_gate": False,
    "fs_rnn.slow_ln_eps": 1e-5,
    "fs_rnn.dropout": 0.0,
    "goru.mod_bias_init": 0.01,
    "goru.update_bias_init": "zeros",
    "fast_weights.ln_h0": "shared",
    "loss_reduction": "mean",
    "readout_hidden": 0,
    "final_test_batch_size": 0,
    "task_options.end_blank": False,
    "task_options.punctuation": False,
    "task_options.train_size": 0,
    "task_options.files": "char",
    "task_options.question_embed": "separate",
}


def data_dir(name: str, shared_subdir: str) -> str:
    """Where an experiment's real data set is: $RUMJAX_DATA/<name> when RUMJAX_DATA is set; else the team's
    offline copy ../shared/data/<shared_subdir> beside this checkout when it is there; else ./data/<name>
    (missing files are fetched there from the official archive). ``--config.task_options.data_dir`` overrides."""
    root = os.environ.get("RUMJAX_DATA")
    if root:
        return os.path.join(root, name)
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.path.normpath(os.path.join(checkout, "..", "shared", "data", shared_subdir))
    return shared if os.path.isdir(shared) else os.path.join("data", name)


NULLABLE_TYPES = {"hoist_inputs": bool}  # None-default options that are not numbers (the rest: float, as eta)


def _block(options: dict) -> ml_collections.ConfigDict:
    """A ConfigDict of options; a None default becomes a nullable float (or NULLABLE_TYPES' type), settable
    from the command line."""
    block = ml_collections.ConfigDict()
    for key, value in options.items():
        if value is None:
            value = ml_collections.FieldReference(None, field_type=NULLABLE_TYPES.get(key, float))
        block[key] = value
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
    c.readout_hidden = 0  # > 0: a ReLU layer of this size before the readout (Ba et al.'s retrieval model)
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
    # the loss whose gradient is clipped and optimised: "mean" over every target, or "sum_time": summed over
    # the time steps and averaged over the batch (the authors' PTB code); logged losses stay per target
    c.loss_reduction = "mean"
    c.batch_size = 128
    c.num_steps = 1000
    c.time_budget_s = 0.0  # > 0: also stop (evaluate, save) once training has run this many seconds
    # evaluation on a fixed held-out set drawn from eval_seed
    c.eval_every = 500
    c.eval_size = 2000
    c.eval_batch_size = 1000
    c.eval_seed = 12345
    # language models: > 0 evaluates the best-on-validation model on the whole test stream at this batch
    # size when the run ends (the authors' test BPC: batch 1), logged as split "final_test"
    c.final_test_batch_size = 0
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
    a key that is not an option of the cell sets the config key of that name (e.g. embed_dim), and a dotted
    key a nested one (e.g. "task_options.train_size"). A preset without `cell` keeps the cell."""
    preset = dict(preset)
    if "cell" in preset:
        config.cell = preset.pop("cell")
    if "hidden" in preset:
        config.hidden = preset.pop("hidden")
    for key, value in preset.items():
        if "." not in key and key in config[config.cell]:
            config[config.cell][key] = value
        else:
            set_key(config, key, value)


def set_key(config: ml_collections.ConfigDict, dotted: str, value) -> None:
    """config["a"]["b"] = value for dotted = "a.b" (any depth)."""
    *parents, leaf = dotted.split(".")
    block = config
    for name in parents:
        block = block[name]
    block[leaf] = value
