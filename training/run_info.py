"""What a report needs to say where and at what size a run ran."""

from __future__ import annotations

import os
import subprocess

import jax
import numpy as np

from training.huge_pages import thp_mode


def run_info(params, mesh) -> dict:
    """What a report needs to say where and at what size a run ran."""
    devices = mesh.devices.ravel()
    return {
        "param_count": int(sum(np.size(x) for x in jax.tree.leaves(params))),
        "device_kind": devices[0].device_kind,
        "platform": devices[0].platform,
        "num_devices": len(devices),
        "num_processes": jax.process_count(),
        "cpu_count": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "jax_version": jax.__version__,
        "git_commit": git_commit(),
        # speed, not numbers: 2 MiB pages for XLA:CPU's buffers (training/huge_pages.py) where both are set
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "thp_mode": thp_mode(),
    }


def git_commit() -> str | None:
    """The commit of the code that ran (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
