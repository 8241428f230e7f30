"""The runs behind RESULTS.md: each a name, a config, overrides and the group it reports in.

    python -m scripts.experiments --runs /work/runs recall30_rum recall30_lstm   # run (or resume) these
    python -m scripts.experiments --list                                        # print every command

A run's workdir is <runs>/<name>; re-running resumes it. `scripts.report` reads the same
names back, so every number in RESULTS.md traces to one command printed here.
"""

from __future__ import annotations

import argparse
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


RECALL_BUDGET_T30 = ("--config.num_steps=20000",)
RECALL_BUDGET_T50 = ("--config.num_steps=30000",)

EXPERIMENTS: dict[str, Experiment] = {
    # Copying Memory at CPU scale (T = 200, hidden 64, batch 64, 8000 steps), Figure 2's cells
    "copy_cpu_lstm": Experiment("copying_cpu", "LSTM 64", "configs/copying.py:cpu,lstm"),
    "copy_cpu_gru": Experiment("copying_cpu", "GRU 64", "configs/copying.py:cpu,gru"),
    "copy_cpu_rum": Experiment("copying_cpu", "RUM 64, λ=0, η=N/A", "configs/copying.py:cpu,rum"),
    "copy_cpu_rum_eta1": Experiment("copying_cpu", "RUM 64, λ=0, η=1.0", "configs/copying.py:cpu,rum_eta1"),
    "copy_cpu_rum_lam1": Experiment("copying_cpu", "RUM 64, λ=1, η=N/A", "configs/copying.py:cpu,rum_lam1"),
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
    for _cell, _label in (("goru", "GORU"), ("fast_weights", "FW-LN"),
                          ("learned_memory", "learned-update memory (ours, WeiNet-style)"), ("ntm", "NTM")):
        _variant = f"cpu,{_cell}" if _length == 30 else f"cpu,t50,{_cell}"
        EXPERIMENTS[f"recall{_length}_{_cell}"] = Experiment(
            f"recall_t{_length}", _label, f"configs/recall.py:{_variant}", _budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"experiments to run; known: {', '.join(EXPERIMENTS)}")
    parser.add_argument("--runs", default="runs", help="folder of the workdirs")
    parser.add_argument("--list", action="store_true", help="print the command of every experiment")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; known: {', '.join(EXPERIMENTS)}")
    if args.list:
        for name, exp in EXPERIMENTS.items():
            print(" ".join(exp.command(args.runs, name)))
        return
    for name in args.names:
        cmd = EXPERIMENTS[name].command(args.runs, name)
        print("+", " ".join(cmd), flush=True)
        subprocess.run([sys.executable, *cmd[1:]], check=True)


if __name__ == "__main__":
    main()
