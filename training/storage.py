"""Storage faults: a workdir that cannot be written, or a disk that fills while a run saves.

A run checks at its start that it can write its workdir (`check_writable`), so a read-only or forbidden
folder stops it before anything is compiled. A write that fails later (a checkpoint, metrics.jsonl,
TensorBoard's events) reaches train.py as an OSError, often wrapped by orbax's background save thread;
`storage_error` finds it in the exception's chain and `storage_fault_line` says, in one line, which path
failed and why, which checkpoint is the last intact one, and how to resume. Orbax writes a checkpoint
into a temporary folder and renames it only when complete, and removes older checkpoints only after a
newer one is complete, so a failed save leaves every earlier checkpoint as it was.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import threading

from training.checkpoints import last_checkpoint

# the errors of a write that the operator, not the code, must fix
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}


def check_writable(workdir: str) -> None:
    """Create `workdir` if needed and write (then remove) a small file there; raises the OSError if it cannot."""
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write-check-{os.getpid()}")
    with open(probe, "w") as f:
        f.write("rumjax\n")
    os.remove(probe)


_TENSORSTORE = re.compile(r"os_error_code='(\d+)'")  # tensorstore's write errors: a ValueError naming errno
_TENSORSTORE_FILE = re.compile(r'(?:writing|file) (?:local file )?"([^"]+)"')


def _as_os_error(err: BaseException) -> OSError | None:
    """`err` as an OSError: itself, or the errno and path that tensorstore (orbax's array writer) names in
    its message (``RESOURCE_EXHAUSTED: Error writing local file "PATH": ... [os_error_code='28']``)."""
    if isinstance(err, OSError):
        return err
    code = _TENSORSTORE.search(str(err))
    if code is None:
        return None
    path = _TENSORSTORE_FILE.search(str(err))
    number = int(code.group(1))
    return OSError(number, os.strerror(number), path.group(1) if path else None)


def storage_error(err: BaseException | None) -> OSError | None:
    """The OSError of a failed write in `err`'s chain of causes and contexts, or None."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        found = _as_os_error(err)
        if found is not None and found.errno in STORAGE_ERRNOS:
            return found
        err = err.__cause__ or err.__context__
    return None


def storage_fault_line(err: OSError, workdir: str, command: str) -> str:
    """One line: the path that could not be written and why, the last intact checkpoint, how to resume."""
    path = err.filename or workdir
    cause = f"{err.strerror or os.strerror(err.errno)} (errno {err.errno})"
    step = last_checkpoint(workdir)
    kept = (
        f"the last intact checkpoint, step {step}, is kept in {os.path.join(workdir, 'checkpoints')}"
        if step is not None
        else "no checkpoint was saved yet"
    )
    fix = "Free space" if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else "Make it writable"
    return f"train.py: cannot write {path}: {cause}; {kept}. {fix}, then resume with the same command: {command}"


_faults: list[OSError] = []  # the storage faults orbax has reported in this process


class _OrbaxStorageErrors(logging.Filter):
    """Drops orbax's own error records (with their tracebacks) about a write that failed for want of space or
    permission: train.py reports that fault in its one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        failed = storage_error(record.exc_info[1]) if record.exc_info else None
        if failed is None or "orbax" not in record.pathname:
            return True
        _faults.append(failed)
        return False


def _quiet_after_a_fault(hook, value=lambda args: args.exc_value):
    def excepthook(*args):
        """Orbax's worker threads, and tensorstore's callbacks into Python, fail in turn once a save has failed
        (closed event loops, aborted writes): after a storage fault, those follow-on errors are not printed."""
        if not (_faults or storage_error(value(*args))):
            hook(*args)

    return excepthook


def quiet_orbax_storage_errors() -> None:
    """Install the filter on absl's logger, through which orbax logs, and the quiet exception hooks."""
    logger = logging.getLogger("absl")
    if not any(isinstance(f, _OrbaxStorageErrors) for f in logger.filters):
        logger.addFilter(_OrbaxStorageErrors())
        threading.excepthook = _quiet_after_a_fault(threading.excepthook)
        # tensorstore's C++ threads report a Python callback's error as "unraisable"
        sys.unraisablehook = _quiet_after_a_fault(sys.unraisablehook)
