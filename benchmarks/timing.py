"""Wall-clock timing of jitted JAX functions: median of repeated calls after warm-up."""

from __future__ import annotations

import statistics
import time

import jax


def time_call(fn, *args, repeats: int = 5, warmup: int = 1) -> tuple[float, float]:
    """(median seconds per call, seconds of the first call, which includes compilation)."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times), first
