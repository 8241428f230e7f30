"""The benchmark scripts run: every cell through the door a user takes, at toy sizes (--smoke)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_train_step_benchmark_smoke_times_every_door(tmp_path):
    out = tmp_path / "rows.json"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.train_step", "--smoke", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["cell"]: r for r in json.loads(out.read_text())}
    assert {"gru", "rum λ=1", "rum λ=1 nnx.RNN", "rum λ=1 stored", "lstm"} <= set(rows)
    assert rows["gru"]["vs_flax_gru"] == 1.0
    assert all(r["step_s"] > 0 and r["temp_mb"] is not None for r in rows.values())
