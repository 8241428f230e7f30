"""Shared set-up of the character-level Penn Treebank experiments (paper §4.4, appendix D, Tables 5–7).

Table 5, for every model: embedding 128, truncated BPTT length 150 with the state carried across
batches, batch 128, Adam lr 0.002, global-norm clipping 1.0, layer norm in every cell,
non-recurrent dropout 0.35, zoneout 0.5 (cell) and 0.1 (hidden). The character stream is the
authors': the raw bytes of the word-level files ``ptb.{split}.txt`` (``task_options.files="word"``;
``"char"`` reads ``ptb.char.{split}.txt``, the stream of runs saved before the option existed, see
tasks/ptb.py). One epoch is 265 steps (5,101,618 training characters in 128 rows of segments of
150); on the char stream 261 (5,017,482). As the authors' code, the clipped
gradient is that of the loss summed over the 150 steps and averaged over the batch
(``loss_reduction="sum_time"``; logged losses stay per character). Evaluation: bits per character
over the whole valid and test streams with the state carried (16 rows) for the curves; the
best-on-validation model is kept among the checkpoints, and the final test BPC is that model's over the
whole test stream at batch 1 (``final_test_batch_size=1``, split "final_test"; also
``python -m scripts.evaluate --workdir DIR``), as the authors report it. Fidelity table: configs/README.md.

The ``:cpu`` variants keep the architecture at a small size (embedding 32, 128 units, batch 32,
T 50) for a run of well under an hour on 2 CPU cores.
"""

import ml_collections

from configs.common import base_config, data_dir

TRAIN_CHARS = {"word": 5_101_618, "char": 5_017_482}  # training stream per task_options.files (Mikolov's split)


def steps_per_epoch(batch_size: int, seq_len: int, files: str = "word") -> int:
    """Truncated-BPTT steps in one pass over the training stream of `files` cut into `batch_size` rows."""
    return (TRAIN_CHARS[files] // batch_size - 1) // seq_len


STEPS_PER_EPOCH = steps_per_epoch(128, 150)  # 265 (261 on the char stream)


def ptb_config(*, epochs: int, cpu: bool) -> ml_collections.ConfigDict:
    c = base_config()
    c.task = "ptb"
    c.task_options = ml_collections.ConfigDict(
        dict(data_dir=data_dir("ptb", "ptb"), seq_len=150, download=True, check=True, files="word")
    )
    c.embed_dim = 128
    c.dropout = 0.35
    c.zoneout_cell = 0.5
    c.zoneout_hidden = 0.1
    c.optimizer = "adam"
    c.learning_rate = 0.002
    c.grad_clip = 1.0
    c.loss_reduction = "sum_time"
    c.final_test_batch_size = 1
    c.batch_size = 128
    c.num_steps = epochs * STEPS_PER_EPOCH
    c.eval_every = STEPS_PER_EPOCH
    c.eval_batch_size = 16
    c.log_every = 50
    c.checkpoint_every = STEPS_PER_EPOCH
    if cpu:
        c.embed_dim = 32
        c.hidden = 128
        c.batch_size = 32
        c.task_options.seq_len = 50
        c.num_steps = 3000  # 0.94 of an epoch: (5,101,618 // 32 − 1) // 50 = 3188 steps
        c.eval_every = 1000
        c.checkpoint_every = 500
        c.eval_batch_size = 8
    return c
