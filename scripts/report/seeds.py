"""Comparisons over seeds: every seed's number, mean ± sample standard deviation, and a verdict that calls a
comparison won only when the seeds' ranges do not overlap."""

from __future__ import annotations

import os
import statistics

from scripts.experiments import EXPERIMENTS, RECALL_BUDGETS
from scripts.report.plots import seed_curves
from scripts.report.records import at_step, command, finished, first_reaching, fmt_time, huge_pages, load_run

# (model label, the runs of its seeds 0, 1, 2): RUM λ = 1 against the learned-update memory, recall T = 30
RECALL_SEEDS = (
    ("RUM λ=1", ("recall30_rum", "recall30_rum_seed1", "recall30_rum_seed2")),
    (
        "learned-update memory",
        ("recall30_learned_memory", "recall30_learned_memory_seed1", "recall30_learned_memory_seed2"),
    ),
)


def spread(values: list[float], digits: int = 0) -> str:
    """mean ± sample standard deviation (n − 1), and the range."""
    if len(values) < 2:
        return f"{values[0]:.{digits}f} (one seed)" if values else "–"
    return (
        f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f} "
        f"(range {min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def verdict(name_a: str, a: list[float], name_b: str, b: list[float], what: str, seeds: int) -> str:
    """Who has the lower `what` in every seed, when each model has all its seeds and the ranges are disjoint;
    "within seed spread" when they overlap."""
    if len(a) < seeds or len(b) < seeds:
        return f"No verdict yet: {len(a)} and {len(b)} of {seeds} seeds have a {what}."
    if max(a) < min(b) or max(b) < min(a):
        (low, hi) = (name_a, name_b) if max(a) < min(b) else (name_b, name_a)
        return f"{low} has the lower {what} in every seed: the ranges do not overlap, so {low} wins on it."
    return f"Within seed spread: the {what} ranges of {name_a} and {name_b} overlap, so neither wins on it."


def mixed_pages(runs: list[dict]) -> str | None:
    """Where some of `runs` had 2 MiB pages for XLA:CPU's buffers and some did not (training/huge_pages.py),
    the sentence that says so: their wall times, and what a wall-time budget buys, are then not comparable."""
    with_huge = [r["name"] for r in runs if huge_pages(r)]
    if not with_huge or len(with_huge) == len(runs):
        return None
    return (
        f"No verdict on time: {', '.join(with_huge)} ran with 2 MiB pages for XLA:CPU's buffers and the others "
        "with 4 KiB pages (training/huge_pages.py), which changes the speed of a step, not its numbers."
    )


def unequal_budgets(steps: dict[str, list[int]], tolerance: float = 0.05) -> str | None:
    """Where a wall-time budget bought some model more than `tolerance` more steps in one seed than in another,
    the sentence that says so: each model's spread over seeds then holds the machine's speed at the time as well
    as the seed's (both models of a seed share the machine, so the comparison within a seed does not)."""
    uneven = {label: s for label, s in steps.items() if len(s) > 1 and max(s) > (1 + tolerance) * min(s)}
    if not uneven:
        return None
    ranges = "; ".join(f"{label} {min(s)}–{max(s)}" for label, s in uneven.items())
    return (
        f"The steps the same wall time bought differ between seeds ({ranges}): the machine was faster for some "
        "seeds than for others (another machine, or less other work on it), so each model's spread holds that "
        "as well as the seed's; the two models of a seed ran side by side, on the same machine."
    )


def final_bpc(run: dict) -> float | None:
    """A finished PTB run's final test BPC (the best-on-valid model over the whole test stream), else None."""
    return run["final_test"][-1]["bpc"] if finished(run) and run["final_test"] else None


def recall_seeds_section(runs_dir, runs_label: str, figures: str) -> list[str]:
    lines = ["## Associative Recall T = 30 over three seeds: RUM λ = 1 against the learned-update memory", ""]
    budget = RECALL_BUDGETS[30]
    lines += [
        "Table 1's closest pair at T = 30, with seeds 0, 1 and 2 (`--config.seed`; seed 0 is the Table 1 row): "
        f"the steps to the first evaluation at or above 99% test accuracy, and the accuracy at the {budget:,}-step "
        "budget.",
        "",
        "| model | seed | steps to 99% | wall time to 99% | acc. at budget | steps run | command |",
        "|---|---|---|---|---|---|---|",
    ]
    steps, minutes, loaded, curves = {}, {}, [], {}
    for label, names in RECALL_SEEDS:
        steps[label], minutes[label] = [], []
        for seed, name in enumerate(names):
            run = load_run(runs_dir, name)
            if run is None or not run["test"]:
                lines.append(f"| {label} | {seed} | not run | | | | {command(name, runs_label)} |")
                continue
            loaded.append(run)
            curves.setdefault(label, []).append(run)
            hit = first_reaching(run["test"], "accuracy", 0.99)
            at = at_step(run["test"], budget)
            last = run["test"][-1]["step"]
            ran = f"{last}" if finished(run) else f"{last} (unfinished: {last} of {run['config']['num_steps']})"
            at_budget = f"{100 * at['accuracy']:.1f}%" + ("" if at["step"] == budget else f" (at {at['step']})")
            if hit:
                steps[label].append(hit["step"])
                minutes[label].append(hit["wall_time"] / 60)
            lines.append(
                f"| {label} | {seed} | {hit['step'] if hit else '–'} | "
                f"{fmt_time(hit['wall_time'] if hit else None)} | {at_budget} | {ran} | "
                f"{command(name, runs_label)} |"
            )
    (a, sa), (b, sb) = steps.items()
    ma, mb = minutes[a], minutes[b]
    seeds = len(RECALL_SEEDS[0][1])
    lines += [
        "",
        f"Steps to 99%: {a} {spread(sa)}; {b} {spread(sb)}. " + verdict(a, sa, b, sb, "step count to 99%", seeds),
        "",
        f"Wall time to 99% (minutes, one core each, the machine shared): {a} {spread(ma, 1)}; {b} "
        f"{spread(mb, 1)}. " + (mixed_pages(loaded) or verdict(a, ma, b, mb, "wall time to 99%", seeds)),
        "",
    ]
    if curves:
        path = os.path.join(figures, "recall_t30_seeds.png")
        figure = seed_curves(curves, "accuracy", "test accuracy", "Recall T = 30", path, hline=0.99, hline_label="99%")
        lines += [figure, ""]
    return lines


PTB_SEED_TITLES = {
    "ptb_cpu_seeds": "### CPU-scale RUM 128 against LN-LSTM 93 over three seeds (authors' stream, 20 minutes each)",
    "ptb_fs_seeds": "### FS-RUM-2 against FS-LSTM-2 at f = 0.25 over three seeds (authors' stream, two hours each)",
}


PTB_SEED_PLOTS = {
    "ptb_cpu_seeds": "PTB, RUM 128 against LN-LSTM 93",
    "ptb_fs_seeds": "PTB, FS-RUM-2 against FS-LSTM-2",
}


def ptb_seeds_section(runs_dir, runs_label: str, figures: str) -> list[str]:
    """Both PTB pairs over seeds 0–2: each seed's final test BPC (batch 1, the best-on-valid model), mean ± std,
    and a verdict only where the seeds' ranges do not overlap."""
    from scripts.experiments import PTB_SEED_PAIRS, PTB_SEEDS
    from scripts.report.ptb import epochs

    lines = ["## Character-level PTB pairs over three seeds (issue 26)", ""]
    lines += [
        "The two pairs of the section above, on the authors' stream, with seeds 0, 1 and 2 (`--config.seed`: the "
        "initialisation and the dropout and zoneout masks; the stream is read in order). The two models of a "
        "seed run side by side, one per core, for the same wall time. *final test BPC*: the model with the best "
        "validation BPC over the whole test stream at batch 1.",
        "",
    ]
    for group, pair in PTB_SEED_PAIRS.items():
        lines += [PTB_SEED_TITLES[group], "", "| model | seed | steps (epochs) | final test BPC | command |"]
        lines.append("|---|---|---|---|---|")
        bpc: dict[str, list[float]] = {}
        steps_run: dict[str, list[int]] = {}
        loaded, curves = [], {}
        for part, _ in pair:
            names = [f"{group.removesuffix('_seeds')}_seed{seed}_{part}" for seed in PTB_SEEDS]
            label = EXPERIMENTS[names[0]].label
            bpc[label], steps_run[label] = [], []
            for seed, name in zip(PTB_SEEDS, names):
                run = load_run(runs_dir, name)
                if run is None or not run["test"]:
                    lines.append(f"| {label} | {seed} | not run | | {command(name, runs_label)} |")
                    continue
                loaded.append(run)
                curves.setdefault(label, []).append(run)
                last = run["test"][-1]["step"]
                final = final_bpc(run)
                if final is not None:
                    bpc[label].append(final)
                    steps_run[label].append(last)
                steps = f"{last}{epochs(run)}" + ("" if finished(run) else " (unfinished)")
                cell = "–" if final is None else f"{final:.3f}"
                lines.append(f"| {label} | {seed} | {steps} | {cell} | {command(name, runs_label)} |")
        (a, sa), (b, sb) = bpc.items()
        lines += [
            "",
            f"Final test BPC: {a} {spread(sa, 3)}; {b} {spread(sb, 3)}. "
            + (mixed_pages(loaded) or verdict(a, sa, b, sb, "final test BPC", len(PTB_SEEDS))),
            "",
        ]
        uneven = unequal_budgets(steps_run)
        lines += [uneven, ""] if uneven else []
        if curves:
            path = os.path.join(figures, f"{group}.png")
            lines += [seed_curves(curves, "bpc", "validation BPC", PTB_SEED_PLOTS[group], path, "valid", True), ""]
    return lines
