"""Tasks: each builds seeded batches and the sums its loss and metrics are made of."""

from tasks.babi import BabiTask
from tasks.copying import CopyingTask
from tasks.ptb import PTBTask
from tasks.recall import RecallTask

TASKS = {"copying": CopyingTask, "recall": RecallTask, "babi": BabiTask, "ptb": PTBTask}


def make_task(name: str, **options):
    """Build the registered task `name`; unknown names or options raise a ValueError listing the valid ones."""
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}.")
    try:
        return TASKS[name](**options)
    except TypeError as err:  # an unknown or missing option
        raise ValueError(f"Task {name!r}: bad options {sorted(options)} ({err}).") from None


__all__ = ["TASKS", "make_task", "CopyingTask", "RecallTask", "BabiTask", "PTBTask"]
