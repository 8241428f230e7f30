"""The bAbI section (Tables 2 and 4): one model per task, against the paper's columns."""

from __future__ import annotations

import os
import statistics

from scripts.experiments import BABI_SEEDS
from scripts.report.plots import kernel_collection, task_scores
from scripts.report.records import at_least, command, finished, fmt_time, hardware_of, load_run

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
    # scale: (title, {column: (run-name prefix, seeds)}, what the scale is)
    "10k": (
        "## bAbI question answering at the paper's scale (10k, Table 4)",
        {
            "RUM 256 (sentence)": ("babi10k_rum_qa", (0, *BABI_SEEDS)),
            "LSTM 256 (sentence)": ("babi10k_lstm_qa", (0, *BABI_SEEDS)),
            "MemN2N (10k)": ("babi10k_memn2n_qa", (0, *BABI_SEEDS)),
            "RUM 256 (word)": ("babi10k_rum_word_qa", (0,)),
            "GORU 256 (sentence)": ("babi10k_goru_qa", (0,)),
        },
        "Scale: the paper's: the **10k** training set of each task (task 3's 10k file is missing offline: its "
        "1k file, `qa3_fallback=1k`), 10% held out, one model per task, Adam 1e-3, batch 32, 20 epochs. RUM "
        "λ = 0, N_h = 256, η = N/A, LSTM 256 and GORU 256 read the authors' sentence-level input (one bag of words "
        "per sentence, then the question); MemN2N as configs/babi_memn2n.py at 10k; RUM 256 (word) reads appendix "
        "C's word-level input (story and question as one word sequence, configs/babi.py).",
    ),
}


def run_name(prefix: str, task: int, seed: int = 0) -> str:
    """The experiment name of one task and seed (scripts/experiments.py: seed 0 carries no suffix)."""
    return f"{prefix}{task}" + (f"_seed{seed}" if seed else "")


def seed_scores(runs_dir, prefix: str, seeds=(0,), tasks=range(1, 21)) -> dict[int, dict[int, float]]:
    """{seed: {task: test accuracy % at the best validation accuracy}} of the finished runs."""
    return scores_from({(t, seed): load_run(runs_dir, run_name(prefix, t, seed)) for seed in seeds for t in tasks})


def scores_from(runs: dict) -> dict[int, dict[int, float]]:
    """{seed: {task: test accuracy %}}, in seed and task order, from loaded runs {(task, seed): run or None}."""
    scores: dict[int, dict[int, float]] = {}
    for (t, seed), run in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rec = test_at_best_valid(run) if run and finished(run) else None
        if rec is not None:
            scores.setdefault(seed, {})[t] = 100 * rec["accuracy"]
    return scores


def by_task(per_seed: dict[int, dict[int, float]]) -> dict[int, list[float]]:
    """{task: [each seed's accuracy, in seed order]} from {seed: {task: accuracy}}."""
    out: dict[int, list[float]] = {}
    for seed in sorted(per_seed):
        for t, a in per_seed[seed].items():
            out.setdefault(t, []).append(a)
    return dict(sorted(out.items()))


def mean_over_tasks(per_seed: dict[int, dict[int, float]], tasks: int = 20) -> str:
    """The 20-task mean: mean ± std over the seeds that have every task, with each seed's mean; a seed with fewer
    tasks only when none has them all (its task count named)."""
    complete = [statistics.mean(s.values()) for s in per_seed.values() if len(s) == tasks]
    if len(complete) > 1:
        each = ", ".join(f"{m:.1f}" for m in complete)
        return f"{statistics.mean(complete):.1f} ± {statistics.stdev(complete):.1f} ({len(complete)} seeds: {each})"
    if complete:
        return f"{complete[0]:.1f}" + (" (the one seed with every task)" if len(per_seed) > 1 else "")
    partial = [(statistics.mean(s.values()), len(s)) for s in per_seed.values() if s]
    return ", ".join(f"{m:.1f} ({n} tasks)" for m, n in partial) or "–"


def mean_comparisons(per_seed: dict[str, dict[int, dict[int, float]]], seeds: int, tasks: int = 20) -> str:
    """The seeded models' 20-task means, pair by pair: a model wins only where its seeds' means are all above the
    other's (`seeds.verdict` on the mean error, 100 − accuracy), and "no verdict yet" while seeds miss tasks."""
    from scripts.report.seeds import verdict

    errors = {
        m: [100 - statistics.mean(s.values()) for s in by_seed.values() if len(s) == tasks]
        for m, by_seed in per_seed.items()
    }
    models = list(errors)
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    return "The 20-task mean, model against model over the seeds: " + " ".join(
        f"{a} against {b}: " + verdict(a, errors[a], b, errors[b], f"{tasks}-task mean error", seeds) for a, b in pairs
    )


def cell(values: list[float]) -> str:
    """One task's cell: the accuracy of one seed, or mean ± sample std of several."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


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
    """The column of PAPER_TABLE4 for one of our models: RUM 0, LSTM 1, GORU 2, MemN2N 3."""
    return 3 if "MemN2N" in model else 2 if "GORU" in model else 1 if "LSTM" in model else 0


def side_of(value: float, values: list[float]) -> str:
    """ "above", "below" or "inside": where `value` lies against the range of `values` (a model's seeds)."""
    return "above" if value > max(values) else "below" if value < min(values) else "inside"


def paper_gaps(scores: dict[str, dict[int, list[float]]], points: float = 10.0) -> str:
    """One sentence: for each model ({model: {task: [each seed's test accuracy %]}}), the tasks whose seed mean is
    more than `points` below or above the paper's column for the same model (PAPER_TABLE4), and, with several
    seeds, where the paper's number lies against the seeds' range."""

    def where(values: list[float], paper: float) -> str:
        if len(values) == 1:
            return f"{values[0]:.1f} vs {paper}"
        lo, hi = min(values), max(values)
        return f"mean {statistics.mean(values):.1f}, seeds {lo:.1f}–{hi:.1f}; paper {paper}, {side_of(paper, values)} the range"

    parts = []
    for m, tasks in scores.items():
        if not tasks:
            continue
        paper = {t: PAPER_TABLE4[t - 1][paper_column(m)] for t in tasks}
        mean = {t: statistics.mean(v) for t, v in tasks.items()}
        sides = []
        for side, far in (
            ("below", [t for t in tasks if mean[t] < paper[t] - points]),
            ("above", [t for t in tasks if mean[t] > paper[t] + points]),
        ):
            if far:
                sides.append(f"{side} on tasks " + ", ".join(f"{t} ({where(tasks[t], paper[t])})" for t in far))
        seeds = max(len(v) for v in tasks.values())
        of = f"of {len(tasks)}" + (f", seed means of {seeds}" if seeds > 1 else "")
        parts.append(f"{m}: " + ("; ".join(sides) if sides else "no task") + f" ({of})")
    return (
        f"More than {points:g} points from the paper's column for the same model: " + " — ".join(parts) + "."
        if parts
        else ""
    )


def _word_against_sentence_range(sentence: dict, word: dict, tasks: list[int]) -> str:
    """Where the word-level mean lies against the range of the sentence-level seeds, task by task
    (only when the sentence level has several seeds: one seed has no range)."""
    if not any(len(sentence[t]) > 1 for t in tasks):
        return ""
    sides: dict[str, list[int]] = {"above": [], "below": [], "inside": []}
    for t in tasks:
        sides[side_of(statistics.mean(word[t]), sentence[t])].append(t)
    said = [f"{side} on {', '.join(map(str, ts))}" for side, ts in sides.items() if ts]
    text = f"word level against the sentence-level seeds' range, by task: {'; '.join(said)}; of {len(tasks)}"
    seeds = {len(sentence[t]) for t in sentence}
    if set(tasks) == set(sentence) and len(seeds) == 1 and seeds != {1}:  # every task, every seed
        k = seeds.pop()
        per_seed = [statistics.mean(sentence[t][i] for t in tasks) for i in range(k)]
        w = statistics.mean(statistics.mean(word[t]) for t in tasks)
        text += (
            f"; the {len(tasks)}-task mean, {w:.1f}, is {side_of(w, per_seed)} the sentence-level seeds' "
            f"{min(per_seed):.1f}–{max(per_seed):.1f}"
        )
    return f" ({text})"


def input_comparison(scores: dict[str, dict[int, list[float]]]) -> str:
    """One sentence: the same model on the sentence-level and the word-level input ("X (sentence)" and
    "X (word)" in `scores`, {task: [each seed's accuracy]}), task by task where both ran (seed means)."""
    parts = []
    for m, tasks in scores.items():
        if not m.endswith("(sentence)"):
            continue
        word = scores.get(m.replace("(sentence)", "(word)"), {})
        both = sorted(set(tasks) & set(word))
        if both:
            parts.append(
                f"{m.replace(' (sentence)', '')}, task "
                + ", task ".join(
                    f"{t}: {statistics.mean(tasks[t]):.1f} against {statistics.mean(word[t]):.1f}" for t in both
                )
                + _word_against_sentence_range(tasks, word, both)
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
    names = {
        (m, t, seed): run_name(prefix, t, seed)
        for m, (prefix, seeds) in models.items()
        for t in TASK_NAMES
        for seed in seeds
    }
    runs = {k: load_run(runs_dir, name) for k, name in names.items()}
    done = {k: r for k, r in runs.items() if r and finished(r)}
    if not done:
        return lines + ["No run yet.", ""]
    per_seed = {m: scores_from({(t, seed): r for (n, t, seed), r in runs.items() if n == m}) for m in models}
    scores = {m: by_task(s) for m, s in per_seed.items()}  # {model: {task: [each seed's test accuracy %]}}
    seeded = [m for m, (_, seeds) in models.items() if len(seeds) > 1]
    lines += [
        scale_text
        + " Each cell is the test accuracy at the evaluation with the best validation accuracy; for "
        + ", ".join(seeded)
        + f" the mean ± sample standard deviation over seeds {', '.join(map(str, models[seeded[0]][1]))} "
        "(`--config.seed`; each seed's number in the table after this one; the sentence-level seeds 1 and 2 keep "
        "seed 0's question table, so a model's seeds are one model), for the others seed 0. " + PAPER_COLUMNS,
        "",
        f"| task | {' | '.join(models)} | RUM (paper) | LSTM (paper) | GORU (paper) | MemN2N (paper) |",
        "|---" * (len(models) + 5) + "|",
    ]
    for t, name in TASK_NAMES.items():
        cells = []
        for m, (_, seeds) in models.items():
            values = scores[m].get(t)
            if values is None:
                started = any(runs[(m, t, seed)] is not None for seed in seeds)
                cells.append("unfinished" if started else "not run")
            else:
                cells.append(
                    cell(values) + ("" if len(values) == len(seeds) else f" ({len(values)} of {len(seeds)} seeds)")
                )
        paper = PAPER_TABLE4[t - 1]
        if any(
            r["config"]["task_options"].get("qa3_fallback") == "1k"
            for (_, task, _), r in done.items()
            if task == 3 == t
        ):
            name += " (**1k** training file: its 10k file is missing offline)"
        lines.append(f"| {t}. {name} | {' | '.join(cells)} | {' | '.join(str(p) for p in paper)} |")
    means = [mean_over_tasks(per_seed[m], len(TASK_NAMES)) for m in models]
    passed = [
        "; ".join(
            (f"s{seed}: " if len(models[m][1]) > 1 else "") + f"{sum(at_least(a, 95) for a in s.values())}/{len(s)}"
            for seed, s in sorted(per_seed[m].items())
        )
        or "–"
        for m in models
    ]
    paper_passed = [sum(row[i] >= 95 for row in PAPER_TABLE4) for i in range(4)]
    lines += [
        f"| **mean** | {' | '.join(means)} | {' | '.join(str(p) for p in PAPER_TABLE4_MEAN)} |",
        f"| tasks ≥ 95% (each seed) | {' | '.join(passed)} | {' | '.join(f'{p}/20' for p in paper_passed)} |",
        "",
    ]
    if len(seeded) > 1:
        seeds = len(models[seeded[0]][1])
        lines += [mean_comparisons({m: per_seed[m] for m in seeded}, seeds, len(TASK_NAMES)), ""]
    lines += seed_table(models, seeded, per_seed, TASK_NAMES)
    shown = {m: s for m, s in scores.items() if s}
    paper = {m: {t: PAPER_TABLE4[t - 1][paper_column(m)] for t in s} for m, s in shown.items()}
    lines += [task_scores(shown, paper, f"bAbI {scale}", os.path.join(figures, f"babi{scale}_tasks.png")), ""]
    comparison = input_comparison(scores)
    lines += [paper_gaps(scores), ""] + ([comparison, ""] if comparison else [])
    embeds = question_embeds(done)
    if embeds:
        lines += [embeds, ""]
    total = sum(r["test"][-1]["wall_time"] for r in done.values())
    commands = " and ".join(command(run_name(prefix, 1), runs_label) for prefix, _ in models.values())
    lines += [
        f"Training time of the {len(done)} finished runs: {fmt_time(total)} in all ({hardware_of(done.values())}). "
        f"Commands: {commands}, with `tasks=N` and `_qaN` for task N, and `--config.seed=S` and `_seedS` for "
        "seed S; `python -m scripts.experiments --list` prints them all.",
        "",
    ]
    first = run_name(next(iter(models.values()))[0], 1)
    heat = kernel_collection(
        runs_dir, first, f"RUM λ=0, bAbI task 1 ({scale})", os.path.join(figures, f"kernels_babi{scale}_qa1.png")
    )
    if heat:
        lines += ["The kernels of the target memory and the update gate, as the paper's Figure 8:", "", heat, ""]
    return lines


def seed_table(models: dict, seeded: list[str], per_seed: dict, tasks) -> list[str]:
    """Every seed's test accuracy of the seeded models, task by task ("–": not finished)."""
    columns = [(m, seed) for m in seeded for seed in models[m][1]]
    if not any(per_seed[m].get(seed) for m, seed in columns if seed):
        return []
    lines = [
        "Each seed's test accuracy:",
        "",
        "| task | " + " | ".join(f"{m.split(' (')[0]} s{seed}" for m, seed in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for t in tasks:
        row = [per_seed[m].get(seed, {}).get(t) for m, seed in columns]
        lines.append(f"| {t} | " + " | ".join("–" if a is None else f"{a:.1f}" for a in row) + " |")
    return lines + [""]
