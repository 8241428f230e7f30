"""The Copying Memory sections (Figure 2): the paper's sizes at T = 200 and 500, and the CPU scale."""

from __future__ import annotations

import os

from scripts.experiments import EXPERIMENTS
from scripts.report.plots import kernel_collection, plot_curves
from scripts.report.records import command, fmt_time, hardware, load_run, not_evaluated, status

COPYING_GROUPS = {
    # group: (title, scale sentence, run whose kernels are drawn, figure name)
    "copying_t200": (
        "## Copying Memory at the paper's sizes (paper §4.1, Figure 2)",
        "Scale: the paper's (T = 200, batch 128, RMSProp lr 1e-3, decay 0.9, no clipping; LSTM, GRU, "
        "GORU and the λ = 0 RUMs with 250 units, the λ = 1 RUM with 100), every model for the same step "
        "budget.",
        "copy200_rum_lam1",
        "copying_t200.png",
    ),
    "copying_t200_50k": (
        "## Copying Memory at T = 200 to Figure 2's axis: the two λ = 0 RUMs for 50,000 steps",
        "Scale: as the T = 200 section, 50,000 steps (Figure 2's axis) for RUM 250 with and without time "
        "normalisation, whether η = 1.0 reaches near zero.",
        "copy200_rum_eta1_50k",
        "copying_t200_50k.png",
    ),
    "copying_t500": (
        "## Copying Memory at T = 500, the two RUMs at the paper's sizes",
        "Scale: as the T = 200 section, the delay 500 (the paper's Figure 7 draws the λ = 1 RUM's kernels at T = 500).",
        "copy500_rum_lam1",
        "copying_t500.png",
    ),
    "copying_cpu": (
        "## Copying Memory (paper §4.1, Figure 2), CPU scale",
        "Every model has the same number of hidden units, a quarter of the paper's.",
        "copy_cpu_rum_lam1",
        "copying_cpu.png",
    ),
}


def copying_section(runs_dir, runs_label: str, figures: str, group: str = "copying_cpu") -> list[str]:
    title, scale, kernel_run, figure = COPYING_GROUPS[group]
    names = [n for n, e in EXPERIMENTS.items() if e.group == group]
    loaded = {n: load_run(runs_dir, n) for n in names}  # None where no workdir
    runs = [r for r in loaded.values() if r and r["test"]]
    lines = [title, ""]
    if not runs:
        return lines + [scale, "", "No run yet: " + "; ".join(command(n, runs_label) for n in names) + ".", ""]
    c = runs[0]["config"]
    lines += [
        f"{scale} Delay T = {c['task_options']['delay']}, batch {c['batch_size']}, RMSProp lr {c['learning_rate']}, "
        f"decay {c['rmsprop']['decay']}. Test set: a fixed held-out set from a separate seed. Cross-entropy "
        "in nats per position, averaged over all positions; the baseline is 10 ln 8/(T + 20), the loss of "
        "a model with no memory. *copy acc.* is the accuracy on the ten output positions; *below baseline/2* and "
        "*/20*: the first evaluation whose test loss is under half (a twentieth of) the baseline.",
        "",
        "| model | units | steps | test loss | baseline | copy acc. | below baseline/2 | below baseline/20 | params | "
        "wall time | hardware | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in loaded.items():
        if not (run and run["test"]):
            lines.append(
                f"| {EXPERIMENTS[name].label} | | {not_evaluated(run)} | | | | | | | | | {command(name, runs_label)} |"
            )
            continue
        last = run["test"][-1]
        half, twentieth = first_below(run, 1 / 2), first_below(run, 1 / 20)
        lines.append(
            f"| {EXPERIMENTS[name].label} | {run['config']['hidden']} | {last['step']}{status(run)} | {last['loss']:.4f} | "
            f"{last['baseline_loss']:.4f} | {last['copy_accuracy']:.3f} | {half['step'] if half else '–'} | "
            f"{twentieth['step'] if twentieth else '–'} | "
            f"{run['info'].get('param_count', '?')} | {fmt_time(last['wall_time'])} | {hardware(run)} | "
            f"{command(name, runs_label)} |"
        )
    path = os.path.join(figures, figure)
    if group != "copying_cpu":  # as the paper's Figure 2: the training loss, here the mean of each log window
        plot_curves(
            runs,
            "loss",
            f"training cross-entropy (nats, mean of {c['log_every']} steps)",
            f"Copying, T = {c['task_options']['delay']}, the paper's sizes",
            path,
            hline=runs[0]["test"][-1]["baseline_loss"],
            hline_label="no-memory baseline",
            split="train",
            ymax=2.5 * runs[0]["test"][-1]["baseline_loss"],
        )
        lines += [""] + copying_verdict(runs) + [f"![copying training curves, as Figure 2]({path})", ""]
    else:
        plot_curves(
            runs,
            "loss",
            "test cross-entropy (nats)",
            f"Copying, T = {c['task_options']['delay']}",
            path,
            hline=runs[0]["test"][-1]["baseline_loss"],
            hline_label="no-memory baseline",
        )
        lines += ["", f"![copying learning curves]({path})", ""]
    heat = kernel_collection(
        runs_dir,
        kernel_run,
        f"RUM λ=1, copying T = {c['task_options']['delay']}",
        os.path.join(figures, f"kernels_{group}.png"),
    )
    if heat:
        lines += ["The kernels of the λ = 1 RUM, as the paper's Figure 7 (there at T = 500, 100 units):", "", heat, ""]
    return lines


def first_below(run: dict, fraction: float) -> dict | None:
    """A copying run's first evaluation whose test loss is under `fraction` times the no-memory baseline."""
    return next((r for r in run["test"] if r["loss"] < fraction * r["baseline_loss"]), None)


def copying_verdict(runs: list[dict]) -> list[str]:
    """The paper's Figure 2 claim beside what the runs did: who got under half and under a twentieth of the
    baseline, and when (earliest first); who is still at the baseline (test loss within 5% of it) at its last
    evaluation."""

    def first(fraction: float) -> str:
        under = sorted(((hit, run) for run in runs if (hit := first_below(run, fraction))), key=lambda x: x[0]["step"])
        return "; ".join(f"{EXPERIMENTS[run['name']].label} at step {hit['step']}" for hit, run in under) or "none yet"

    flat = [
        f"{EXPERIMENTS[run['name']].label} ({run['test'][-1]['step']} steps)"
        for run in runs
        if abs(run["test"][-1]["loss"] / run["test"][-1]["baseline_loss"] - 1) < 0.05
    ]
    return [
        "The paper (§4.1, Figure 2): the RUMs fall below the baseline and reach zero loss after a few thousand "
        "iterations, λ = 1 (100 units) much faster than λ = 0, η = N/A faster than η = 1.0; GORU also solves "
        "the task; LSTM and GRU stay on the baseline. Here, under half the baseline first: "
        + first(1 / 2)
        + ". Under a twentieth of it: "
        + first(1 / 20)
        + ". Still on the baseline at the last evaluation: "
        + ("; ".join(flat) if flat else "none")
        + ".",
        "",
    ]
