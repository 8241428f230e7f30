"""FS-RUM-2 on character-level PTB (paper Tables 3, 5, 6 and 7): the paper's best model.

Fast cells: two LN-LSTMs of 700; slow cell: RUM 1000, λ = 0, η = 1.0, layer norm; 360 epochs
with the learning-rate pattern of Table 6 (0.002 for epochs 1–180, 1e-4 for 181–240, 1e-5 after).

    python train.py --config=configs/ptb_fsrum.py --workdir=/tmp/ptb_fsrum          # paper scale
    python train.py --config=configs/ptb_fsrum.py:cpu --workdir=/tmp/ptb_fsrum_cpu  # CPU scale
    python train.py --config=configs/ptb_fsrum.py:code --workdir=/tmp/ptb_fsrum     # the authors' schedule
``code``: the schedule the authors' code runs (``tasks/LM/configs.py``, ``main.py``): 200 epochs, the
learning rate ×0.1 once, after epoch 180, instead of the paper's 360 epochs with cuts at 180 and 240.
Paper: 1.189 test BPC with 11.2M parameters (the count is checked in tests/test_models.py).

The derivative models of Table 7 and Figure 6, each "FS-RUM-2(B) except ..." (paper, Figure 6's caption),
are presets that combine with the others (``configs/ptb_fsrum.py:s800_1100,code``):

    fsrum3      FS-RUM-3: three fast LSTMs of 500
    tbptt       FS-RUM-2(B)+TBPTT: T = 200 (epochs and the schedule's cuts counted at T = 200)
    dz          FS-RUM-2(B)+DZ: dropout, cell zoneout, hidden zoneout (0.4, 0.5, 0.2)
    norm        FS-RUM-2(B)+Norm: the slow RUM's η = 1.3
    lr          FS-RUM-2(B)+LR: learning rate 0.003 (Table 7: 1.190 BPC, 11.2M)
    s800_1100   fast cells 800, slow RUM 1100 (Table 7: 1.189 BPC, 14.2M)
    s1000_1000  fast 1000, slow 1000 (1.194, 17.6M)
    s900_1200   fast 900, slow 1200 (1.192, 17.5M)
    s1000_1200  fast 1000, slow 1200 (1.193, 19.9M)

Table 7's parameter counts are checked for each size preset in tests/test_models.py.
Fidelity to the paper and the authors' code, item by item: configs/README.md. Not run here at this scale
(no accelerator); RESULTS.md has the scaled pair.
"""

from configs.common import parse_arg, set_key
from configs.ptb_base import ptb_config, steps_per_epoch

PRESETS = {
    "code": {},
    "fsrum3": {"hidden": 500, "fs_rnn.num_fast": 3},
    "tbptt": {"task_options.seq_len": 200},
    "dz": {"dropout": 0.4, "zoneout_cell": 0.5, "zoneout_hidden": 0.2},
    "norm": {"fs_rnn.slow_eta": 1.3},
    "lr": {"learning_rate": 0.003},
    "s800_1100": {"hidden": 800, "fs_rnn.slow_hidden": 1100},
    "s1000_1000": {"hidden": 1000, "fs_rnn.slow_hidden": 1000},
    "s900_1200": {"hidden": 900, "fs_rnn.slow_hidden": 1200},
    "s1000_1200": {"hidden": 1000, "fs_rnn.slow_hidden": 1200},
}


def get_config(arg=None):
    cpu, presets = parse_arg(arg, PRESETS)
    code = "code" in presets
    c = ptb_config(epochs=200 if code else 360, cpu=cpu)
    c.cell = "fs_rnn"
    c.hidden = 96 if cpu else 700
    c.fs_rnn.fast_cell, c.fs_rnn.slow_cell, c.fs_rnn.num_fast = "ln_lstm", "rum", 2
    c.fs_rnn.slow_hidden = 128 if cpu else 1000
    c.fs_rnn.slow_lam, c.fs_rnn.slow_eta, c.fs_rnn.slow_layer_norm = 0, 1.0, True
    c.fs_rnn.ln_lstm_form = "joint"  # the FS-RNN code's LN-LSTM
    if not cpu:
        for name in presets:  # Table 7 / Figure 6's variants are paper-scale changes of config keys (not
            for key, value in PRESETS[name].items():  # apply_preset: "dropout" is the top-level key here)
                set_key(c, key, value)
    c.fs_rnn.dropout = c.dropout  # the FS-RNN code's two inner dropout sites, at the same rate
    if not cpu:
        epoch = steps_per_epoch(c.batch_size, c.task_options.seq_len)  # 265 at T = 150, 199 at T = 200
        c.num_steps, c.eval_every, c.checkpoint_every = (200 if code else 360) * epoch, epoch, epoch
        c.schedule = "piecewise"
        if code:  # the authors' code: one cut, ×0.1 after epoch 180 of 200
            c.lr_boundaries, c.lr_values = (180 * epoch,), (c.learning_rate * 0.1,)
        else:  # the paper's Table 6
            c.lr_boundaries = (180 * epoch, 240 * epoch)
            c.lr_values = (1e-4, 1e-5)
    elif presets and presets != ["code"]:
        raise ValueError(f"ptb_fsrum: the Table 7 presets {presets} are paper-scale; drop ':cpu' or set keys.")
    return c
