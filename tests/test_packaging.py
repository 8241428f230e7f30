"""The installed package is the library alone; data directories resolve from the config, RUMJAX_DATA or the checkout."""

import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_wheel_installs_rumjax_only(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    (wheel,) = [p for p in os.listdir(tmp_path) if p.endswith(".whl")]
    with zipfile.ZipFile(tmp_path / wheel) as z:
        top = {name.split("/")[0] for name in z.namelist()}
        metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert {t for t in top if not t.endswith(".dist-info")} == {"rumjax"}
    required = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    core = [r for r in required if "extra ==" not in r]
    assert sorted(r.split(">")[0] for r in core) == ["flax", "jax"]  # the training stack is an extra
    assert all("<" not in r for r in required)  # lower bounds only
    assert any("optax" in r and 'extra == "train"' in r for r in required)


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
