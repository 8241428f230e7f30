"""FS-LSTM-2 on character-level PTB (Mujika et al. 2017; the RUM paper's baseline, Tables 3 and 7).

Fast cells: two LN-LSTMs of 700; slow cell: an LN-LSTM of 400; 200 epochs, the learning rate
divided by 10 after epoch 180, as the FS-RNN code.

    python train.py --config=configs/ptb_fslstm.py --workdir=/tmp/ptb_fslstm
    python train.py --config=configs/ptb_fslstm.py:cpu --workdir=/tmp/ptb_fslstm_cpu
Published: 1.190 test BPC with 7.2M parameters. Fidelity table: configs/README.md. Not yet run here at this scale.
"""

from configs.common import parse_arg
from configs.ptb_base import STEPS_PER_EPOCH, ptb_config


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = ptb_config(epochs=200, cpu=cpu)
    c.cell = "fs_rnn"
    c.hidden = 96 if cpu else 700
    c.fs_rnn.fast_cell, c.fs_rnn.slow_cell, c.fs_rnn.num_fast = "ln_lstm", "ln_lstm", 2
    c.fs_rnn.slow_hidden = 64 if cpu else 400
    c.fs_rnn.dropout = c.dropout  # the FS-RNN code's two inner dropout sites, at the same rate
    c.fs_rnn.ln_lstm_form = "joint"  # the FS-RNN code's LN-LSTM, fast and slow cells
    if not cpu:
        c.schedule = "piecewise"
        c.lr_boundaries = (180 * STEPS_PER_EPOCH,)
        c.lr_values = (2e-4,)
    return c
