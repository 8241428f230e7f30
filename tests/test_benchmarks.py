"""The benchmark scripts run: every cell through the door a user takes, at toy sizes (--smoke)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(module: str, *args: str, env=None) -> subprocess.CompletedProcess:
    """`python -m module args` in the checkout, on one host device, its output captured."""
    env = dict(os.environ if env is None else env, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_step_benchmark_smoke_times_every_door(tmp_path):
    out = tmp_path / "rows.json"
    done = _run("benchmarks.train_step", "--smoke", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["cell"]: r for r in json.loads(out.read_text())}
    assert {"gru", "rum λ=1", "rum λ=1 nnx.RNN", "rum λ=1 stored", "lstm"} <= set(rows)
    assert rows["gru"]["vs_flax_gru"] == 1.0
    assert all(r["step_s"] > 0 and r["temp_mb"] is not None for r in rows.values())


@pytest.mark.slow
def test_accelerator_script_smoke_runs_every_section_on_the_cpu(tmp_path):
    """`benchmarks.accelerator --smoke`: every section at toy sizes; on the CPU float32 is within 1e-4 of the
    float64 reference at both precisions, the reversible λ = 1 needs less memory than storing every R_t,
    and the FS-RUM-2 step runs on the synthetic stream when no PTB folder is given."""
    out = tmp_path / "accelerator.json"
    env = {k: v for k, v in os.environ.items() if k != "RUMJAX_DATA"}
    done = _run("benchmarks.accelerator", "--smoke", "--json", str(out), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    checks = {(r["check"], r["precision"]) for r in result["numerics"]}
    assert {("RUM λ=1 gradients", "highest"), ("rotation R(a, b)·h", "default")} <= checks
    assert all(r["ok"] and 0 < r["relative_error"] < 1e-4 for r in result["numerics"])
    assert {r["cell"] for r in result["options"]} >= {"rum λ=1 hoisted", "rum λ=1 per-step inputs", "rum λ=0 bfloat16"}
    assert {r["cell"] for r in result["train_step"]} >= {"gru", "rum λ=1", "rum λ=1 nnx.RNN"}
    assert result["reversible_memory"]["ratio"] < 1
    ptb = result["fs_rum2_ptb"]
    assert ptb["data"] == "synthetic" and np.isfinite(ptb["loss"]) and ptb["projected_hours"] > 0


def test_the_accelerator_numerics_error_sees_a_wrong_leaf():
    from benchmarks.accelerator import relative_error

    reference = {"a": np.array([1.0, -2.0]), "b": np.array([[4.0]])}
    assert relative_error(reference, reference) == 0
    assert relative_error({"a": np.array([1.0, -2.0]), "b": np.array([[4.4]])}, reference) == pytest.approx(0.1)


STAND_IN_PEER = '''
import torch


class RUM(torch.nn.Module):
    """A stand-in with the authors' interface (RUM(input_size, hidden_size, eta_, lambda_), forward -> (outputs,
    last)): a tanh RNN, so the test exercises the benchmark's plumbing without the authors' file."""

    def __init__(self, input_size, hidden_size, eta_=None, lambda_=0, bias=True):
        super().__init__()
        self.rnn = torch.nn.RNN(input_size, hidden_size, batch_first=True)

    def forward(self, input_, hidden=None, assoc_mem=None):
        outputs, last = self.rnn(input_)
        return outputs, last[0]
'''


@pytest.mark.slow
def test_peer_benchmark_times_a_module_with_the_authors_interface_beside_rumjax(tmp_path):
    """`benchmarks.peer_pytorch --smoke` on a stand-in `rum_model.py` (the authors' file is not in the repo):
    both steps timed, both start from the loss of an untrained 10-class readout; a folder without the file is
    named. Needs the peer extra (torch), which `make test-all` installs."""
    pytest.importorskip("torch")
    (tmp_path / "rum_model.py").write_text(STAND_IN_PEER)
    out = tmp_path / "peer.json"
    done = _run("benchmarks.peer_pytorch", "--smoke", "--json", str(out), "--peer-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result["versions"]) == {"jax", "torch", "date"}
    assert [r["shape"] for r in result["rows"]] == ["smoke λ=1", "smoke λ=0"]
    for r in result["rows"]:
        assert (
            r["rumjax_ms"] > 0
            and r["peer_ms"] > 0
            and r["peer_over_rumjax"] == pytest.approx(r["peer_ms"] / r["rumjax_ms"])
        )
        assert abs(r["first_loss_rumjax"] - np.log(10)) < 0.5 and abs(r["first_loss_peer"] - np.log(10)) < 0.5
    missing = _run("benchmarks.peer_pytorch", "--smoke", "--peer-dir", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "no rum_model.py in" in missing.stderr


@pytest.mark.slow
def test_options_benchmark_at_lambda_1_times_the_batch_chunks(tmp_path):
    out = tmp_path / "options.json"
    shape = ["--shape", "8", "4", "6", "--inputs", "3"]
    done = _run("benchmarks.options", "--lam", "1", *shape, "--repeats", "1", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["variant"]: r for r in json.loads(out.read_text())}
    assert {"batch chunks of 8", "batch chunks of 4", "hoisted input projections"} <= set(rows)
    assert all(r["lam"] == 1 and r["step_s"] > 0 for r in rows.values())


def test_the_pass_floor_makes_the_lambda_1_gradients_passes_and_the_kernel_count_sees_them():
    """`benchmarks.pass_floor`'s program reads and writes the (B, N, N) arrays as often per step as the λ = 1
    gradient does (2 reads and 1 write forward, 8 and 4 backward, benchmarks.memory_passes), over chunks or the
    whole batch; `loop_kernels` counts the kernels of each loop, the (B, N, N) ones among the rank-3 ones."""
    import jax

    from benchmarks.memory_passes import compiled_text, loop_kernels, loop_passes
    from benchmarks.pass_floor import passes_only

    for chunk in (2, None):
        fn, args = passes_only(4, 5, 6, chunk)
        text = fn.lower(*args).compile().as_text()
        passes = sorted(v for v in loop_passes(text, chunk or 4, 6).values() if any(v))
        assert (2, 1) in passes and (8, 4) in passes, passes
        assert jax.numpy.isfinite(fn(*args))
    real = sorted(v for v in loop_passes(compiled_text(4, 5, 6, True), 4, 6).values() if any(v))
    assert real == [(2, 1), (8, 4)]  # the cell's own gradient: the counts the floor copies
    kernels = loop_kernels(compiled_text(4, 5, 6, True))
    assert max(k.get("rank 3", 0) for k in kernels.values()) >= 12  # the backward's 8 reads and 4 writes at least
    assert all(sum(k.values()) > 0 for k in kernels.values() if k)


def test_huge_pages_benchmark_combines_rounds_into_medians_and_ratios():
    """`benchmarks.huge_pages.combine`: per (shape, N, cell), the median over rounds of each condition, and the
    4 KiB time over the 2 MiB time."""
    from benchmarks.huge_pages import combine

    def row(cell, step_s, vs):
        return {"shape": "s", "N": 8, "cell": cell, "temp_mb": 1.0, "step_s": step_s, "vs_flax_gru": vs}

    rounds = {
        "4 KiB": [[row("gru", 0.010, 1.0), row("ntm", 0.030, 3.0)], [row("gru", 0.012, 1.0), row("ntm", 0.050, 4.0)]],
        "2 MiB": [[row("gru", 0.008, 1.0), row("ntm", 0.020, 2.5)], [row("gru", 0.006, 1.0), row("ntm", 0.020, 3.5)]],
    }
    rows = {r["cell"]: r for r in combine(rounds)}
    np.testing.assert_allclose(rows["ntm"]["4 KiB ms"], 40.0)  # median of 30 and 50
    np.testing.assert_allclose(rows["ntm"]["2 MiB ms"], 20.0)
    np.testing.assert_allclose(rows["ntm"]["speedup"], 2.0)
    np.testing.assert_allclose(rows["ntm"]["4 KiB x gru"], 3.5)
    np.testing.assert_allclose(rows["gru"]["speedup"], 11.0 / 7.0)
