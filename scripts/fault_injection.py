"""Kill a training run with SIGKILL at random moments, resume it each time, and compare with an uninterrupted run.

    python -m scripts.fault_injection --kills 10 [--steps 60] [--seed 0] [--workdir /tmp/fault_injection]

A small Copying run checkpoints every 3 steps. It is started, killed after a random delay between
half a second and the duration of a whole uninterrupted run (so kills land before training starts, in
the middle of steps, saves and log writes alike), restarted on the same workdir, until `--kills`
SIGKILLs have landed, then left to finish. The result must equal an uninterrupted run of the same config: the same training loss at
every step and the same final test metrics, and metrics.jsonl must hold each step exactly once.
Prints one line with the counts; exits 1 if anything differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def command(workdir: str, steps: int) -> list[str]:
    return [
        sys.executable,
        "train.py",
        "--config=configs/copying.py:cpu",
        f"--workdir={workdir}",
        "--config.task_options.delay=5",
        "--config.hidden=16",
        "--config.batch_size=16",
        f"--config.num_steps={steps}",
        "--config.log_every=1",
        "--config.eval_every=20",
        "--config.checkpoint_every=3",
        "--config.eval_size=32",
        "--config.eval_batch_size=16",
        "--config.num_devices=1",
        "--config.progress=False",
    ]


def records(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(reference: list[dict], faulty: list[dict], steps: int) -> list[str]:
    """What differs between the two runs' records (empty when they agree)."""
    problems = []
    train = [r["step"] for r in faulty if r["split"] == "train"]
    if train != list(range(1, steps + 1)):
        missing = sorted(set(range(1, steps + 1)) - set(train))
        repeated = sorted({s for s in train if train.count(s) > 1})
        problems.append(f"train steps missing {missing[:10]}, repeated {repeated[:10]}")
    ref = {(r["step"], r["split"]): r for r in reference}
    for r in faulty:
        other = ref.get((r["step"], r["split"]))
        if other is None or abs(other["loss"] - r["loss"]) > 1e-6 * max(1.0, abs(r["loss"])):
            problems.append(
                f"step {r['step']} {r['split']}: loss {r['loss']} vs uninterrupted "
                f"{other['loss'] if other else 'missing'}"
            )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/fault_injection")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.workdir, ignore_errors=True)
    reference, faulty = os.path.join(args.workdir, "reference"), os.path.join(args.workdir, "faulty")
    start = time.perf_counter()
    subprocess.run(command(reference, args.steps), cwd=ROOT, check=True, capture_output=True)
    duration = time.perf_counter() - start  # of a whole run, start-up included
    kills, finished_early = 0, 0
    while kills < args.kills and kills + finished_early < 3 * args.kills:
        proc = subprocess.Popen(
            command(faulty, args.steps), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, duration))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        else:
            finished_early += 1
        proc.wait()
    subprocess.run(command(faulty, args.steps), cwd=ROOT, check=True, capture_output=True)
    problems = compare(records(reference), records(faulty), args.steps)
    unreadable = os.path.join(faulty, "checkpoints_unreadable")
    moved = len(os.listdir(unreadable)) if os.path.isdir(unreadable) else 0
    print(
        f"fault injection: {kills} SIGKILLs at random moments ({finished_early} runs finished before their kill), "
        f"{moved} checkpoints moved aside as unreadable; {args.steps} steps: "
        + (
            "metrics equal the uninterrupted run's, each step logged once"
            if not problems
            else f"{len(problems)} differences: " + "; ".join(problems[:5])
        )
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
