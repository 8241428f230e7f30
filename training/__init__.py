"""The training side of the checkout (not part of the installed `rumjax` library): what train.py composes.

config       the experiment config: checks, old runs' keys, the model-defining keys
build        config -> task, model, optimizer, device mesh
steps        the pure train and eval steps, and language-model evaluation over a whole stream
evaluation   the held-out sets of a run and their metrics
checkpoints  orbax checkpoints of a run (latest and best-on-validation)
run_info     what a report needs to know about where a run ran
distributed  several processes (hosts) on JAX's distributed runtime
metric_log   metrics.jsonl and TensorBoard events in the workdir
progress     the progress bar and the averaged training metrics of a run in progress
storage      a workdir that cannot be written, a disk that fills
workdir_lock one writer per workdir
huge_pages   2 MiB pages for XLA:CPU's buffers (train.py re-executes itself with glibc's tunable)
"""
