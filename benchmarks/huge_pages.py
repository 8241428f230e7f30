"""Train-step time with and without 2 MiB pages for XLA:CPU's buffers (training/huge_pages.py).

    python -m benchmarks.huge_pages                                   # recall and copying: ~20 min on 2 cores
    python -m benchmarks.huge_pages --suite recall --cells learned_memory ntm --rounds 2

glibc reads ``GLIBC_TUNABLES`` once, at process start, so each condition runs `benchmarks.train_step` in
a child process of its own: "4 KiB" without the tunable, "2 MiB" with ``glibc.malloc.hugetlb=1`` (what
train.py sets for itself). The rounds alternate the two (4 KiB, 2 MiB, 4 KiB, ...), so load that comes and
goes on a shared machine falls on both alike. Per cell, the table gives the median over rounds of each
condition's step time, their ratio, and each condition's step as a multiple of Flax's GRU in the same
child process. Where the kernel's transparent huge pages are not in "madvise" mode, both conditions are
the same, and the header says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks.table import markdown_table, show
from benchmarks.train_step import CELLS, SUITES
from training.huge_pages import TUNABLE, thp_mode

CONDITIONS = {"4 KiB": None, "2 MiB": f"{TUNABLE}=1"}


def child_env(tunable: str | None) -> dict[str, str]:
    """This process's environment without GLIBC_TUNABLES, plus `tunable` where given."""
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunable:
        env["GLIBC_TUNABLES"] = tunable
    return env


def run_child(tunable, suites, cells, repeats) -> list[dict]:
    """`benchmarks.train_step`'s rows, from a child process started with `tunable`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "rows.json")
        cmd = [sys.executable, "-m", "benchmarks.train_step", "--suite", *suites, "--repeats", str(repeats)]
        cmd += ["--json", out] + (["--cells", *cells] if cells else [])
        subprocess.run(cmd, env=child_env(tunable), check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)


def combine(rounds: dict[str, list[list[dict]]]) -> list[dict]:
    """One row per (shape, N, cell): the median over rounds of each condition's step and × GRU."""
    rows: dict[tuple, dict] = {}
    for condition, runs in rounds.items():
        for run in runs:
            for r in run:
                row = rows.setdefault((r["shape"], r["N"], r["cell"]), {"shape": r["shape"], "N": r["N"]})
                row["cell"], row["temp_mb"] = r["cell"], r["temp_mb"]
                row.setdefault(condition, []).append((r["step_s"], r["vs_flax_gru"]))
    out = []
    for row in rows.values():
        for condition in rounds:
            pairs = row.pop(condition)
            row[f"{condition} ms"] = statistics.median(s for s, _ in pairs) * 1e3
            row[f"{condition} x gru"] = statistics.median(g for _, g in pairs)
        first, second = list(rounds)
        row["speedup"] = row[f"{first} ms"] / row[f"{second} ms"]
        out.append(row)
    return out


def markdown(rows) -> str:
    a, b = CONDITIONS
    return markdown_table(
        [
            ("shape", lambda r: r["shape"]),
            ("N", lambda r: str(r["N"])),
            ("cell", lambda r: r["cell"]),
            ("temp MB", lambda r: f"{r['temp_mb']:.1f}"),
            (f"{a} ms", lambda r: f"{r[f'{a} ms']:.1f}"),
            (f"{b} ms", lambda r: f"{r[f'{b} ms']:.1f}"),
            (f"{a} ÷ {b}", lambda r: f"{r['speedup']:.2f}"),
            (f"× GRU, {a}", lambda r: f"{r[f'{a} x gru']:.2f}"),
            (f"× GRU, {b}", lambda r: f"{r[f'{b} x gru']:.2f}"),
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", nargs="+", default=["recall", "copying"], choices=[s for s in SUITES])
    parser.add_argument("--cells", nargs="+", choices=list(CELLS), help="only these cells of each shape (and GRU)")
    parser.add_argument("--rounds", type=int, default=3, help="child processes per condition, alternated")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per cell in each child")
    parser.add_argument("--json", help="write the rows to this JSON file")
    args = parser.parse_args()
    print(f"transparent huge pages: {thp_mode()} (2 MiB pages on request need 'madvise')", flush=True)
    rounds: dict[str, list[list[dict]]] = {c: [] for c in CONDITIONS}
    for i in range(args.rounds):
        for condition, tunable in CONDITIONS.items():
            rounds[condition].append(run_child(tunable, args.suite, args.cells, args.repeats))
            print(f"round {i + 1}/{args.rounds}: {condition} done", flush=True)
    rows = combine(rounds)
    show(markdown(rows), rows, args.json)


if __name__ == "__main__":
    main()
