"""Several processes (one per host) on JAX's own distributed runtime, and what each feeds to the global arrays.

    python train.py ... --coordinator_address=HOST:PORT --num_processes=N --process_id=I   # on each host
    python train.py ... --distributed          # a cluster JAX detects by itself (TPU pod slice, SLURM, ...)

After `initialize`, `jax.devices()` lists every process's devices and the mesh spans them all. Arrays
are global: `to_global` builds one from the full host copy that every process holds (the data files
are read on each host), and each process transfers only the slices of its own devices.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable

import jax
import numpy as np

from training.checkpoints import last_checkpoint

# JAX's own heartbeat (its default: 100 s): a process silent this long is declared dead and the others abort
# with a native dump. It is the backstop behind `watch_peers`, which notices sooner and says so in one line.
HEARTBEAT_TIMEOUT_S = 40
SHUTDOWN_TIMEOUT_S = 30
# Our own, shorter, liveness check (`watch_peers`): a peer whose beat has not moved for this long is gone, and
# this process says so in one line before JAX's heartbeat timeout ends it with a native abort.
BEAT_S = 1.0
PEER_TIMEOUT_S = 12.0
_KEY = "rumjax/beat/"
_report_once = threading.Lock()


def initialize(coordinator_address: str | None, num_processes: int | None, process_id: int | None, auto: bool) -> None:
    """`jax.distributed.initialize` with the given layout, or with none (`auto`: JAX detects the cluster)."""
    if coordinator_address:
        if num_processes is None or process_id is None:
            raise ValueError("--coordinator_address needs --num_processes and --process_id.")
        jax.distributed.initialize(
            coordinator_address=coordinator_address,
            num_processes=num_processes,
            process_id=process_id,
            heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT_S,
            shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S,
        )
    elif auto:
        jax.distributed.initialize(
            heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT_S, shutdown_timeout_seconds=SHUTDOWN_TIMEOUT_S
        )


def lost_peer(err: Exception | str, workdir: str, command: str, who: str = "another process") -> str:
    """The one line a process prints when another process is gone (a failed collective, or `watch_peers`)."""
    step = last_checkpoint(workdir)
    saved = f"the last checkpoint is step {step} in {workdir}/checkpoints" if step is not None else "no checkpoint yet"
    first = str(err).strip().splitlines()[0][:200]
    return (
        f"train.py (process {jax.process_index()} of {jax.process_count()}): lost contact with {who} "
        f"({first}); {saved}. Restart every process with its own command to resume, here: {command}"
    )


def exit_lost_peer(err: Exception | str, workdir: str, command: str, who: str = "another process") -> None:
    """Print `lost_peer`'s line (once per process, whichever thread sees the loss first) and leave at once:
    JAX's shutdown barrier would wait on the dead process and then abort with a native dump."""
    if _report_once.acquire(blocking=False):
        print(lost_peer(err, workdir, command, who), file=sys.stderr, flush=True)
    os._exit(1)


def watch_peers(workdir: str, command: str) -> Callable[[bool], None]:
    """Two daemon threads that notice a lost or frozen process sooner than JAX's heartbeat, and say so.

    Every BEAT_S each process writes a counter of its own to the coordination service's key-value store and
    reads every other's (thread "beat"); thread "check" looks at what it read. A counter that has not moved for
    PEER_TIMEOUT_S (time measured here, so clocks need not agree) names the lost process; a store that fails,
    or does not answer for PEER_TIMEOUT_S, means the coordinator (process 0, which hosts it) is gone or
    frozen. Either way `exit_lost_peer`. Returns `stop(finished)`, which ends the threads and, where this
    process finished its work, marks it done (a peer that finished is not lost; one that failed is): call it
    before the process exits."""
    if jax.process_count() == 1:
        return lambda finished: None
    from jax._src.distributed import global_state

    client, me = global_state.client, jax.process_index()
    stopped = threading.Event()
    answered = [time.monotonic()]  # when the store last answered
    seen: dict[int, tuple[str, float]] = {}  # peer -> (its last counter, when it last moved: local time)

    def lost(reason: Exception | str, who: str) -> None:
        if not stopped.is_set():
            exit_lost_peer(reason, workdir, command, who)

    def beat() -> None:
        count = 0
        while not stopped.wait(BEAT_S):
            count += 1
            try:
                client.key_value_set(f"{_KEY}{me}", str(count), allow_overwrite=True)
                beats = dict(client.key_value_dir_get(_KEY))
            except Exception as err:  # the service is gone with its host
                return lost(err, "the coordinator (process 0)")
            answered[0] = now = time.monotonic()
            for peer in range(jax.process_count()):
                value = beats.get(f"{_KEY}{peer}")
                if peer == me or value is None:  # None: not beating yet
                    continue
                if value == "done":
                    seen.pop(peer, None)
                elif peer not in seen or seen[peer][0] != value:
                    seen[peer] = (value, now)

    def check() -> None:
        while not stopped.wait(BEAT_S):
            now = time.monotonic()
            if now - answered[0] > PEER_TIMEOUT_S:
                lost(
                    f"its coordination service has not answered for {now - answered[0]:.0f} s",
                    "the coordinator (process 0)",
                )
            for peer, (_, moved) in list(seen.items()):
                if now - moved > PEER_TIMEOUT_S:
                    lost(f"no beat for {now - moved:.0f} s", f"process {peer}")

    threads = [threading.Thread(target=f, name=f"rumjax-{f.__name__}", daemon=True) for f in (beat, check)]
    for thread in threads:
        thread.start()

    def stop(finished: bool) -> None:
        stopped.set()
        for thread in threads:
            thread.join(timeout=2 * BEAT_S)  # a call to a frozen store may not return: do not wait on it
        if finished:
            try:
                client.key_value_set(f"{_KEY}{me}", "done", allow_overwrite=True)
            except Exception:  # the service is gone: nobody is left to read it
                pass

    return stop


def to_global(tree, sharding):
    """A global array (per leaf) with `sharding` from host values that every process holds in full."""

    def one(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(one(jax.random.key_data(x)), impl=jax.random.key_impl(x))
        if jax.process_count() == 1:
            return jax.device_put(x, sharding)
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(one, tree)


def all_agree(flag: bool) -> bool:
    """True on every process if `flag` is true on any (one small collective when there are several)."""
    if jax.process_count() == 1:
        return flag
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.asarray([flag], np.int32))))
