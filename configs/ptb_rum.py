"""RUM 2000 on character-level PTB (paper Tables 3 and 5): λ = 0, η = 1.0, layer norm, 100 epochs.

    python train.py --config=configs/ptb_rum.py --workdir=/tmp/ptb_rum          # paper scale, GPU/TPU
    python train.py --config=configs/ptb_rum.py:cpu --workdir=/tmp/ptb_rum_cpu  # 128 units, CPU
Paper: 1.28 test BPC with 8.9M parameters (tests/test_models.py checks the count). Not yet run here.
"""

from configs.common import parse_arg
from configs.ptb_base import ptb_config


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = ptb_config(epochs=100, cpu=cpu)
    c.cell = "rum"
    c.hidden = 128 if cpu else 2000
    c.rum.lam, c.rum.eta, c.rum.layer_norm = 0, 1.0, True
    return c
