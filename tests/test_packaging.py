"""The installed package is the library alone; data directories resolve from the config, RUMJAX_DATA or the checkout."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_wheel_installs_rumjax_only(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = [p for p in os.listdir(tmp_path) if p.endswith(".whl")]
    with zipfile.ZipFile(tmp_path / wheel) as z:
        names = z.namelist()
        top = {name.split("/")[0] for name in names}
        metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert {t for t in top if not t.endswith(".dist-info")} == {"rumjax"}
    required = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = [r for r in required if "extra ==" not in r]
    assert sorted(r.split(">")[0] for r in core) == ["flax", "jax"]  # the training stack is an extra
    assert all("<" not in r for r in required)  # lower bounds only
    assert any("optax" in r and 'extra == "train"' in r for r in required)
    import rumjax

    fields = dict(line.split(": ", 1) for line in metadata.split("\n\n")[0].splitlines() if ": " in line)
    assert fields["Version"] == rumjax.__version__  # one source of truth: pyproject reads rumjax.__version__
    assert fields["License-Expression"] == "Apache-2.0"
    assert "rumjax/py.typed" in names  # PEP 561: type checkers read rumjax's annotations
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "rumjax/metric_log.py" not in names  # run logging (tensorboardX) lives in training/, not the library


def test_data_directories_come_from_rumjax_data_or_the_checkout(monkeypatch, tmp_path):
    from configs import babi, ptb_base

    monkeypatch.setenv("RUMJAX_DATA", str(tmp_path))
    assert ptb_base.ptb_config(epochs=1, cpu=True).task_options.data_dir == str(tmp_path / "ptb")
    assert babi.get_config().task_options.data_dir == str(tmp_path / "babi")
    monkeypatch.delenv("RUMJAX_DATA")
    path = ptb_base.ptb_config(epochs=1, cpu=True).task_options.data_dir
    shared = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "ptb"))
    assert path == (shared if os.path.isdir(shared) else os.path.join("data", "ptb"))
    assert "site-packages" not in path


CORE_ONLY = r"""
import sys
# what the extras add beyond jax, flax and flax's own dependencies (optax, orbax, absl come with flax)
BLOCKED = {"ml_collections", "tensorboardX", "tqdm", "tensorflow", "tensorflow_datasets", "matplotlib",
           "pytest", "training", "tasks", "configs", "scripts"}


class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not a core dependency")


sys.meta_path.insert(0, Block())
import jax, jax.numpy as jnp
from flax import nnx
import rumjax
from rumjax.cells import CELLS, make_cell
xs = jax.random.normal(jax.random.key(0), (2, 5, 3))
for name in CELLS:
    cell = make_cell(name, 3, 8, rngs=nnx.Rngs(0))
    model = rumjax.RNN(cell)
    def loss(model):
        return jnp.sum(model(xs, rngs=nnx.Rngs(1)) ** 2)
    grads = nnx.grad(loss)(model)
    leaves = jax.tree.leaves(grads)
    assert leaves and all(bool(jnp.all(jnp.isfinite(g))) for g in leaves), name
    assert any(float(jnp.abs(g).max()) > 0 for g in leaves), name
print("ok", len(CELLS))
"""


@pytest.mark.slow
def test_the_library_runs_with_only_its_core_dependencies(tmp_path):
    """`pip install rumjax` brings jax and flax only: every public cell builds, runs and differentiates
    with the extras' packages (ml_collections, tensorboardX, tqdm, TFDS, ...) and the checkout's
    packages (training/, tasks/, configs/) unimportable."""
    script = tmp_path / "core_only.py"
    script.write_text(CORE_ONLY)
    env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("ok")


def test_newer_than_pins_names_each_direct_dependency_off_its_pin(tmp_path):
    """make test-newest runs the fast tier only where a direct dependency resolved off its constraints.txt pin."""
    from scripts import newer_than_pins as n

    direct = n.direct_dependencies()
    assert {"jax", "flax", "optax", "orbax-checkpoint", "chex", "tensorboardx", "pytest"} <= set(direct)
    pinned = n.pins()
    assert pinned["jax"] and pinned["ml-collections"]  # names compared as pip does (ml_collections)
    assert n.differing(installed=lambda name: pinned.get(name)) == []
    newer = n.differing(installed=lambda name: "99.0" if name == "flax" else pinned.get(name))
    assert newer == [f"flax 99.0 (constraints.txt: {pinned['flax']})"]
    # what make test-newest reads: pip's dry-run report of the newest releases
    report = tmp_path / "newest.json"
    report.write_text(json.dumps({"install": [{"metadata": {"name": "Flax", "version": "99.0"}}]}))
    assert n.report_versions(str(report))("flax") == "99.0" and n.report_versions(str(report))("jax") is None
