"""LN-LSTM on character-level PTB with the parameter count of RUM 2000 (the RUM-vs-LSTM comparison).

    python train.py --config=configs/ptb_lstm.py --workdir=/tmp/ptb_lstm          # 1420 units, 8.90M
    python train.py --config=configs/ptb_lstm.py:cpu --workdir=/tmp/ptb_lstm_cpu  # 93 units, 54.1k

Same set-up as configs/ptb_rum.py (Table 5: layer norm, dropout, zoneout, Adam 0.002, T 150) with
an LN-LSTM (the FS-RNN code's form, configs/README.md) in place of RUM, sized so both have the same
number of parameters: 1420 units for 8,889,970 parameters against RUM 2000's 8,892,450 (LN on u
included); at CPU scale 93 units for 54,102 against RUM 128's 54,258 (tests/test_models.py checks both).
Before the fidelity fixes (Ba et al.'s LN-LSTM, no LN on u) the CPU control had 92 units. The paper has
no LSTM of this size; it is our control.
"""

from configs.common import parse_arg
from configs.ptb_base import ptb_config


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = ptb_config(epochs=100, cpu=cpu)
    c.cell = "ln_lstm"
    c.hidden = 93 if cpu else 1420
    return c
