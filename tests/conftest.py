"""Test-session set-up: four host CPU devices (for the data-parallel tests) and strict JAX.

XLA_FLAGS must be set before JAX starts its backend, so it is set at import time here.
"""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
# The tests check correctness, not speed: compile with XLA's optimisations mostly off (much faster compiles
# of the many small programs), as Flax's example tests do. RUMJAX_TEST_OPTIMIZE=1 turns them back on.
if os.environ.get("RUMJAX_TEST_OPTIMIZE") != "1":
    jax.config.update("jax_disable_most_optimizations", True)


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
