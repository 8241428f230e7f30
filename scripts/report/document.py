"""RESULTS.md as a whole: its sections in order, the header, and the paper-scale commands."""

from __future__ import annotations

import os
import re

from scripts.report.babi import babi_section
from scripts.report.copying import copying_section
from scripts.report.ptb import ptb_pair_section, ptb_section
from scripts.report.recall import fast_weights_section, recall_regime_section, recall_section, recall_speed_section
from scripts.report.seeds import ptb_seeds_section, recall_seeds_section
from scripts.report.summary import summary_table

PAPER_SCALE = [
    (
        "Copying, T = 200 (Figure 2; 500 and 1000 by `--config.task_options.delay`)",
        "configs/copying.py",
        ["rum", "rum_eta1", "rum_lam1", "lstm", "gru", "goru"],
    ),
    (
        "Associative Recall, T = 30 (Table 1; prefix `t50,` for T = 50; `fixed,` for the authors' fixed training set)",
        "configs/recall.py",
        ["rum", "lstm", "gru", "goru", "fast_weights", "learned_memory", "ntm", "t50,rum", "fixed,rum"],
    ),
    (
        "bAbI, one model per task (Tables 2, 4; `--config.task_options.tasks=N`; `sentence,` for the authors' "
        "sentence-level input)",
        "configs/babi.py",
        ["rum", "lstm", "goru", "sentence,rum"],
    ),
    ("bAbI, MemN2N", "configs/babi_memn2n.py", [""]),
    ("PTB, FS-RUM-2 (Tables 3, 5–7)", "configs/ptb_fsrum.py", [""]),
    ("PTB, RUM 2000 / 2×RUM 1500 / FS-LSTM-2", "configs/ptb_rum.py", [""]),
]


def reproduce_section() -> list[str]:
    lines = [
        "## How to reproduce at paper scale",
        "",
        "The configs without `:cpu` hold the paper's sizes and schedules. On a GPU or TPU host, install "
        'JAX for the accelerator (`pip install -U "jax[cuda12]"` or `"jax[tpu]"`), then e.g. (every '
        "config's values against the paper and the authors' code, with the switch for each difference: "
        "configs/README.md; several hosts: docs/experiments.md, *Several hosts*):",
        "",
        "```bash",
    ]
    for title, config, variants in PAPER_SCALE:
        lines.append(f"# {title}")
        for v in variants:
            arg = f":{v}" if v else ""
            name = os.path.splitext(os.path.basename(config))[0] + (f"_{v.replace(',', '_')}" if v else "")
            lines.append(f"python train.py --config={config}{arg} --workdir=runs/{name}")
    lines += [
        "python train.py --config=configs/ptb_2rum.py --workdir=runs/ptb_2rum",
        "python train.py --config=configs/ptb_fslstm.py --workdir=runs/ptb_fslstm",
        "```",
        "",
        "Every device JAX sees takes a slice of the batch (data parallel, parameters replicated); "
        "`--config.num_devices=N` uses fewer. The batch size must be a multiple of the device count. "
        "Re-running a command resumes its workdir. Wall times at paper scale have not been measured "
        "here (no accelerator was available); `python -m scripts.paper_scale` times one PTB step on "
        "the machine at hand.",
        "",
    ]
    return lines


# The sections of RESULTS.md in order: name, the function that writes it from the runs folders.
SECTIONS = [
    ("recall", recall_section),
    ("recall_seeds", recall_seeds_section),
    ("recall_regime", recall_regime_section),
    ("recall_fast_weights", fast_weights_section),
    ("recall_speed", recall_speed_section),
    ("copying_t200", lambda r, label, f: copying_section(r, label, f, "copying_t200")),
    ("copying_t200_50k", lambda r, label, f: copying_section(r, label, f, "copying_t200_50k")),
    ("copying_t500", lambda r, label, f: copying_section(r, label, f, "copying_t500")),
    ("copying_cpu", lambda r, label, f: copying_section(r, label, f, "copying_cpu")),
    ("babi_10k", lambda r, label, f: babi_section(r, label, f, "10k")),
    ("ptb", ptb_section),
    (
        "ptb_scaled",
        lambda r, label, f: (
            ["## Character-level PTB at the largest size two CPU cores train (issue 14)", ""]
            + ptb_pair_section(r, label, f, "ptb_fs")
            + ptb_pair_section(r, label, f, "ptb_cpu_sum")
        ),
    ),
    ("ptb_seeds", ptb_seeds_section),
]
MARKER = re.compile(r"<!-- report:(\w+) -->\n(.*?)<!-- /report:\1 -->", flags=re.S)


def sections(text: str) -> dict[str, str]:
    """The text of each ``<!-- report:NAME -->`` … ``<!-- /report:NAME -->`` section of a document."""
    return {m.group(1): m.group(2).strip("\n") for m in MARKER.finditer(text)}


def readme_with_summary(readme: str, runs) -> str:
    """README.md's text with its ``<!-- report:summary -->`` section (the results table) written from `runs`."""
    body = "\n".join(summary_table(runs))
    if "summary" not in sections(readme):
        raise ValueError(
            "README.md has no <!-- report:summary --> … <!-- /report:summary --> section to write "
            "the results table into."
        )
    return MARKER.sub(
        lambda m: (
            f"<!-- report:summary -->\n{body}\n<!-- /report:summary -->" if m.group(1) == "summary" else m.group(0)
        ),
        readme,
    )


def results_md(runs, runs_label: str, figures: str) -> str:
    """RESULTS.md: every section computed from the records in the `runs` folders (figures drawn into
    `figures`), then the paper-scale commands."""
    lines = [
        "# Results",
        "",
        f"Generated by `python -m scripts.report --runs {runs_label}` from the runs' records "
        "(metrics.jsonl, config.json, run_info.json, kernels.npz); do not edit by hand: "
        "`python -m scripts.report --check` (run by CI) regenerates it from `results/runs/` alone and names any "
        "section that differs. Each row's command reproduces it (`RUNS` is the folder of workdirs; a rerun "
        "resumes); `python -m scripts.experiments --list` prints every command. A run still in progress "
        "when its records were archived is reported at its latest evaluation and marked unfinished.",
        "",
        "Wall times are those of the machine named in each row while it was shared: the CPU runs here "
        "ran two or three at a time on a 2-core machine (most pinned to one core with `taskset`), so "
        "they are upper bounds for a dedicated machine. Compare steps, not minutes, across rows.",
        "",
    ]
    for name, write in SECTIONS:
        body = "\n".join(write(runs, runs_label, figures)).strip("\n")
        lines += [f"<!-- report:{name} -->", body, f"<!-- /report:{name} -->", ""]
    lines += reproduce_section()
    return "\n".join(lines).rstrip() + "\n"
