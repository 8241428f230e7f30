"""Wall-clock timing of jitted JAX functions: median of repeated calls after warm-up."""

from __future__ import annotations

import statistics
import time
import timeit

import jax


def time_call(fn, *args, repeats: int = 5, warmup: int = 1) -> tuple[float, float]:
    """(median seconds per call, seconds of the first call, which includes compilation), by `timeit`."""
    timer = timeit.Timer(lambda: jax.block_until_ready(fn(*args)))
    first = timer.timeit(number=1)
    if warmup > 1:
        timer.timeit(number=warmup - 1)
    return statistics.median(timer.repeat(repeat=repeats, number=1)), first


def time_interleaved(calls: dict, repeats: int = 5) -> dict[str, float]:
    """Median seconds per call of each of `calls` ({name: (fn, args)}), timed in turns.

    Round r times every function once (after one warm-up call each), so load that comes and goes
    on a shared machine falls on all of them alike and their ratios stay meaningful.
    """
    for fn, args in calls.values():
        jax.block_until_ready(fn(*args))
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}
