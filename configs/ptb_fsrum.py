"""FS-RUM-2 on character-level PTB (paper Tables 3, 5, 6 and 7): the paper's best model.

Fast cells: two LN-LSTMs of 700; slow cell: RUM 1000, λ = 0, η = 1.0, layer norm; 360 epochs
with the learning-rate pattern of Table 6 (0.002 for epochs 1–180, 1e-4 for 181–240, 1e-5 after).

    python train.py --config=configs/ptb_fsrum.py --workdir=/tmp/ptb_fsrum          # paper scale
    python train.py --config=configs/ptb_fsrum.py:cpu --workdir=/tmp/ptb_fsrum_cpu  # CPU scale
    python train.py --config=configs/ptb_fsrum.py:code --workdir=/tmp/ptb_fsrum     # the authors' schedule
``code``: the schedule the authors' code runs (``tasks/LM/configs.py``, ``main.py``): 200 epochs, the
learning rate ×0.1 once, after epoch 180, instead of the paper's 360 epochs with cuts at 180 and 240.
Paper: 1.189 test BPC with 11.2M parameters (the count is checked in tests/test_models.py).
Fidelity to the paper and the authors' code, item by item: configs/README.md. Not run here at this scale
(no accelerator); RESULTS.md has the scaled pair.
"""

from configs.common import parse_arg
from configs.ptb_base import STEPS_PER_EPOCH, ptb_config

PRESETS = {"code": {}}


def get_config(arg=None):
    cpu, presets = parse_arg(arg, PRESETS)
    code = "code" in presets
    c = ptb_config(epochs=200 if code else 360, cpu=cpu)
    c.cell = "fs_rnn"
    c.hidden = 96 if cpu else 700
    c.fs_rnn.fast_cell, c.fs_rnn.slow_cell, c.fs_rnn.num_fast = "ln_lstm", "rum", 2
    c.fs_rnn.slow_hidden = 128 if cpu else 1000
    c.fs_rnn.slow_lam, c.fs_rnn.slow_eta, c.fs_rnn.slow_layer_norm = 0, 1.0, True
    c.fs_rnn.dropout = c.dropout  # the FS-RNN code's two inner dropout sites, at the same rate
    c.fs_rnn.ln_lstm_form = "joint"  # the FS-RNN code's LN-LSTM
    if not cpu:
        c.schedule = "piecewise"
        if code:  # the authors' code: one cut, ×0.1 after epoch 180 of 200
            c.lr_boundaries, c.lr_values = (180 * STEPS_PER_EPOCH,), (c.learning_rate * 0.1,)
        else:  # the paper's Table 6
            c.lr_boundaries = (180 * STEPS_PER_EPOCH, 240 * STEPS_PER_EPOCH)
            c.lr_values = (1e-4, 1e-5)
    return c
