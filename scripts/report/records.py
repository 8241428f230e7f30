"""Runs read back from their records (config.json, run_info.json, metrics.jsonl), the small helpers every
section shares, and the archive that copies records (no checkpoints) into the repo."""

from __future__ import annotations

import gzip
import json
import os
import shutil

from scripts.experiments import EXPERIMENTS
from training.checkpoints import last_checkpoint
from training.huge_pages import TUNABLE
from training.metric_log import read_metrics


def find_workdir(runs, name: str) -> str | None:
    """The first of the `runs` folders (one folder or several) that holds the run `name`."""
    for folder in [runs] if isinstance(runs, str) else runs:
        if os.path.exists(os.path.join(folder, name, "config.json")):
            return os.path.join(folder, name)
    return None


def find_file(runs, name: str) -> str | None:
    """The first of the `runs` folders' file `name` (a script's record beside the workdirs)."""
    return next(
        (
            os.path.join(d, name)
            for d in ([runs] if isinstance(runs, str) else runs)
            if os.path.exists(os.path.join(d, name))
        ),
        None,
    )


def load_run(runs, name: str) -> dict | None:
    workdir = find_workdir(runs, name)
    if workdir is None:
        return None
    config = json.load(open(os.path.join(workdir, "config.json")))
    info_path = os.path.join(workdir, "run_info.json")
    info = json.load(open(info_path)) if os.path.exists(info_path) else {}
    return {
        "name": name,
        "config": config,
        "info": info,
        "train": read_metrics(workdir, "train"),
        "test": read_metrics(workdir, "test"),
        "valid": read_metrics(workdir, "valid"),
        "final_test": read_metrics(workdir, "final_test"),
    }


def group_runs(runs_dir: str, group: str) -> list[dict]:
    """The runs of an experiment group (scripts/experiments.py) that have been evaluated at least once."""
    names = [n for n, e in EXPERIMENTS.items() if e.group == group]
    return [r for r in (load_run(runs_dir, n) for n in names) if r and r["test"]]


def at_least(value: float, threshold: float) -> bool:
    """value ≥ threshold for a metric stored in float32: an accuracy k/n is logged as float32(k/n), which
    can fall just under it (950/1000 is stored as 0.949999988), so a relative slack of 1e-6 (float32's
    rounding is under 6e-8) counts it as reached; no two counts k/n, (k+1)/n with n < 10⁵ lie that close."""
    return value >= threshold * (1 - 1e-6)


def first_reaching(records: list[dict], key: str, threshold: float) -> dict | None:
    """The first record whose `key` reaches `threshold` (at_least)."""
    return next((r for r in records if key in r and at_least(r[key], threshold)), None)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.2f} h"


def finished(run: dict) -> bool:
    """At its last step, or (runs with a time budget) evaluated after the budget was spent."""
    if not run["test"]:
        return False
    last, budget = run["test"][-1], run["config"].get("time_budget_s", 0)
    return last["step"] >= run["config"]["num_steps"] or bool(budget and last["wall_time"] >= budget)


def status(run: dict) -> str:
    last = run["test"][-1]["step"] if run["test"] else 0
    return "" if finished(run) else f" (unfinished: {last} of {run['config']['num_steps']})"


def at_step(records: list[dict], step: int) -> dict | None:
    """The last evaluation at or before `step`."""
    before = [r for r in records if r["step"] <= step]
    return before[-1] if before else None


def machine(run: dict) -> str:
    """Where the run ran: the accelerators, or the CPU cores it was allowed."""
    i = run["info"]
    if not i:
        return "?"
    if i["platform"] != "cpu":
        return f"{i['num_devices']}× {i['device_kind']}"
    allowed = i.get("cpus_allowed")
    cores = f"{allowed} of {i['cpu_count']} cores" if allowed else f"{i['cpu_count']} cores"
    return f"CPU, {cores}"


def hardware(run: dict) -> str:
    return machine(run) + (", 2 MiB pages" if huge_pages(run) else "")


def hardware_of(runs) -> str:
    """The hardware of several runs: one run's machine, with how many had 2 MiB pages where only some did."""
    runs = list(runs)
    with_huge = sum(huge_pages(r) for r in runs)
    if with_huge == len(runs):
        return machine(runs[0]) + ", 2 MiB pages"
    return machine(runs[0]) + (f"; {with_huge} of the {len(runs)} runs with 2 MiB pages" if with_huge else "")


def huge_pages(run: dict) -> bool:
    """Whether the run's XLA:CPU buffers had 2 MiB pages (training/huge_pages.py): faster steps, the same numbers.
    Its wall times are then not comparable with those of runs without them (records before 2026-12-06)."""
    i = run["info"] or {}
    asked = f"{TUNABLE}=1" in (i.get("glibc_tunables") or "") and i.get("thp_mode") == "madvise"
    return asked or i.get("thp_mode") == "always"


def command(name: str, runs_label: str) -> str:
    return "`" + " ".join(EXPERIMENTS[name].command(runs_label, name)) + "`"


def not_evaluated(run: dict | None) -> str:
    """The steps cell of a run with no evaluation yet (None: no workdir): "not run", or how far its training got."""
    if run is None or not run["train"]:
        return "not run"
    return f"started: {run['train'][-1]['step']} of {run['config']['num_steps']} steps, no evaluation yet"


def has_checkpoint(workdir: str) -> bool:
    """Whether the run has saved a checkpoint yet (a run just started has an empty checkpoints/)."""
    return last_checkpoint(workdir) is not None


def load_params(workdir: str):
    """The parameters of a run's latest checkpoint, as an nnx.State (restored into its own config's model)."""
    import jax.numpy as jnp
    from flax import nnx

    import train
    from training.checkpoints import Checkpoints

    config = train.load_config(os.path.join(workdir, "config.json"))
    task = train.build_task(config)
    _, params = nnx.split(train.build_model(config, task), nnx.Param)
    target = train.TrainState(jnp.zeros((), jnp.int32), params, train.build_optimizer(config).init(params))
    ckpt = Checkpoints(workdir, keep=1, read_only=True)  # it may be training: look, move nothing
    try:
        state, _ = ckpt.restore(target)
    finally:
        ckpt.close()
    return state.params, int(state.step)


SCRIPT_RECORDS = ("paper_scale.json", "ptb_scale.json")  # scripts' records the report reads beside the workdirs
# The runs whose trained RUM kernels the report draws, and those kernels' names in the cell's parameters: the
# archive keeps them (kernels.npz, a few tens of kB) so the figures regenerate without the checkpoint.
KERNEL_RUNS = ("recall30_rum", "recall50_rum", "copy_cpu_rum_lam1", "copy200_rum_lam1", "copy500_rum_lam1")
KERNELS = ("w_x_tau", "w_h_tau", "w_x_u", "w_h_u")
KERNEL_FILE = "kernels.npz"


def load_kernels(runs, name: str):
    """(kernels, step) of a RUM run: its KERNELS from the latest checkpoint when the workdir has one, else
    from the archived kernels.npz; None when neither is there."""

    workdir = find_workdir(runs, name)
    return None if workdir is None else workdir_kernels(workdir)


def workdir_kernels(workdir: str):
    """(kernels, step) of the RUM run in `workdir` (load_kernels), or None."""
    import numpy as np

    if has_checkpoint(workdir):
        params, step = load_params(workdir)
        return {k: np.asarray(params["cell"][k][...], np.float32) for k in KERNELS}, int(step)
    path = os.path.join(workdir, KERNEL_FILE)
    if not os.path.exists(path):
        return None
    with np.load(path) as z:
        return {k: z[k] for k in KERNELS}, int(z["step"])


def last_step(workdir: str) -> int:
    """The last step a run's records reach (0 when it has none)."""
    records = read_metrics(workdir)
    return max((r["step"] for r in records), default=0)


def archive(runs, dest: str) -> list[str]:
    """Copy config.json, run_info.json and metrics.jsonl (gzipped) of every known run into dest/<name>/ (with the
    kernels.npz of the KERNEL_RUNS, drawn from their checkpoints), and the SCRIPT_RECORDS into dest/. A run
    whose archived record reaches further than its workdir (a rerun in progress) keeps the archived record."""
    copied = []
    for name in EXPERIMENTS:
        workdir = find_workdir(runs, name)
        if workdir is None or os.path.abspath(workdir) == os.path.abspath(os.path.join(dest, name)):
            continue
        kept, new = last_step(os.path.join(dest, name)), last_step(workdir)
        if kept > new:  # a rerun still behind the archived record (say, restarted for its kernels): keep the record
            print(f"kept {dest}/{name}: its record reaches step {kept}, the run in {workdir} only {new}")
            continue
        os.makedirs(os.path.join(dest, name), exist_ok=True)
        for file in ("config.json", "run_info.json"):
            if os.path.exists(os.path.join(workdir, file)):
                shutil.copyfile(os.path.join(workdir, file), os.path.join(dest, name, file))
        metrics = os.path.join(workdir, "metrics.jsonl")
        if os.path.exists(metrics):  # compressed (a fifth of the size), with no timestamp: same records, same bytes
            with open(metrics, "rb") as f, open(os.path.join(dest, name, "metrics.jsonl.gz"), "wb") as out:
                out.write(gzip.compress(f.read(), 9, mtime=0))
            if os.path.exists(os.path.join(dest, name, "metrics.jsonl")):
                os.remove(os.path.join(dest, name, "metrics.jsonl"))
        if name in KERNEL_RUNS and has_checkpoint(workdir):
            import numpy as np

            kernels, step = workdir_kernels(workdir)
            np.savez_compressed(os.path.join(dest, name, KERNEL_FILE), step=step, **kernels)
        copied.append(name)
    for record in SCRIPT_RECORDS:
        path = find_file(runs, record)
        if path and os.path.abspath(path) != os.path.abspath(os.path.join(dest, record)):
            shutil.copyfile(path, os.path.join(dest, record))
    return copied
