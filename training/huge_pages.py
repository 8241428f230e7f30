"""Transparent huge pages for XLA:CPU's buffers, which speeds up train steps that store large activations.

On every call, XLA:CPU allocates its temporary buffers afresh. These include the activations a scan stores
for the backward pass: 171 MiB in all for a train step of the learned-update memory at Associative Recall
T = 50, and 120 MiB for Flax's GRU at Copying T = 200 (the temp column of `benchmarks.train_step`). glibc
serves an allocation that large with a new mmap. The kernel then maps it on first touch, one 4 KiB page
and one fault at a time, on every step. Where the
kernel's transparent huge pages are in ``madvise`` mode (the default of many distributions), glibc ≥ 2.35
asks for 2 MiB pages instead when the process starts with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``.

glibc reads the tunable once, at process start. `train.py` therefore re-executes itself with the
tunable added (`reexec_with_huge_pages`) before it imports JAX. ``RUMJAX_HUGE_PAGES=0`` turns this off. A
tunable the user already set for ``glibc.malloc.hugetlb`` is left alone. Numbers do not change, only
time: `python -m benchmarks.huge_pages` measures it. A user's own Flax model gets the same by starting
Python with the variable set (docs/performance.md).
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping

__all__ = ["TUNABLE", "huge_pages_env", "reexec_with_huge_pages", "thp_mode"]

TUNABLE = "glibc.malloc.hugetlb"
THP_ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled"


def thp_mode(path: str = THP_ENABLED) -> str | None:
    """The kernel's transparent-huge-page mode ("always", "madvise" or "never"), None where it cannot be read."""
    try:
        with open(path) as f:
            match = re.search(r"\[(\w+)\]", f.read())
    except OSError:
        return None
    return match.group(1) if match else None


def _glibc_has_tunable() -> bool:
    name, version = platform.libc_ver()
    try:
        return name == "glibc" and tuple(int(p) for p in version.split(".")[:2]) >= (2, 35)
    except ValueError:
        return False


def huge_pages_env(environ: Mapping[str, str], *, mode: str | None = None, glibc: bool | None = None):
    """`environ` with ``glibc.malloc.hugetlb=1`` added to ``GLIBC_TUNABLES``, or None where nothing is to change.

    Nothing changes where ``RUMJAX_HUGE_PAGES=0``, where the tunable is already set (by the user, or by
    the re-executed process itself), where the kernel's mode is not "madvise" ("always" needs no request,
    "never" grants none), or where the C library is not glibc ≥ 2.35. `mode` and `glibc` stand in for the
    machine's own (tests).
    """
    if environ.get("RUMJAX_HUGE_PAGES", "1") == "0":
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    if TUNABLE in tunables:
        return None
    mode = thp_mode() if mode is None else mode
    glibc = (sys.platform == "linux" and _glibc_has_tunable()) if glibc is None else glibc
    if mode != "madvise" or not glibc:
        return None
    return {**environ, "GLIBC_TUNABLES": ":".join(filter(None, [tunables, f"{TUNABLE}=1"]))}


def reexec_with_huge_pages() -> None:
    """Replace this process with itself (same PID, same arguments) started with the tunable, where it helps.

    Call this first thing in a program's ``__main__``, before JAX is imported. It returns only where
    nothing is to change.
    """
    env = huge_pages_env(os.environ)
    if env is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
