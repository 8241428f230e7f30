"""The runs behind RESULTS.md: each a name, a config, overrides and the group it reports in.

    python -m scripts.experiments --runs /work/runs recall30_rum recall30_lstm   # run (or resume) these
    python -m scripts.experiments --list                                        # print every command
    python -m scripts.experiments --runs /work/runs --keep-going 'babi10k_rum_qa*'  # a queue, by pattern
    python -m scripts.experiments --runs /work/runs --skip-finished results/runs 'babi10k_*_seed1'  # what is left

A run's workdir is <runs>/<name>; re-running resumes it. `scripts.report` reads the same
names back, so every number in RESULTS.md traces to one command printed here.
"""

from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
from typing import NamedTuple


class Experiment(NamedTuple):
    group: str  # the table / figure it belongs to
    label: str  # the model as the paper names it
    config: str  # --config value
    overrides: tuple[str, ...] = ()

    def command(self, runs: str, name: str) -> list[str]:
        return ["python", "train.py", f"--config={self.config}", f"--workdir={runs}/{name}", *self.overrides]


# paper-size Copying: the steps every model trains for (checkpoints every 250 steps, a few minutes on one core)
COPY_BUDGET = ("--config.num_steps=10000", "--config.checkpoint_every=250")
RECALL_BUDGETS = {30: 20_000, 50: 30_000}  # steps every model of a length trains for
RECALL_BUDGET_T30 = (f"--config.num_steps={RECALL_BUDGETS[30]}",)
RECALL_BUDGET_T50 = (f"--config.num_steps={RECALL_BUDGETS[50]}",)
# RUM λ = 1 at T = 50 with a longer budget (a separate run, recall50_rum_fast_backward): the steps to 99%
RECALL_EXTENDED_T50 = ("--config.num_steps=60000",)

EXPERIMENTS: dict[str, Experiment] = {
    # Copying Memory at CPU scale (T = 200, hidden 64, batch 64, 8000 steps), Figure 2's cells
    "copy_cpu_lstm": Experiment("copying_cpu", "LSTM 64", "configs/copying.py:cpu,lstm"),
    "copy_cpu_gru": Experiment("copying_cpu", "GRU 64", "configs/copying.py:cpu,gru"),
    "copy_cpu_rum": Experiment("copying_cpu", "RUM 64, λ=0, η=N/A", "configs/copying.py:cpu,rum"),
    "copy_cpu_rum_eta1": Experiment("copying_cpu", "RUM 64, λ=0, η=1.0", "configs/copying.py:cpu,rum_eta1"),
    "copy_cpu_rum_lam1": Experiment("copying_cpu", "RUM 64, λ=1, η=N/A", "configs/copying.py:cpu,rum_lam1"),
    # Copying Memory at the paper's sizes (T = 200, batch 128, Figure 2's six models), one step budget for all
    **{
        f"copy200_{preset}": Experiment("copying_t200", label, f"configs/copying.py:{preset}", COPY_BUDGET)
        for preset, label in (
            ("lstm", "LSTM 250"),
            ("gru", "GRU 250"),
            ("goru", "GORU 250"),
            ("rum", "RUM 250, λ=0, η=N/A"),
            ("rum_eta1", "RUM 250, λ=0, η=1.0"),
            ("rum_lam1", "RUM 100, λ=1, η=N/A"),
        )
    },
    # and at T = 500 for the two RUMs (issue 14, CPU hours allowing)
    **{
        f"copy500_{preset}": Experiment(
            "copying_t500", label, f"configs/copying.py:{preset}", (*COPY_BUDGET, "--config.task_options.delay=500")
        )
        for preset, label in (("rum", "RUM 250, λ=0, η=N/A"), ("rum_lam1", "RUM 100, λ=1, η=N/A"))
    },
    # and the two λ = 0 RUMs to Figure 2's axis, 50,000 steps (issue 26 item 4: does η = 1.0 reach near zero?)
    **{
        f"copy200_{preset}_50k": Experiment(
            "copying_t200_50k", label, f"configs/copying.py:{preset}", ("--config.num_steps=50000", COPY_BUDGET[1])
        )
        for preset, label in (("rum", "RUM 250, λ=0, η=N/A"), ("rum_eta1", "RUM 250, λ=0, η=1.0"))
    },
    # Associative Recall, N_h = 50 for every model, same step budget per length
    "recall30_rum": Experiment("recall_t30", "RUM λ=1", "configs/recall.py:cpu", RECALL_BUDGET_T30),
    "recall30_lstm": Experiment("recall_t30", "LSTM", "configs/recall.py:cpu,lstm", RECALL_BUDGET_T30),
    "recall30_gru": Experiment("recall_t30", "GRU", "configs/recall.py:cpu,gru", RECALL_BUDGET_T30),
    "recall50_rum": Experiment("recall_t50", "RUM λ=1", "configs/recall.py:cpu,t50", RECALL_BUDGET_T50),
    "recall50_lstm": Experiment("recall_t50", "LSTM", "configs/recall.py:cpu,t50,lstm", RECALL_BUDGET_T50),
    "recall50_gru": Experiment("recall_t50", "GRU", "configs/recall.py:cpu,t50,gru", RECALL_BUDGET_T50),
}
# The rest of Table 1's models, from the baseline zoo
for _length, _budget in ((30, RECALL_BUDGET_T30), (50, RECALL_BUDGET_T50)):
    for _cell, _label in (
        ("goru", "GORU"),
        ("fast_weights", "FW-LN"),
        ("learned_memory", "learned-update memory (ours, WeiNet-style)"),
        ("ntm", "NTM"),
    ):
        _variant = f"cpu,{_cell}" if _length == 30 else f"cpu,t50,{_cell}"
        EXPERIMENTS[f"recall{_length}_{_cell}"] = Experiment(
            f"recall_t{_length}", _label, f"configs/recall.py:{_variant}", _budget
        )
# Seeds for the close Table 1 comparison (RUM λ = 1 against the learned-update memory at T = 30); seed 0 is
# recall30_rum / recall30_learned_memory above
for _seed in (1, 2):
    for _cell, _variant, _label in (
        ("rum", "cpu", "RUM λ=1"),
        ("learned_memory", "cpu,learned_memory", "learned-update memory (ours, WeiNet-style)"),
    ):
        EXPERIMENTS[f"recall30_{_cell}_seed{_seed}"] = Experiment(
            "recall_t30_seeds", _label, f"configs/recall.py:{_variant}", (*RECALL_BUDGET_T30, f"--config.seed={_seed}")
        )
# The authors' data regime (configs/README.md): one fixed set of 100k sequences, cycled, 10k validated every 1000;
# beside the same models on fresh data, validated the same way, run with the same code. RUM, the authors' code's
# baselines (LSTM, GRU), and the two strongest baselines of the paper's Table 1 at T = 30 (FW-LN and WeiNet, 100%
# each there; here FW-LN and our WeiNet-style learned-update memory)
RECALL_REGIME_CELLS = (
    ("rum", "RUM λ=1"),
    ("lstm", "LSTM"),
    ("gru", "GRU"),
    ("fast_weights", "FW-LN"),
    ("learned_memory", "learned-update memory"),
)
for _cell, _label in RECALL_REGIME_CELLS:
    EXPERIMENTS[f"recall30_fixed_{_cell}"] = Experiment(
        "recall_t30_regime", f"{_label}, fixed 100k set", f"configs/recall.py:cpu,fixed,{_cell}", RECALL_BUDGET_T30
    )
    EXPERIMENTS[f"recall30_authors_{_cell}"] = Experiment(  # and with the authors' optimiser, Adam 1e-3
        "recall_t30_regime",
        f"{_label}, fixed 100k set, Adam",
        f"configs/recall.py:cpu,fixed,adam,{_cell}",
        RECALL_BUDGET_T30,
    )
    EXPERIMENTS[f"recall30_fresh_{_cell}"] = Experiment(
        "recall_t30_regime",
        f"{_label}, fresh data",
        f"configs/recall.py:cpu,fixed,{_cell}",
        RECALL_BUDGET_T30 + ("--config.task_options.train_size=0",),
    )
# FW-LN where public re-implementations learn retrieval: 4 pairs (T = 8), Ba et al.'s training, and ablations
FW_T8_BUDGET = ("--config.num_steps=30000",)
for _suffix, _label, _extra in (
    ("", "FW-LN, Ba et al.'s training", ()),
    ("_ln0_separate", "FW-LN, h⁰ with its own LN", ("--config.fast_weights.ln_h0=separate",)),
    ("_ln0_none", "FW-LN, no LN on h⁰", ("--config.fast_weights.ln_h0=none",)),
    ("_relu100", "FW-LN, 100-unit ReLU layer before the readout", ("--config.readout_hidden=100",)),
):
    EXPERIMENTS[f"recall8_fast_weights_ba{_suffix}"] = Experiment(
        "recall_t8_fw", _label, "configs/recall.py:cpu,t8,fast_weights_ba", FW_T8_BUDGET + _extra
    )
# Associative Recall T = 50, RUM λ = 1 re-run with the hand-written λ = 1 backward (the speed issue): wall time to 99%
# ... and its best setting on T = 8 (no LN on h⁰) at the paper's T = 30, for 100k steps
EXPERIMENTS["recall30_fast_weights_ba_ln0_none"] = Experiment(
    "recall_t8_fw",
    "FW-LN, no LN on h⁰, at T = 30 (15 pairs)",
    "configs/recall.py:cpu,fast_weights_ba",
    ("--config.num_steps=100000", "--config.fast_weights.ln_h0=none"),
)
EXPERIMENTS["recall50_rum_fast_backward"] = Experiment(
    "recall_t50_speed", "RUM λ=1, hand-written reversible backward", "configs/recall.py:cpu,t50", RECALL_EXTENDED_T50
)
EXPERIMENTS["recall30_fast_weights_embed"] = Experiment(
    "recall_t30", "FW-LN, 100-d input embedding", "configs/recall.py:cpu,fast_weights_embed", RECALL_BUDGET_T30
)
EXPERIMENTS["recall30_fast_weights_ba"] = Experiment(
    "recall_t30",
    "FW-LN, Ba et al.'s training (embedding, Adam, clip 5, λ=0.9)",
    "configs/recall.py:cpu,fast_weights_ba",
    RECALL_BUDGET_T30,
)

# bAbI at CPU scale: the 1k training set of each task (10% held out), one model per task, 20 epochs
# for the RNN cells (RUM 64 units) and MemN2N's own 100-epoch schedule (configs/babi*.py, ``:cpu``)
for _task in range(1, 21):
    EXPERIMENTS[f"babi_rum_qa{_task}"] = Experiment(
        "babi_cpu", "RUM", "configs/babi.py:cpu", (f"--config.task_options.tasks={_task}",)
    )
    EXPERIMENTS[f"babi_memn2n_qa{_task}"] = Experiment(
        "babi_cpu", "MemN2N", "configs/babi_memn2n.py:cpu", (f"--config.task_options.tasks={_task}",)
    )
# bAbI at the paper's scale (issue 14): the 10k sets, RUM 256 and LSTM 256 on the authors' sentence-level input,
# and MemN2N; task 3 trains on its 1k file (its 10k file is missing offline)
for _task in range(1, 21):
    _tasks = (f"--config.task_options.tasks={_task}", "--config.task_options.qa3_fallback=1k")
    EXPERIMENTS[f"babi10k_rum_qa{_task}"] = Experiment(
        "babi_10k", "RUM 256, sentence level", "configs/babi.py:sentence", _tasks
    )
    EXPERIMENTS[f"babi10k_lstm_qa{_task}"] = Experiment(
        "babi_10k", "LSTM 256, sentence level", "configs/babi.py:sentence,lstm", _tasks
    )
    EXPERIMENTS[f"babi10k_memn2n_qa{_task}"] = Experiment("babi_10k", "MemN2N", "configs/babi_memn2n.py", _tasks)
    # and RUM 256 on the word-level input of the paper's appendix C, after the three above (CPU hours allowing)
    EXPERIMENTS[f"babi10k_rum_word_qa{_task}"] = Experiment(
        "babi_10k", "RUM 256, word level", "configs/babi.py", _tasks
    )
    # GORU 256 (Table 4's GORU column), sentence level as RUM and LSTM
    EXPERIMENTS[f"babi10k_goru_qa{_task}"] = Experiment(
        "babi_10k", "GORU 256, sentence level", "configs/babi.py:sentence,goru", _tasks
    )
# Seeds 1 and 2 of Table 4's three models (issue 31; seed 0 is the run above). Their question step keeps its own
# embedding table, as seed 0's records were made before `question_embed` existed (SAVED_BEFORE), so the three
# seeds are one model; the authors' shared table is the default for new runs (configs/README.md)
BABI_SEEDS = (1, 2)
BABI_SEED_MODELS = ("rum", "lstm", "memn2n")  # the run names' model part, as babi10k_<model>_qa<task>
for _seed in BABI_SEEDS:
    for _task in range(1, 21):
        _seeded = (f"--config.seed={_seed}",)
        for _model in BABI_SEED_MODELS:
            _base = EXPERIMENTS[f"babi10k_{_model}_qa{_task}"]
            _same_model = () if _model == "memn2n" else ("--config.task_options.question_embed=separate",)
            EXPERIMENTS[f"babi10k_{_model}_qa{_task}_seed{_seed}"] = _base._replace(
                overrides=(*_base.overrides, *_seeded, *_same_model)
            )
# Character-level PTB at CPU scale: RUM 128 against an LN-LSTM of the same parameter count (93 units),
# each trained for the same wall time on one core (time_budget_s) rather than the same steps
# (these pairs were recorded on the ptb.char stream, before the authors' stream became the default: issue 25)
PTB_CPU_BUDGET = ("--config.num_steps=1000000", "--config.time_budget_s=1200", "--config.task_options.files=char")
EXPERIMENTS["ptb_cpu_rum"] = Experiment("ptb_cpu", "RUM 128 (λ=0, η=1.0, LN)", "configs/ptb_rum.py:cpu", PTB_CPU_BUDGET)
EXPERIMENTS["ptb_cpu_lstm"] = Experiment("ptb_cpu", "LN-LSTM 93", "configs/ptb_lstm.py:cpu", PTB_CPU_BUDGET)
# The same pair after the fidelity fixes (clipping of the time-summed loss, LN on u, joint LN-LSTM)
EXPERIMENTS["ptb_cpu_sum_rum"] = Experiment(
    "ptb_cpu_sum", "RUM 128 (λ=0, η=1.0, LN on u)", "configs/ptb_rum.py:cpu", PTB_CPU_BUDGET
)
EXPERIMENTS["ptb_cpu_sum_lstm"] = Experiment("ptb_cpu_sum", "LN-LSTM 93", "configs/ptb_lstm.py:cpu", PTB_CPU_BUDGET)
# FS-RUM-2 against FS-LSTM-2 (issue 14): the paper's sizes times f = 0.25 (scripts/ptb_scale.py chose it), the
# parameter counts matched by FS-LSTM-2's slow width, two hours of wall time each, the two run side by side
PTB_FS_BUDGET = ("--config.hidden=175", "--config.time_budget_s=7200", "--config.task_options.files=char")
EXPERIMENTS["ptb_fs_rum2"] = Experiment(
    "ptb_fs",
    "FS-RUM-2, fast 175, slow RUM 250",
    "configs/ptb_fsrum.py",
    (*PTB_FS_BUDGET, "--config.fs_rnn.slow_hidden=250"),
)
EXPERIMENTS["ptb_fs_lstm2"] = Experiment(
    "ptb_fs",
    "FS-LSTM-2, fast 175, slow LN-LSTM 197",
    "configs/ptb_fslstm.py",
    (*PTB_FS_BUDGET, "--config.fs_rnn.slow_hidden=197"),
)

# Both PTB pairs over three seeds on the authors' stream (issue 26 item 3; the pairs above read `ptb.char`): the
# two models of a seed run side by side, one per core, so that they share the machine's speed
PTB_SEEDS = (0, 1, 2)
PTB_SEED_PAIRS = {
    # group: ((name part, experiment the model is taken from), ...)
    "ptb_cpu_seeds": (("rum", "ptb_cpu_sum_rum"), ("lstm", "ptb_cpu_sum_lstm")),
    "ptb_fs_seeds": (("rum2", "ptb_fs_rum2"), ("lstm2", "ptb_fs_lstm2")),
}
for _group, _pair in PTB_SEED_PAIRS.items():
    for _seed in PTB_SEEDS:
        for _part, _base_name in _pair:
            _base = EXPERIMENTS[_base_name]
            _overrides = tuple(o for o in _base.overrides if not o.startswith("--config.task_options.files="))
            EXPERIMENTS[f"{_group.removesuffix('_seeds')}_seed{_seed}_{_part}"] = _base._replace(
                group=_group, overrides=(*_overrides, f"--config.seed={_seed}")
            )


def select(patterns: list[str]) -> list[str]:
    """The experiments named by `patterns` (exact names or shell patterns such as ``babi10k_rum_qa*``), in the
    order given, each pattern's matches in EXPERIMENTS' order; a pattern that matches nothing raises."""
    names = []
    for pattern in patterns:
        matches = [n for n in EXPERIMENTS if fnmatch.fnmatchcase(n, pattern)]
        if not matches:
            raise ValueError(f"no experiment matches {pattern!r}; known: {', '.join(EXPERIMENTS)}")
        names += [n for n in matches if n not in names]
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "names",
        nargs="*",
        help="experiments to run, in order: names or shell patterns "
        f"('babi10k_rum_qa*'); known: {', '.join(EXPERIMENTS)}",
    )
    parser.add_argument("--runs", default="runs", help="folder of the workdirs")
    parser.add_argument("--list", action="store_true", help="print the command of every experiment (or of those named)")
    parser.add_argument("--keep-going", action="store_true", help="after a run fails, go on to the next one")
    parser.add_argument(
        "--skip-finished",
        action="append",
        metavar="DIR",
        default=[],
        help="leave out the experiments whose record in DIR is finished (e.g. results/runs, the archived "
        "records, on a machine whose workdirs are gone); repeat it for several folders",
    )
    args = parser.parse_args()
    try:
        names = select(args.names) if args.names else []
    except ValueError as e:
        parser.error(str(e))
    names = names or (list(EXPERIMENTS) if args.list else [])
    if args.skip_finished:
        from scripts.report.records import finished, load_run  # the report's reading of a record

        done = [n for n in names if (run := load_run(args.skip_finished, n)) is not None and finished(run)]
        if done:
            print(f"finished in {', '.join(args.skip_finished)}, left out: {', '.join(done)}", flush=True)
        names = [n for n in names if n not in done]
    if args.list:
        for name in names:
            print(" ".join(EXPERIMENTS[name].command(args.runs, name)))
        return
    failed = []
    for name in names:
        cmd = EXPERIMENTS[name].command(args.runs, name)
        print("+", " ".join(cmd), flush=True)
        if subprocess.run([sys.executable, *cmd[1:]]).returncode != 0:
            failed.append(name)
            if not args.keep_going:
                break
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
