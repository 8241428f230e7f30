"""bAbI question answering (paper §4.3, appendix C, Tables 2 and 4): one model per task, no attention.

    python train.py --config=configs/babi.py --config.task_options.tasks=1 --workdir=/tmp/babi_rum_qa1
    python train.py --config=configs/babi.py:lstm --config.task_options.tasks=2 --workdir=...
    python train.py --config=configs/babi.py:cpu --config.task_options.tasks=1 --workdir=...   # 1k, small

As appendix C: story and question concatenated into one word sequence, with a blank at the beginning
(padding) and at the end, embedded, read by the cell, the answer predicted at the last step (the
``sentence`` variant is the authors' runs instead: one bag-of-words step per sentence, then the
question's step with an embedding of its own; about 5× shorter; punctuation kept as their tokenizer); 10k training questions per task,
10% held out for validation; Adam lr 1e-3, batch 32, 20 epochs (5625 steps for one 10k task:
20 × 9000 / 32; scale num_steps for joint training with ``tasks="1,2,..."``). RUM as in the paper's
Figure 8: λ = 0, N_h = 256, η = None. The embedding size is not given in the paper; 64 is ours.
Data: ``task_options.data_dir`` holds the v1.2 folders (en, en-10k, en-valid, ...); by default the
team's offline copy ../shared/data when it is there, else ./data/babi, where missing files are
fetched from the official archive. Task 3 at 10k is missing offline: ``task_options.qa3_fallback=1k``.
Paper (Table 4): RUM 73.2% mean test accuracy, MemN2N 86%, LSTM 49%, GORU 60%.
Fidelity table: configs/README.md.
"""

import ml_collections

from configs.common import apply_preset, base_config, data_dir, parse_arg

PRESETS = {
    "rum": dict(cell="rum", hidden=256, lam=0, eta=None),
    "lstm": dict(cell="lstm", hidden=256),
    "goru": dict(cell="goru", hidden=256, capacity=2),
    "sentence": {"task_options.format": "sentence"},  # the authors' runs: a bag of words per sentence
}


def get_config(arg=None):
    cpu, presets = parse_arg(arg, PRESETS)
    c = base_config()
    c.task = "babi"
    c.task_options = ml_collections.ConfigDict(
        dict(
            data_dir=data_dir("babi", "babi/tasks_1-20_v1-2"),
            tasks="1",
            size="10k",
            valid_fraction=0.1,
            max_length=0,
            qa3_fallback="error",
            download=True,
            check=True,
            format="sequence",
            end_blank=True,
            punctuation=True,
            question_embed="shared",  # format=sentence: the question step uses the story's embedding table
        )
    )
    apply_preset(c, PRESETS["rum"])
    c.embed_dim = 64
    c.optimizer = "adam"
    c.learning_rate = 1e-3
    c.batch_size = 32
    c.num_steps = 5625  # 20 epochs of 9000 questions
    c.eval_every = 281  # about one epoch
    c.eval_batch_size = 500
    c.log_every = 50
    c.checkpoint_every = 562
    if cpu:
        c.task_options.size = "1k"
        c.hidden = 64
        c.num_steps = 563  # 20 epochs of 900 questions
        c.eval_every = 100
        c.checkpoint_every = 100
    for name in presets:
        apply_preset(c, PRESETS[name])
        if cpu:
            c.hidden = 64
    return c
