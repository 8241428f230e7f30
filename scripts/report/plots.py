"""Figures: learning curves of a group of runs, and the trained RUM kernels (Figures 3, 7 and 8 of the paper)."""

from __future__ import annotations

import os

from scripts.experiments import EXPERIMENTS
from scripts.report.records import find_workdir, load_kernels


def plot_curves(
    runs: list[dict],
    key: str,
    ylabel: str,
    title: str,
    path: str,
    hline: float | None = None,
    hline_label: str = "",
    split: str = "test",
    budget: int | None = None,
    legend_outside: bool = False,
    ymax: float | None = None,
) -> None:
    """Each run's `key` against training step; `hline`: a reference level, `budget`: the shared step budget,
    `ymax`: the top of the y axis (from 0)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.4 if legend_outside else 6, 3.6), dpi=100)
    for run in runs:
        records = run[split]
        ax.plot([r["step"] for r in records], [r[key] for r in records], label=EXPERIMENTS[run["name"]].label, lw=1.3)
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1, label=hline_label)
    if budget is not None:
        ax.axvline(budget, color="0.5", ls=":", lw=1, label="step budget")
    if ymax is not None:
        ax.set_ylim(0, ymax)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if legend_outside:  # many runs: keep the legend off the curves
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)


def seed_curves(
    models: dict[str, list[dict]],
    key: str,
    ylabel: str,
    title: str,
    path: str,
    split: str = "test",
    minutes: bool = False,
    hline: float | None = None,
    hline_label: str = "",
) -> str:
    """Each model's runs (its seeds) as curves of one colour ({label: [its runs, in seed order]}): `key` against
    the training step, or against wall time with `minutes`; returns the Markdown image."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    for i, (label, runs) in enumerate(models.items()):
        for j, run in enumerate(runs):
            records = run[split]
            x = [r["wall_time"] / 60 if minutes else r["step"] for r in records]
            ax.plot(
                x,
                [r[key] for r in records],
                color=f"C{i}",
                lw=1.2,
                marker="o",
                ms=2,
                label=label if j == 0 else None,
            )
    if hline is not None:
        ax.axhline(hline, color="k", ls="--", lw=1, label=hline_label)
    ax.set_xlabel("wall time (minutes, one core)" if minutes else "training step")
    ax.set_ylabel(ylabel)
    seeded = any(len(runs) > 1 for runs in models.values())
    ax.set_title(f"{title} (one line per seed)" if seeded else title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return f"![{title}]({path})"


def task_scores(
    scores: dict[str, dict[int, list[float]]], paper: dict[str, dict[int, float]], title: str, path: str
) -> str:
    """Per-task test accuracy of several models, every seed a dot ({model: {task: [each seed's %]}}), beside
    the paper's number for the same model ({model: {task: %}}) as a black bar; returns the Markdown image."""
    plt = pyplot()
    tasks = sorted({t for by_task in scores.values() for t in by_task})
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    width = 0.8 / len(scores)
    offsets = {model: (i - (len(scores) - 1) / 2) * width for i, model in enumerate(scores)}
    for i, (model, by_task) in enumerate(scores.items()):
        for t, values in by_task.items():
            x = [t + offsets[model]] * len(values)
            ax.scatter(x, values, s=12, color=f"C{i}", label=model if t == min(by_task) else None)
    marks = [(t + offsets[model], a) for model, by_task in paper.items() for t, a in by_task.items()]
    if marks:
        ax.scatter(*zip(*marks), marker="_", s=60, color="k", label="the paper's number for the model")
    ax.set_xticks(tasks)
    ax.set_xlabel("bAbI task")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    ax.set_title(f"{title}: test accuracy per task, one dot per seed", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return f"![{title} test accuracy per task and seed]({path})"


def kernel_heatmap(runs_dir: str, name: str, title: str, path: str) -> str | None:
    """A temperature map of W_hτ (the kernel generating the memory target τ) of a trained RUM, as Figure 3,
    from its checkpoint or archived kernels.npz (records.load_kernels); None when the run has neither."""
    found = load_kernels(runs_dir, name)
    if found is None:
        return None
    import numpy as np

    kernels, step = found
    w = kernels["w_h_tau"]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.6), dpi=100)
    lim = float(np.max(np.abs(w)))
    im = ax.imshow(w.T, cmap="coolwarm", vmin=-lim, vmax=lim)  # rows: τ units, columns: h units
    ax.set_title(f"{title}\nW_hτ after {step} steps", fontsize=9)
    ax.set_xlabel("h_{t−1} unit")
    ax.set_ylabel("τ unit")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    diag = float(np.mean(np.abs(np.diag(w))))
    off = float(np.mean(np.abs(w - np.diag(np.diag(w)))))
    return f"![{title}]({path})\n\nmean |diagonal| {diag:.3f} against mean |off-diagonal| {off:.3f}."


def kernel_collection(runs_dir: str, name: str, title: str, path: str) -> str | None:
    """The kernels of τ and u of a trained RUM side by side, as the paper's Figures 7 and 8: each panel
    stacks the input kernel W_x· over the recurrent kernel W_h· (rows: inputs then h units). Where the run's
    checkpoint and kernels.npz are both gone (records archived before the archive kept kernels), the figure
    drawn from it earlier is kept."""
    found = load_kernels(runs_dir, name)
    if found is None:
        return f"![{title}]({path})" if find_workdir(runs_dir, name) and os.path.exists(path) else None
    import numpy as np

    cell, step = found
    panels = {
        "target memory τ: [W_xτ; W_hτ]": np.concatenate([cell["w_x_tau"], cell["w_h_tau"]]),
        "update gate u: [W_xu; W_hu]": np.concatenate([cell["w_x_u"], cell["w_h_u"]]),
    }
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.8), dpi=100)
    for ax, (label, w) in zip(axes, panels.items()):
        lim = float(np.max(np.abs(w)))
        im = ax.imshow(w, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
        ax.axhline(w.shape[0] - w.shape[1] - 0.5, color="k", lw=0.6)  # input rows above, recurrent below
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("unit")
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].set_ylabel("input rows, then h_{t−1} rows")
    fig.suptitle(f"{title}, after {step} steps", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return f"![{title}]({path})"


def save_png(fig, path: str) -> None:
    """Save `fig` as a PNG of 256 palette colours: the figures' colour maps have 256 levels, and the file is
    about 2.5× smaller than a full-colour one, so results/ stays small (tests/test_report.py)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    buffer.seek(0)
    Image.open(buffer).convert("RGB").quantize(256).save(path, optimize=True)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
