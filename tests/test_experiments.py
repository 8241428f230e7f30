"""scripts.experiments: selecting runs by name or pattern, and a queue that goes on past a failed run."""

import subprocess
import sys

import pytest

from scripts import experiments


def test_patterns_select_in_the_order_given_without_repeats():
    names = experiments.select(["copy200_rum_lam1", "copy200_rum*", "babi10k_rum_qa1?"])
    copying = ["copy200_rum_lam1", "copy200_rum", "copy200_rum_eta1", "copy200_rum_50k", "copy200_rum_eta1_50k"]
    assert names[:5] == copying
    assert names[5:] == [f"babi10k_rum_qa{t}" for t in range(10, 20)]  # not the word-level runs, nor the seeds
    with pytest.raises(ValueError, match="no experiment matches 'copy999_"):
        experiments.select(["copy999_*"])


@pytest.mark.parametrize("keep_going,ran", [(False, 1), (True, 2)])
def test_a_failed_run_stops_the_queue_unless_keep_going(monkeypatch, keep_going, ran):
    calls = []

    def fake_run(cmd):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, returncode=1 if len(calls) == 1 else 0)

    monkeypatch.setattr(experiments.subprocess, "run", fake_run)
    argv = ["experiments", "--runs", "/tmp/r", "copy200_gru", "copy200_lstm"] + (["--keep-going"] if keep_going else [])
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit, match="failed: copy200_gru"):
        experiments.main()
    assert len(calls) == ran and "--workdir=/tmp/r/copy200_gru" in calls[0]


def test_skip_finished_leaves_out_the_runs_whose_record_is_finished(monkeypatch, tmp_path, capsys):
    import json

    def record(name, last_step):  # an archived record: config.json and metrics, its last test at last_step
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"num_steps": 10}))
        line = {"step": last_step, "split": "test", "wall_time": 1.0, "loss": 0.1}
        (tmp_path / name / "metrics.jsonl").write_text(json.dumps(line) + "\n")

    record("copy200_gru", 10)  # finished
    record("copy200_lstm", 5)  # stopped half-way: run again (it resumes where its workdir has it)
    calls = []
    monkeypatch.setattr(
        experiments.subprocess, "run", lambda cmd: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0)
    )
    names = ["copy200_gru", "copy200_lstm", "copy200_goru"]
    monkeypatch.setattr(sys, "argv", ["experiments", "--runs", "/tmp/r", "--skip-finished", str(tmp_path), *names])
    experiments.main()
    assert [c[2] for c in calls] == ["--config=configs/copying.py:lstm", "--config=configs/copying.py:goru"]
    assert "left out: copy200_gru" in capsys.readouterr().out
