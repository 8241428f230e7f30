"""README's results table: one line per headline comparison, each number read from the same records as
RESULTS.md's sections (``python -m scripts.report`` writes it into README.md; ``--check`` checks it)."""

from __future__ import annotations

import statistics

from scripts.experiments import BABI_SEEDS, PTB_SEEDS, RECALL_BUDGETS
from scripts.report.babi import seed_scores
from scripts.report.ptb import STREAM_LABEL, stream
from scripts.report.records import at_step, finished, load_run
from scripts.report.seeds import final_bpc


def _recall(runs, name: str, length: int) -> str:
    run = load_run(runs, name)
    if run is None or not run["test"]:
        return "not run"
    at = at_step(run["test"], RECALL_BUDGETS[length])
    return f"{100 * at['accuracy']:.1f}%" + ("" if finished(run) else f" at step {at['step']} (unfinished)")


def _copying(runs, name: str) -> str:
    run = load_run(runs, name)
    if run is None or not run["test"]:
        return "not run"
    last = run["test"][-1]
    return f"{last['loss']:.4f} (baseline {last['baseline_loss']:.4f})" + ("" if finished(run) else " (unfinished)")


def _babi(runs, prefix: str) -> str:
    """The 20-task mean test accuracy: over the seeds that have every task (mean ± std), else seed 0's."""
    per_seed = seed_scores(runs, prefix, (0, *BABI_SEEDS))
    complete = [statistics.mean(s.values()) for s in per_seed.values() if len(s) == 20]
    if len(complete) > 1:
        return f"{statistics.mean(complete):.1f}% ± {statistics.stdev(complete):.1f} ({len(complete)} seeds)"
    scores = list(per_seed.get(0, {}).values())
    if not scores:
        return "not run"
    return f"{statistics.mean(scores):.1f}%" + ("" if len(scores) == 20 else f" ({len(scores)} tasks)")


def _ptb_seeds(runs, group: str, part: str) -> str:
    """The final test BPC of a PTB pair's model over its seeds (mean ± std), or the seeds finished so far."""
    loaded = (load_run(runs, f"{group}_seed{seed}_{part}") for seed in PTB_SEEDS)
    done = [run for run in loaded if run is not None and final_bpc(run) is not None]
    bpc = [final_bpc(run) for run in done]
    if not bpc:
        return "not run"
    streams = " and ".join(sorted({STREAM_LABEL[stream(run)] for run in done}))
    if len(bpc) == 1:
        return f"{bpc[0]:.3f} (1 of {len(PTB_SEEDS)} seeds, {streams} stream)"
    return f"{statistics.mean(bpc):.3f} ± {statistics.stdev(bpc):.3f} ({len(bpc)} seeds, {streams} stream)"


def summary_table(runs) -> list[str]:
    """The rows of README's results table: experiment, model, here, the paper's, where RESULTS.md has it."""
    rows = [
        (
            "Copying T = 200, test loss at 10k steps",
            "RUM 100 λ = 1",
            _copying(runs, "copy200_rum_lam1"),
            "→ 0 (Fig. 2)",
        ),
        ("", "LSTM 250", _copying(runs, "copy200_lstm"), "baseline (Fig. 2)"),
        ("Recall T = 30, test accuracy at 20k steps", "RUM λ = 1", _recall(runs, "recall30_rum", 30), "100%"),
        ("", "LSTM", _recall(runs, "recall30_lstm", 30), "25.6%"),
        ("", "FW-LN", _recall(runs, "recall30_fast_weights", 30), "100%"),
        ("Recall T = 50, test accuracy at 30k steps", "RUM λ = 1", _recall(runs, "recall50_rum", 50), "100%"),
        ("", "LSTM", _recall(runs, "recall50_lstm", 50), "20.5%"),
        ("bAbI 10k, mean test accuracy (20 tasks)", "RUM 256", _babi(runs, "babi10k_rum_qa"), "73.2%"),
        ("", "LSTM 256", _babi(runs, "babi10k_lstm_qa"), "49% (1k)"),
        (
            "PTB, test BPC, CPU scale, 20 min on one core each",
            "RUM 128",
            _ptb_seeds(runs, "ptb_cpu", "rum"),
            "not in the paper",
        ),
        ("", "LN-LSTM 93", _ptb_seeds(runs, "ptb_cpu", "lstm"), "not in the paper"),
        (
            "PTB, test BPC, FS pair at 0.25× size, 2 h on one core each",
            "FS-RUM-2",
            _ptb_seeds(runs, "ptb_fs", "rum2"),
            "1.189 (full size)",
        ),
        ("", "FS-LSTM-2", _ptb_seeds(runs, "ptb_fs", "lstm2"), "1.190 (full size)"),
    ]
    lines = ["| experiment | model | here | paper |", "|---|---|---|---|"]
    lines += [f"| {e} | {m} | {h} | {p} |" for e, m, h, p in rows]
    return lines + [
        "",
        "Every number is read from a record in `results/runs/` by `python -m scripts.report`, which "
        "also writes `RESULTS.md` (seeds, wall times, commands, figures); CI checks both "
        "(`python -m scripts.report --check`).",
    ]
