"""Kill a training run with SIGKILL at random moments, resume it each time, and compare with an uninterrupted run.

    python -m scripts.fault_injection --kills 10 [--steps 60] [--seed 0] [--workdir /tmp/fault_injection]
    python -m scripts.fault_injection --config=configs/ptb_rum.py:cpu --kills 5 --steps 60 \
        --config.task_options.seq_len=20 --config.hidden=16      # any task; --config.* overrides pass through

By default a small Copying run; with --config any experiment, shrunk by the --config.* overrides given. It
checkpoints every 3 steps. It is started, killed after a random delay between
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


DEFAULT_CONFIG = "configs/copying.py:cpu"
# the default run's size: a tiny Copying task
DEFAULT_OVERRIDES = [
    "--config.task_options.delay=5",
    "--config.hidden=16",
    "--config.batch_size=16",
    "--config.eval_every=20",
    "--config.eval_size=32",
    "--config.eval_batch_size=16",
]


def command(workdir: str, steps: int, config: str = DEFAULT_CONFIG, overrides=None) -> list[str]:
    """train.py on `config` for `steps` steps, logging every step and checkpointing every 3, one device."""
    overrides = DEFAULT_OVERRIDES if overrides is None else list(overrides)
    return [
        sys.executable,
        "train.py",
        f"--config={config}",
        f"--workdir={workdir}",
        f"--config.num_steps={steps}",
        "--config.log_every=1",
        "--config.checkpoint_every=3",
        "--config.num_devices=1",
        "--config.progress=False",
        *overrides,
    ]


def records(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


COMPARED = ("loss", "accuracy", "bpc", "copy_accuracy")  # the metrics every split's records are compared on


def compare(reference: list[dict], faulty: list[dict], steps: int) -> list[str]:
    """What differs between the two runs' records (empty when they agree)."""
    problems = []
    train = [r["step"] for r in faulty if r["split"] == "train"]
    if train != list(range(1, steps + 1)):
        missing = sorted(set(range(1, steps + 1)) - set(train))
        repeated = sorted({s for s in train if train.count(s) > 1})
        problems.append(f"train steps missing {missing[:10]}, repeated {repeated[:10]}")
    ref = {(r["step"], r["split"]): r for r in reference}
    seen = {(r["step"], r["split"]) for r in faulty}
    for key in sorted(set(ref) - seen):
        problems.append(f"step {key[0]} {key[1]}: in the uninterrupted run only")
    for r in faulty:
        other = ref.get((r["step"], r["split"]))
        if other is None:
            problems.append(f"step {r['step']} {r['split']}: not in the uninterrupted run")
            continue
        for name in COMPARED:
            if name in r and abs(other.get(name, float("nan")) - r[name]) > 1e-6 * max(1.0, abs(r[name])):
                problems.append(f"step {r['step']} {r['split']}: {name} {r[name]} vs uninterrupted {other.get(name)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="/tmp/fault_injection")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the experiment (train.py's --config)")
    args, overrides = parser.parse_known_args()
    bad = [o for o in overrides if not o.startswith("--config.")]
    if bad:
        parser.error(f"unknown arguments {bad}; only --config.KEY=VALUE overrides pass through to train.py")
    if args.config != DEFAULT_CONFIG or overrides:
        train_cmd = lambda workdir: command(workdir, args.steps, args.config, overrides)  # noqa: E731
    else:
        train_cmd = lambda workdir: command(workdir, args.steps)  # noqa: E731
    rng = random.Random(args.seed)
    shutil.rmtree(args.workdir, ignore_errors=True)
    reference, faulty = os.path.join(args.workdir, "reference"), os.path.join(args.workdir, "faulty")
    start = time.perf_counter()
    subprocess.run(train_cmd(reference), cwd=ROOT, check=True, capture_output=True)
    duration = time.perf_counter() - start  # of a whole run, start-up included
    kills, finished_early = 0, 0
    while kills < args.kills and kills + finished_early < 3 * args.kills:
        proc = subprocess.Popen(train_cmd(faulty), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, duration))
        if proc.poll() is None:
            proc.kill()
            kills += 1
        else:
            finished_early += 1
        proc.wait()
    subprocess.run(train_cmd(faulty), cwd=ROOT, check=True, capture_output=True)
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
