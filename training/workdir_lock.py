"""One writer per workdir: a run holds an exclusive lock on <workdir>/.lock while it trains.

The lock is `fcntl.flock` on an open file, so the kernel releases it when the process ends however it
ends: a lock left by a killed run never blocks the next one. The file names the holder (host, pid).
"""

from __future__ import annotations

import fcntl
import os
import socket


class WorkdirLocked(RuntimeError):
    """Another live process trains in this workdir."""


class WorkdirLock:
    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, ".lock")
        self._file = None

    def __enter__(self) -> "WorkdirLock":
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise WorkdirLocked(
                f"{os.path.dirname(self.path)} is in use by a live run ({holder}); wait for it to "
                "finish or stop it, or use another --workdir."
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
