"""scripts.report regenerates RESULTS.md from workdirs: rows come from metrics, missing runs are listed."""

import os

import train
from scripts import report
from tests.test_train import tiny_config


def test_report_reads_runs_back(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    c = tiny_config(num_steps=20, eval_every=10)
    c.task_options.delay = 5
    train.train_and_evaluate(c, str(runs / "copy_cpu_rum"))
    out, figures = tmp_path / "RESULTS.md", tmp_path / "figs"
    monkeypatch.setattr("sys.argv", ["report", "--runs", str(runs), "--out", str(out), "--figures", str(figures)])
    report.main()
    text = out.read_text()
    last = [r for r in report.read_metrics(str(runs / "copy_cpu_rum"), "test")][-1]
    assert f"| RUM 64, λ=0, η=N/A | 20 | {last['loss']:.4f} |" in text
    assert "| 30 | RUM λ=1 | | not run |" in text  # a run that does not exist is listed, not invented
    assert os.path.exists(figures / "copying_cpu.png")
    assert "## How to reproduce at paper scale" in text
