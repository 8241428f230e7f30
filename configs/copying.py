"""Copying Memory (paper §4.1, Figure 2): recall ten symbols after a delay of T steps.

Paper scale (GPU/TPU; T = 200 by default, 500 and 1000 by override):
    python train.py --config=configs/copying.py --workdir=/tmp/copy_rum
    python train.py --config=configs/copying.py:lstm --config.task_options.delay=500 --workdir=...
Cells of Figure 2, by variant: lstm (250, forget bias 1 as the authors' baseline), gru (250), goru (250,
tunable EUNN of capacity 2 as the authors' script), rum (250, λ=0, η=None; the default), rum_eta1 (250, λ=0,
η=1.0), rum_lam1 (100, λ=1, η=None). RMSProp lr 1e-3, decay 0.9, batch 128, no clipping.
Fidelity table (paper, authors' code, rumjax, switches): configs/README.md.
Expected: LSTM and GRU stay at the baseline 10 ln 8/(T+20); RUM falls below it toward 0 within a
few thousand steps (paper, Figure 2).

CPU variant (2 cores, minutes): ``:cpu`` keeps T = 200 with hidden 64, batch 64, 8000 steps; combine
with a cell, e.g. ``--config=configs/copying.py:cpu,lstm``. What the paper-size and CPU
runs gave, with each run's command: RESULTS.md (from the records in results/runs).
"""

from configs.common import apply_preset, base_config, parse_arg

PRESETS = {
    "lstm": dict(cell="lstm", hidden=250),
    "gru": dict(cell="gru", hidden=250),
    "goru": dict(cell="goru", hidden=250, capacity=2),
    "rum": dict(cell="rum", hidden=250, lam=0, eta=None),
    "rum_eta1": dict(cell="rum", hidden=250, lam=0, eta=1.0),
    "rum_lam1": dict(cell="rum", hidden=100, lam=1, eta=None),
}


def get_config(arg=None):
    cpu, presets = parse_arg(arg, PRESETS)
    c = base_config()
    c.task = "copying"
    c.task_options.delay = 200
    apply_preset(c, PRESETS["rum"])
    c.optimizer = "rmsprop"
    c.learning_rate = 1e-3
    c.batch_size = 128
    c.num_steps = 50_000
    c.eval_every = 1000
    c.eval_size = 1000
    c.log_every = 100
    c.checkpoint_every = 1000
    if cpu:  # the paper's T = 200 with a quarter of the hidden units and half the batch
        c.hidden = 64
        c.batch_size = 64
        c.num_steps = 8000
        c.eval_every = 500
        c.eval_size = 512
        c.eval_batch_size = 512
        c.log_every = 25
        c.checkpoint_every = 250
    for name in presets:
        apply_preset(c, PRESETS[name])
        if cpu:
            c.hidden = 64
    return c
