"""Several processes (one per host) on JAX's own distributed runtime, and what each feeds to the global arrays.

    python train.py ... --coordinator_address=HOST:PORT --num_processes=N --process_id=I   # on each host
    python train.py ... --distributed          # a cluster JAX detects by itself (TPU pod slice, SLURM, ...)

After `initialize`, `jax.devices()` lists every process's devices and the mesh spans them all. Arrays
are global: `to_global` builds one from the full host copy that every process holds (the data files
are read on each host), and each process transfers only the slices of its own devices.
"""

from __future__ import annotations

import jax
import numpy as np

from training.checkpoints import last_checkpoint

# A process that stops sending heartbeats for this long is declared dead (JAX's default: 100 s), and the
# others stop within it even when they are not waiting on a collective with it.
HEARTBEAT_TIMEOUT_S = 20
SHUTDOWN_TIMEOUT_S = 30


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


def lost_peer(err: Exception, workdir: str, command: str) -> str:
    """The one line a process prints when a collective fails because another process is gone."""
    step = last_checkpoint(workdir)
    saved = f"the last checkpoint is step {step} in {workdir}/checkpoints" if step is not None else "no checkpoint yet"
    first = str(err).strip().splitlines()[0][:200]
    return (
        f"train.py (process {jax.process_index()} of {jax.process_count()}): lost contact with another process "
        f"({first}); {saved}. Restart every process with its own command to resume, here: {command}"
    )


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
