"""training/huge_pages.py: when train.py asks glibc for 2 MiB pages, and that the request takes effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from training.huge_pages import TUNABLE, huge_pages_env, thp_mode

ROOT = Path(__file__).resolve().parents[1]
# the tests that start processes need a kernel and a C library that grant huge pages on request
needs_huge_pages = pytest.mark.skipif(
    huge_pages_env({k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}) is None,
    reason="this machine's kernel or C library grants no huge pages on request (THP mode not 'madvise')",
)


def test_the_tunable_is_added_only_where_it_helps_and_is_not_set():
    added = huge_pages_env({"PATH": "/bin"}, mode="madvise", glibc=True)
    assert added == {"PATH": "/bin", "GLIBC_TUNABLES": f"{TUNABLE}=1"}
    # other tunables of the user's are kept
    kept = huge_pages_env({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, mode="madvise", glibc=True)
    assert kept["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{TUNABLE}=1"
    # nothing to change: set already (the re-executed process, or the user's own choice), turned off,
    # the kernel grants huge pages always or never, or the C library has no such tunable
    assert huge_pages_env({"GLIBC_TUNABLES": f"{TUNABLE}=0"}, mode="madvise", glibc=True) is None
    assert huge_pages_env({"GLIBC_TUNABLES": f"{TUNABLE}=1"}, mode="madvise", glibc=True) is None
    assert huge_pages_env({"RUMJAX_HUGE_PAGES": "0"}, mode="madvise", glibc=True) is None
    for mode in ("always", "never"):
        assert huge_pages_env({}, mode=mode, glibc=True) is None
    assert huge_pages_env({}, mode="madvise", glibc=False) is None


def test_thp_mode_reads_the_bracketed_choice(tmp_path):
    f = tmp_path / "enabled"
    f.write_text("always [madvise] never\n")
    assert thp_mode(str(f)) == "madvise"
    f.write_text("[always] madvise never\n")
    assert thp_mode(str(f)) == "always"
    assert thp_mode(str(tmp_path / "absent")) is None


SCRIPT = """
import ctypes, os, sys
sys.path.insert(0, {root!r})
from training.huge_pages import reexec_with_huge_pages

print("pid", os.getpid(), flush=True)
reexec_with_huge_pages()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
size = 64 << 20
ctypes.memset(libc.malloc(size), 1, size)  # a malloc the size of a scan's stored activations, touched
huge = [line.split()[1] for line in open("/proc/self/smaps_rollup") if line.startswith("AnonHugePages:")]
print("tunables", os.environ.get("GLIBC_TUNABLES"))
print("huge_kb", huge[0])
"""


@needs_huge_pages
def test_reexec_keeps_the_process_and_its_large_mallocs_get_huge_pages(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(SCRIPT.format(root=str(ROOT))))
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "RUMJAX_HUGE_PAGES")}

    def run(**extra):
        out = subprocess.run([sys.executable, str(script)], env={**env, **extra}, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return [line.split(" ", 1) for line in out.stdout.splitlines()]

    lines = run()
    pids = [v for k, v in lines if k == "pid"]
    assert len(pids) == 2 and pids[0] == pids[1]  # printed before and after the exec: one process
    assert dict(lines)["tunables"] == f"{TUNABLE}=1"
    assert int(dict(lines)["huge_kb"]) >= 2048  # at least one 2 MiB page under the 64 MiB malloc

    off = run(RUMJAX_HUGE_PAGES="0")
    assert [k for k, _ in off].count("pid") == 1 and dict(off)["tunables"] == "None"
    assert int(dict(off)["huge_kb"]) == 0  # the same malloc without the request: 4 KiB pages only


def test_run_info_records_the_page_size_setting(monkeypatch):
    """A run's run_info.json says whether it asked for 2 MiB pages, which explains its speed beside another's."""
    import jax
    import numpy as np

    from training.run_info import run_info

    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("data",))
    monkeypatch.setenv("GLIBC_TUNABLES", f"{TUNABLE}=1")
    info = run_info({"w": np.zeros((2, 3))}, mesh)
    assert info["glibc_tunables"] == f"{TUNABLE}=1" and info["thp_mode"] == thp_mode()
    assert info["param_count"] == 6
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert run_info({"w": np.zeros(1)}, mesh)["glibc_tunables"] is None


@pytest.mark.slow
@needs_huge_pages
def test_train_py_runs_with_the_tunable_unless_turned_off(tmp_path):
    """The door users take: `python train.py` re-executes itself with the tunable (its run_info.json says so),
    and trains as before; RUMJAX_HUGE_PAGES=0 keeps the process as started."""
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "RUMJAX_HUGE_PAGES")}
    flags = ["--config=configs/copying.py:cpu", "--config.num_steps=2", "--config.hidden=8", "--config.progress=False"]
    flags += ["--config.eval_every=2", "--config.eval_size=16", "--config.eval_batch_size=16", "--config.num_devices=1"]
    for extra, expected in (({}, f"{TUNABLE}=1"), ({"RUMJAX_HUGE_PAGES": "0"}, None)):
        workdir = tmp_path / str(bool(extra))
        out = subprocess.run(
            [sys.executable, "train.py", *flags, f"--workdir={workdir}"],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert json.loads((workdir / "run_info.json").read_text())["glibc_tunables"] == expected
