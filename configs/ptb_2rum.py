"""2 × RUM 1500 on character-level PTB (paper Tables 3 and 5): two stacked RUMs, λ = 0, η = 0.3.

    python train.py --config=configs/ptb_2rum.py --workdir=/tmp/ptb_2rum
    python train.py --config=configs/ptb_2rum.py:cpu --workdir=/tmp/ptb_2rum_cpu
Paper: 1.26 test BPC with 16.4M parameters. Not yet run here.
"""

from configs.common import parse_arg
from configs.ptb_base import ptb_config


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = ptb_config(epochs=100, cpu=cpu)
    c.cell = "rum"
    c.hidden = 128 if cpu else 1500
    c.num_layers = 2
    c.rum.lam, c.rum.eta, c.rum.layer_norm = 0, 0.3, True
    return c
