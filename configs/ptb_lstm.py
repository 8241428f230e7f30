"""LN-LSTM on character-level PTB with the parameter count of RUM 2000 (the RUM-vs-LSTM comparison).

    python train.py --config=configs/ptb_lstm.py --workdir=/tmp/ptb_lstm          # 1420 units, 8.90M
    python train.py --config=configs/ptb_lstm.py:cpu --workdir=/tmp/ptb_lstm_cpu  # 92 units, 53.9k

Same set-up as configs/ptb_rum.py (Table 5: layer norm, dropout, zoneout, Adam 0.002, T 150) with
an LN-LSTM in place of RUM, sized so both have the same number of parameters: 1420 units for
8,901,330 parameters against RUM 2000's 8,888,450; at CPU scale 92 units for 53,906 against RUM 128's
54,002 (tests/test_models.py checks both). The paper has no LSTM of this size; it is our control.
"""

from configs.common import parse_arg
from configs.ptb_base import ptb_config


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = ptb_config(epochs=100, cpu=cpu)
    c.cell = "ln_lstm"
    c.hidden = 92 if cpu else 1420
    return c
