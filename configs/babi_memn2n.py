"""MemN2N on bAbI (Sukhbaatar et al. 2015): the attention baseline of the paper's Tables 2 and 4.

    python train.py --config=configs/babi_memn2n.py --config.task_options.tasks=1 --workdir=/tmp/babi_memn2n_qa1

Per task, as Sukhbaatar et al.'s paper describes it (their code's two-phase linear-start schedule
differs: configs/README.md, deviation 13): 3 hops, adjacent weight tying, position and temporal encoding,
d = 20, memory of the 50 most recent sentences, batch 32, SGD lr 0.01 halved every 25 epochs for
100 epochs, linear start for the first 20 epochs, 10% of train held out. Our loss is averaged over
the batch where theirs is summed, so the learning rate is 32 × 0.01 and the clipping norm 40 / 32
(global here, per matrix there). Random noise on the temporal indices and the 10 restarts are not
reproduced. Paper (Table 4, MemN2N column, 1k PE LS RN): 86% mean test accuracy. Run here at 10k: RESULTS.md.
"""

from configs.babi import get_config as rnn_config
from configs.common import parse_arg

EPOCH = 282  # steps: 9000 questions / 32


def get_config(arg=None):
    cpu, _ = parse_arg(arg, {})
    c = rnn_config("cpu" if cpu else None)
    c.model = "memn2n"
    c.task_options.format = "memory"
    c.task_options.memory_size = 50
    c.task_options.punctuation = False  # MemN2N's sentences are their words
    c.embed_dim = 20
    c.memn2n.hops = 3
    epoch = EPOCH // 10 if cpu else EPOCH  # the 1k set of :cpu has a tenth of the questions
    c.memn2n.linear_start_steps = 20 * epoch
    c.optimizer = "sgd"
    c.learning_rate = 0.32
    c.grad_clip = 1.25
    c.schedule = "piecewise"
    c.lr_boundaries = tuple(25 * epoch * k for k in (1, 2, 3))
    c.lr_values = (0.16, 0.08, 0.04)
    c.num_steps = 100 * epoch
    c.eval_every = 5 * epoch
    c.checkpoint_every = 10 * epoch
    return c
