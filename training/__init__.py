"""The training side of the checkout (not part of the installed `rumjax` library): what train.py composes.

config       the experiment config: checks, old runs' keys, the model-defining keys
build        config -> task, model, optimizer, device mesh
steps        the pure train and eval steps, and language-model evaluation over a whole stream
evaluation   the held-out sets of a run and their metrics
checkpoints  orbax checkpoints of a run (latest and best-on-validation)
run_info     what a report needs to know about where a run ran
"""
