"""The bAbI section (Tables 2 and 4): one model per task, against the paper's columns."""

from __future__ import annotations

import os

from scripts.report.plots import kernel_collection
from scripts.report.records import at_least, command, finished, fmt_time, hardware, load_run

# RUM paper, Table 4 (test accuracy %): RUM, LSTM (Weston et al.), GORU (Jing et al.), MemN2N (Sukhbaatar et al.);
# which training-set size each column is, PAPER_COLUMNS.
PAPER_TABLE4 = [
    (79.7, 50, 46, 100),
    (39.4, 20, 40, 92),
    (46.6, 20, 34, 60),
    (100, 61, 63, 97),
    (96.8, 70, 87, 87),
    (84.7, 48, 54, 94),
    (89.1, 49, 78, 83),
    (74.0, 45, 75, 90),
    (84.0, 64, 63, 87),
    (75.7, 44, 45, 85),
    (90.6, 72, 69, 99),
    (95.0, 74, 70, 99),
    (91.5, 94, 93, 99),
    (43.9, 27, 38, 98),
    (58.8, 21, 55, 100),
    (47.1, 23, 44, 99),
    (60.3, 51, 60, 49),
    (98.5, 52, 91, 89),
    (10.2, 8, 9, 17),
    (98.0, 91, 98, 100),
]


PAPER_TABLE4_MEAN = (73.2, 49, 60, 86)


PAPER_COLUMNS = (
    "The paper's RUM column is trained on 10k. Its LSTM column is Weston et al.'s LSTM and its MemN2N column "
    "Sukhbaatar et al.'s per-task PE LS RN model, both trained on the **1k** sets (baselines.md §4), although "
    "appendix C says all models use 10k: those two columns are 1k results. For that MemN2N at 10k, Sukhbaatar et "
    "al. report a mean error of 6.6% (baselines.md, from a secondary source)."
)


def test_at_best_valid(run: dict) -> dict | None:
    """The test evaluation of the step with the best validation accuracy (ties: the earliest)."""
    valid = run["valid"]
    if not valid:
        return run["test"][-1] if run["test"] else None
    best = max(valid, key=lambda r: (r["accuracy"], -r["step"]))
    return next((r for r in run["test"] if r["step"] == best["step"]), None)


BABI_SCALES = {
    # scale: (title, {column: run-name prefix}, what the scale is)
    "10k": (
        "## bAbI question answering at the paper's scale (10k, Table 4)",
        {
            "RUM 256 (sentence)": "babi10k_rum_qa",
            "LSTM 256 (sentence)": "babi10k_lstm_qa",
            "MemN2N (10k)": "babi10k_memn2n_qa",
            "RUM 256 (word)": "babi10k_rum_word_qa",
        },
        "Scale: the paper's: the **10k** training set of each task (task 3's 10k file is missing offline: its "
        "1k file, `qa3_fallback=1k`), 10% held out, one model per task, Adam 1e-3, batch 32, 20 epochs. RUM "
        "λ = 0, N_h = 256, η = N/A and LSTM 256 read the authors' sentence-level input (one bag of words per "
        "sentence, then the question); MemN2N as configs/babi_memn2n.py at 10k; RUM 256 (word) reads appendix C's "
        "word-level input (story and question as one word sequence, configs/babi.py).",
    ),
}


def question_embeds(done: dict) -> str:
    """One sentence: which embedding table the sentence-level runs' question step used (the runs' configs;
    one saved before `task_options.question_embed` used its own table, SAVED_BEFORE)."""
    from configs.common import SAVED_BEFORE

    counts: dict[str, int] = {}
    for r in done.values():
        options = r["config"]["task_options"]
        if options.get("format") == "sentence":
            how = options.get("question_embed", SAVED_BEFORE["task_options.question_embed"])
            counts[how] = counts.get(how, 0) + 1
    if not counts:
        return ""
    said = {"separate": "a table of its own (rumjax 0.3)", "shared": "the story's table (the authors' code)"}
    parts = [f"{n} with {said[how]}" for how, n in sorted(counts.items())]
    return (
        f"The question step of the sentence-level runs is embedded: {'; '.join(parts)}. Today's default "
        "(`task_options.question_embed=shared`) shares the story's table, as the authors' code."
    )


def paper_column(model: str) -> int:
    """The column of PAPER_TABLE4 for one of our models: RUM 0, LSTM 1, MemN2N 3."""
    return 3 if "MemN2N" in model else 1 if "LSTM" in model else 0


def paper_gaps(scores: dict[str, dict[int, float]], points: float = 10.0) -> str:
    """One sentence: for each model ({model: {task: test accuracy %}}), the tasks more than `points` below and
    above the paper's column for the same model (PAPER_TABLE4)."""
    parts = []
    for m, by_task in scores.items():
        if not by_task:
            continue
        paper = {t: PAPER_TABLE4[t - 1][paper_column(m)] for t in by_task}
        sides = []
        for side, tasks in (
            ("below", [t for t, a in by_task.items() if a < paper[t] - points]),
            ("above", [t for t, a in by_task.items() if a > paper[t] + points]),
        ):
            if tasks:
                sides.append(f"{side} on tasks " + ", ".join(f"{t} ({by_task[t]:.1f} vs {paper[t]})" for t in tasks))
        parts.append(f"{m}: " + ("; ".join(sides) if sides else "no task") + f" (of {len(by_task)})")
    return (
        f"More than {points:g} points from the paper's column for the same model: " + " — ".join(parts) + "."
        if parts
        else ""
    )


def input_comparison(scores: dict[str, dict[int, float]]) -> str:
    """One sentence: the same model on the sentence-level and the word-level input ("X (sentence)" and
    "X (word)" in `scores`), task by task where both ran."""
    parts = []
    for m, by_task in scores.items():
        if not m.endswith("(sentence)"):
            continue
        word = scores.get(m.replace("(sentence)", "(word)"), {})
        both = sorted(set(by_task) & set(word))
        if both:
            parts.append(
                f"{m.replace(' (sentence)', '')}, task "
                + ", task ".join(f"{t}: {by_task[t]:.1f} against {word[t]:.1f}" for t in both)
            )
    if not parts:
        return ""
    return (
        "The sentence-level input sums each sentence's word vectors, so it cannot tell \"the office is north of "
        'the kitchen" from "the kitchen is north of the office"; tasks 4, 5, 17 and 18 ask about such '
        "relations. Sentence-level against word-level input where both ran: " + "; ".join(parts) + "."
    )


def babi_section(runs_dir, runs_label: str, figures: str, scale: str = "10k") -> list[str]:
    from tasks.babi import TASK_NAMES

    title, models, scale_text = BABI_SCALES[scale]
    lines = [title, ""]
    runs = {(m, t): load_run(runs_dir, f"{prefix}{t}") for m, prefix in models.items() for t in TASK_NAMES}
    done = {k: r for k, r in runs.items() if r and finished(r)}
    if not done:
        return lines + ["No run yet.", ""]
    example = next(iter(done.values()))
    lines += [
        scale_text
        + " Each cell is the test accuracy at the evaluation with the best validation accuracy. "
        + PAPER_COLUMNS,
        "",
        f"| task | {' | '.join(models)} | RUM (paper) | LSTM (paper) | GORU (paper) | MemN2N (paper) |",
        "|---" * (len(models) + 5) + "|",
    ]
    scores = {m: {} for m in models}  # {model: {task: test accuracy %}}
    for t, name in TASK_NAMES.items():
        cells = []
        for m in models:
            r = done.get((m, t))
            rec = test_at_best_valid(r) if r else None
            if rec is None:
                cells.append("not run" if runs[(m, t)] is None else "unfinished")
            else:
                scores[m][t] = 100 * rec["accuracy"]
                cells.append(f"{scores[m][t]:.1f}")
        paper = PAPER_TABLE4[t - 1]
        if any(
            r["config"]["task_options"].get("qa3_fallback") == "1k" for (_, task), r in done.items() if task == 3 == t
        ):
            name += " (**1k** training file: its 10k file is missing offline)"
        lines.append(f"| {t}. {name} | {' | '.join(cells)} | {' | '.join(str(p) for p in paper)} |")
    means = [
        f"{sum(v) / len(v):.1f}" + ("" if len(v) == 20 else f" ({len(v)} tasks)") if v else "–"
        for v in (list(by_task.values()) for by_task in scores.values())
    ]
    passed = [f"{sum(at_least(a, 95) for a in v.values())}/{len(v)}" if v else "–" for v in scores.values()]
    paper_passed = [sum(row[i] >= 95 for row in PAPER_TABLE4) for i in range(4)]
    lines += [
        f"| **mean** | {' | '.join(means)} | {' | '.join(str(p) for p in PAPER_TABLE4_MEAN)} |",
        f"| tasks ≥ 95% | {' | '.join(passed)} | {' | '.join(f'{p}/20' for p in paper_passed)} |",
        "",
    ]
    comparison = input_comparison(scores)
    lines += [paper_gaps(scores), ""] + ([comparison, ""] if comparison else [])
    embeds = question_embeds(done)
    if embeds:
        lines += [embeds, ""]
    total = sum(r["test"][-1]["wall_time"] for r in done.values())
    commands = " and ".join(command(f"{prefix}1", runs_label) for prefix in models.values())
    lines += [
        f"Training time of the {len(done)} finished runs: {fmt_time(total)} in all ({hardware(example)}). "
        f"Commands: {commands}, with `tasks=N` and `_qaN` for task N; `python -m scripts.experiments --list` "
        "prints them all.",
        "",
    ]
    first = f"{next(iter(models.values()))}1"
    heat = kernel_collection(
        runs_dir, first, f"RUM λ=0, bAbI task 1 ({scale})", os.path.join(figures, f"kernels_babi{scale}_qa1.png")
    )
    if heat:
        lines += ["The kernels of the target memory and the update gate, as the paper's Figure 8:", "", heat, ""]
    return lines
