"""scripts.report regenerates RESULTS.md from workdirs or archived records: rows come from metrics, missing runs
are listed, and --check names the sections a committed RESULTS.md gets wrong."""

import os
import shutil

import pytest

import train
from scripts.report import __main__ as report
from scripts.report.babi import input_comparison, paper_gaps
from scripts.report.copying import copying_verdict, first_below
from scripts.report.plots import kernel_collection
from tests.test_train import tiny_config
from training.metric_log import read_metrics


@pytest.mark.slow
def test_report_reads_runs_back(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    c = tiny_config(num_steps=20, eval_every=10)
    c.task_options.delay = 5
    train.train_and_evaluate(c, str(runs / "copy_cpu_rum"))
    # a run stopped before its first evaluation: its training records only
    shutil.copytree(runs / "copy_cpu_rum", runs / "copy_cpu_gru")
    lines = (runs / "copy_cpu_gru" / "metrics.jsonl").read_text().splitlines()
    trained = [line for line in lines if '"split": "train"' in line]
    assert trained and len(trained) < len(lines)
    (runs / "copy_cpu_gru" / "metrics.jsonl").write_text("\n".join(trained) + "\n")
    out, figures = tmp_path / "RESULTS.md", tmp_path / "figs"
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    text = out.read_text()
    step = read_metrics(str(runs / "copy_cpu_gru"), "train")[-1]["step"]
    assert f"| GRU 64 | | started: {step} of 20 steps, no evaluation yet |" in text
    last = [r for r in read_metrics(str(runs / "copy_cpu_rum"), "test")][-1]
    assert f"| RUM 64, λ=0, η=N/A | 16 | 20 | {last['loss']:.4f} |" in text
    assert "| 30 | RUM λ=1 | | not run |" in text  # a run that does not exist is listed, not invented
    assert os.path.exists(figures / "copying_cpu.png")
    assert "## How to reproduce at paper scale" in text


@pytest.mark.slow
def test_report_fills_the_babi_and_ptb_tables(tmp_path, monkeypatch):
    from configs import babi as babi_config
    from configs import ptb_rum
    from tests.test_data import _write_tiny_babi, _write_tiny_ptb

    runs = tmp_path / "runs"
    _write_tiny_babi(tmp_path / "babi")
    c = babi_config.get_config("cpu")
    c.task_options.data_dir, c.task_options.download, c.task_options.check = str(tmp_path / "babi"), False, False
    c.hidden, c.embed_dim, c.num_steps, c.eval_every, c.log_every = 16, 8, 20, 10, 10
    c.eval_batch_size, c.num_devices, c.progress = 64, 1, False
    train.train_and_evaluate(c, str(runs / "babi10k_rum_qa1"))
    _write_tiny_ptb(tmp_path / "ptb")
    p = ptb_rum.get_config("cpu")
    p.task_options.data_dir, p.task_options.check, p.task_options.download = str(tmp_path / "ptb"), False, False
    p.task_options.seq_len, p.hidden, p.embed_dim, p.batch_size, p.eval_batch_size = 20, 16, 8, 8, 4
    p.num_steps, p.time_budget_s, p.eval_every, p.log_every, p.num_devices, p.progress = 10**6, 3.0, 10**6, 10, 1, False
    train.train_and_evaluate(p, str(runs / "ptb_cpu_sum_rum"))
    shutil.copytree(runs / "ptb_cpu_sum_rum", runs / "ptb_fs_rum2")  # stands in for the scaled FS-RUM-2 run
    shutil.copytree(runs / "ptb_cpu_sum_rum", runs / "ptb_cpu_sum_lstm")  # and for a finished pair

    out, figures = tmp_path / "RESULTS.md", tmp_path / "figs"
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    text = out.read_text()
    valid = read_metrics(str(runs / "babi10k_rum_qa1"), "valid")
    test = read_metrics(str(runs / "babi10k_rum_qa1"), "test")
    best = max(valid, key=lambda r: (r["accuracy"], -r["step"]))["step"]
    acc = next(r["accuracy"] for r in test if r["step"] == best)
    assert (
        f"| 1. single-supporting-fact | {100 * acc:.1f} (1 of 3 seeds) | not run | not run | not run | not run | 79.7 | 50 "
        "| 46 | 100 |" in text
    )
    shutil.copytree(runs / "babi10k_rum_qa1", runs / "babi10k_rum_qa1_seed2")  # stands in for seed 2
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    text = out.read_text()
    assert f"| 1. single-supporting-fact | {100 * acc:.1f} ± 0.0 (2 of 3 seeds) | not run |" in text
    assert f"| 1 | {100 * acc:.1f} | – | {100 * acc:.1f} | – |" in text  # each seed's number, seed 1 not run
    assert "| 2. two-supporting-facts | not run | not run |" in text
    assert os.path.exists(figures / "kernels_babi10k_qa1.png")
    ptb_valid = read_metrics(str(runs / "ptb_cpu_sum_rum"), "valid")
    assert len(ptb_valid) == 1  # the time budget ended the run with one evaluation
    assert f"| {ptb_valid[0]['bpc']:.3f} |" in text and "(unfinished" not in text.split("### CPU scale")[1]
    assert os.path.exists(figures / "ptb_cpu_sum.png")
    final = read_metrics(str(runs / "ptb_fs_rum2"), "final_test")  # batch 1, best-on-valid weights
    assert len(final) == 1
    scaled = text.split("### FS-RUM-2 against FS-LSTM-2")[1].split("###")[0]
    assert f"| {ptb_valid[0]['bpc']:.3f} | " in scaled and f" {final[0]['bpc']:.3f} |" in scaled
    assert os.path.exists(figures / "ptb_fs.png")
    assert "lower" not in scaled  # one finished run of two: no verdict
    pair = text.split("### CPU scale")[1]
    assert f"has the lower final test BPC, by 0.000 ({final[0]['bpc']:.3f} against {final[0]['bpc']:.3f}" in pair


@pytest.mark.slow
def test_report_marks_an_interrupted_recall_run_and_draws_its_kernel_once_finished(tmp_path, monkeypatch):
    from configs import recall as recall_config

    runs = tmp_path / "runs"
    c = recall_config.get_config("cpu")
    c.num_steps, c.eval_every, c.log_every, c.checkpoint_every = 20, 10, 10, 10
    c.batch_size, c.eval_size, c.eval_batch_size, c.num_devices, c.progress = 16, 64, 64, 1, False
    train.train_and_evaluate(c, str(runs / "recall30_rum"))
    # the run stops (killed) after its first evaluation: drop what came later from its metrics
    metrics = runs / "recall30_rum" / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    first_test = next(i for i, line in enumerate(lines) if '"test"' in line and '"step": 10' in line)
    metrics.write_text("\n".join(lines[: first_test + 1]) + "\n")

    out, figures = tmp_path / "RESULTS.md", tmp_path / "figs"
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    text = out.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 30 | RUM λ=1 |"))
    assert "(unfinished: 10 of 20)" in row and "(at 10)" in row
    assert "mean |diagonal|" not in text  # an unfinished run's W_hτ is not the trained kernel of Figure 3
    metrics.write_text("\n".join(lines) + "\n")  # the run's whole record: finished
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    assert os.path.exists(figures / "kernel_recall30.png") and "mean |diagonal|" in out.read_text()


@pytest.mark.slow
def test_archived_records_regenerate_the_report_and_check_names_a_section_that_differs(tmp_path, monkeypatch):
    runs, kept = tmp_path / "runs", tmp_path / "kept"
    train.train_and_evaluate(tiny_config(num_steps=10, eval_every=10), str(runs / "copy_cpu_rum_lam1"))
    out, figures = tmp_path / "RESULTS.md", tmp_path / "figs"
    assert report.main(["--runs", str(runs), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    from_workdir = out.read_text()
    assert "| RUM 64, λ=1, η=N/A | 16 | 10 |" in from_workdir and "kernels_copying_cpu.png" in from_workdir
    # the records (no checkpoints; the drawn kernels as kernels.npz) go to a folder the report reads alone
    assert report.main(["--runs", str(runs), "--archive", str(kept)]) == 0
    assert sorted(os.listdir(kept / "copy_cpu_rum_lam1")) == [
        "config.json",
        "kernels.npz",
        "metrics.jsonl.gz",
        "run_info.json",
    ]
    shutil.rmtree(runs)
    assert report.main(["--runs", str(kept), "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    assert out.read_text() == from_workdir  # the same document, kernel figure included, with no workdir
    monkeypatch.setattr(report, "RECORDS", str(kept))
    assert report.main(["--check", "--out", str(out), "--figures", str(figures), "--readme", ""]) == 0
    out.write_text(from_workdir.replace("| RUM 64, λ=1, η=N/A | 16 | 10 |", "| RUM 64, λ=1, η=N/A | 16 | 11 |"))
    assert report.check(str(out), str(figures)) == ["copying_cpu"]
    assert report.main(["--check", "--out", str(out), "--figures", str(figures), "--readme", ""]) == 1
    out.write_text(
        from_workdir.replace(
            "<!-- report:babi_10k -->", "<!-- report:babi_1k -->\nx\n<!-- /report:babi_1k -->\n<!-- report:babi_10k -->"
        )
    )
    assert report.check(str(out), str(figures)) == ["babi_1k (not generated)"]


def test_an_accuracy_stored_in_float32_counts_as_reaching_its_threshold():
    import numpy as np

    from scripts.report.records import at_least, first_reaching

    assert float(np.float32(950 / 1000)) < 0.95 and at_least(float(np.float32(950 / 1000)), 0.95)
    assert not at_least(float(np.float32(949 / 1000)), 0.95)
    assert at_least(100 * float(np.float32(950 / 1000)), 95) and not at_least(94.9, 95)
    records = [{"step": 1, "accuracy": float(np.float32(0.989))}, {"step": 2, "accuracy": float(np.float32(0.99))}]
    assert first_reaching(records, "accuracy", 0.99)["step"] == 2


def test_paper_gaps_names_tasks_far_below_and_above_the_paper():
    # Table 4: RUM task 1 79.7, task 2 39.4, task 4 100; LSTM task 1 50; GORU task 1 46; MemN2N task 19 17
    text = paper_gaps(
        {
            "RUM 256 (sentence)": {1: [97.5], 2: [41.6], 4: [80.0]},
            "LSTM 256 (sentence)": {1: [45.0]},
            "MemN2N (10k)": {19: [6.9]},
            "GORU 256 (sentence)": {1: [57.0]},
            "RUM 256 (word)": {},
        }
    )
    assert "RUM 256 (sentence): below on tasks 4 (80.0 vs 100); above on tasks 1 (97.5 vs 79.7) (of 3)" in text
    assert "LSTM 256 (sentence): no task (of 1)" in text  # 5 points below is within 10
    assert "MemN2N (10k): below on tasks 19 (6.9 vs 17) (of 1)" in text
    assert "GORU 256 (sentence): above on tasks 1 (57.0 vs 46) (of 1)" in text  # against GORU's column
    assert "word" not in text
    assert paper_gaps({"RUM 256 (word)": {}}) == ""


def test_paper_gaps_uses_the_seed_mean_and_places_the_paper_against_the_seeds_range():
    # RUM task 1 79.7, task 4 100, task 18 98.5; LSTM task 1 50
    text = paper_gaps(
        {
            "RUM 256 (sentence)": {1: [97.5, 93.7, 94.2], 4: [68.7, 99.0, 100.0], 18: [60.0, 70.0, 80.0]},
            "LSTM 256 (sentence)": {1: [30.0, 75.0, 75.0]},
        }
    )
    # task 4's mean (89.2) is more than 10 below 100, with the paper above the range; task 1's mean is far above
    assert "below on tasks 4 (mean 89.2, seeds 68.7–100.0; paper 100, inside the range)" in text
    assert "18 (mean 70.0, seeds 60.0–80.0; paper 98.5, above the range)" in text
    assert "above on tasks 1 (mean 95.1, seeds 93.7–97.5; paper 79.7, below the range) (of 3, seed means of 3)" in text
    # LSTM's mean 60.0 is within 10 of 50 although one seed is 20 below: the mean decides
    assert "LSTM 256 (sentence): no task (of 1, seed means of 3)" in text


def test_mean_over_tasks_gives_mean_and_std_over_the_seeds_with_every_task():
    from scripts.report.babi import cell, mean_over_tasks

    full = {t: 80.0 for t in range(1, 21)}
    per_seed = {0: full, 1: {**full, 1: 100.0}, 2: {1: 50.0}}  # seed 2 has one task: left out of the mean
    assert mean_over_tasks(per_seed) == "80.5 ± 0.7 (2 seeds: 80.0, 81.0)"
    assert mean_over_tasks({0: full}) == "80.0"
    assert mean_over_tasks({0: full, 1: {1: 70.0}}) == "80.0 (the one seed with every task)"
    assert mean_over_tasks({0: {1: 50.0, 2: 70.0}}) == "60.0 (2 tasks)"
    assert mean_over_tasks({}) == "–"
    assert cell([97.5]) == "97.5" and cell([90.0, 94.0, 98.0]) == "94.0 ± 4.0"


def test_input_comparison_pairs_the_sentence_and_word_columns_of_one_model():
    text = input_comparison(
        {
            "RUM 256 (sentence)": {4: [68.7, 70.7], 18: [59.1], 1: [97.5]},
            "RUM 256 (word)": {18: [93.0], 4: [82.5]},
            "LSTM 256 (sentence)": {4: [60.0]},
            "MemN2N (10k)": {4: [97.0]},
        }
    )
    assert "RUM 256, task 4: 69.7 against 82.5, task 18: 59.1 against 93.0 (" in text  # seed means
    assert "by task: above on 4, 18; of 2)" in text  # 82.5 > 70.7, the best sentence seed
    assert "LSTM" not in text and "MemN2N" not in text  # no word-level LSTM to compare with
    text = input_comparison(
        {
            "RUM 256 (sentence)": {1: [90.0, 96.0], 2: [40.0, 44.0], 3: [30.0]},
            "RUM 256 (word)": {1: [93.0], 2: [39.0], 3: [35.0]},
        }
    )
    assert "by task: above on 3; below on 2; inside on 1; of 3)" in text  # task 3 has one seed: no mean
    text = input_comparison(
        {"RUM 256 (sentence)": {1: [90.0, 96.0], 2: [40.0, 44.0]}, "RUM 256 (word)": {1: [93.0], 2: [39.0]}}
    )
    assert "of 2; the 2-task mean, 66.0, is inside the sentence-level seeds' 65.0–70.0)" in text
    text = input_comparison({"RUM 256 (sentence)": {1: [90.0, 96.0], 2: [40.0, 44.0]}, "RUM 256 (word)": {1: [93.0]}})
    assert "mean" not in text  # the word level has not run every task
    single = input_comparison({"RUM 256 (sentence)": {1: [90.0]}, "RUM 256 (word)": {1: [93.0]}})
    assert single.endswith("task 1: 90.0 against 93.0.")  # one sentence seed: no range to place it in
    assert input_comparison({"RUM 256 (sentence)": {1: [97.5]}, "RUM 256 (word)": {}}) == ""


def test_copying_verdict_orders_the_runs_by_the_first_evaluation_under_each_fraction_of_the_baseline():
    def run(name, losses):  # test evaluations every 1000 steps, baseline 0.1
        return {
            "name": name,
            "test": [{"step": 1000 * (i + 1), "loss": loss, "baseline_loss": 0.1} for i, loss in enumerate(losses)],
        }

    runs = [
        run("copy200_rum", [0.06, 0.04, 0.006, 0.004]),
        run("copy200_rum_lam1", [0.03, 0.004, 0.0]),
        run("copy200_lstm", [0.098, 0.097]),
    ]
    assert first_below(runs[0], 1 / 2)["step"] == 2000
    assert first_below(runs[0], 1 / 20)["step"] == 4000  # 0.006 at step 3000 is not under 0.005
    assert first_below(runs[2], 1 / 2) is None
    (text, _) = copying_verdict(runs)
    assert (
        "under half the baseline first: RUM 100, λ=1, η=N/A at step 1000; RUM 250, λ=0, η=N/A at step 2000. "
        "Under a twentieth of it: RUM 100, λ=1, η=N/A at step 2000; RUM 250, λ=0, η=N/A at step 4000."
    ) in text
    assert "Still on the baseline at the last evaluation: LSTM 250 (2000 steps)." in text


def test_a_kernel_figure_is_kept_when_its_checkpoint_is_gone(tmp_path):
    path = str(tmp_path / "kernels_copying_t200.png")
    assert kernel_collection(str(tmp_path), "copy200_rum_lam1", "RUM λ=1", path) is None  # nothing to draw
    open(path, "wb").close()  # a figure drawn earlier from that run's checkpoint
    assert kernel_collection(str(tmp_path), "copy200_rum_lam1", "RUM λ=1", path) is None  # no such run here
    os.makedirs(tmp_path / "copy200_rum_lam1")
    open(tmp_path / "copy200_rum_lam1" / "config.json", "w").write("{}")  # its records, archived without kernels
    assert kernel_collection(str(tmp_path), "copy200_rum_lam1", "RUM λ=1", path) == f"![RUM λ=1]({path})"


def test_the_committed_records_stay_small_and_read_back_compressed():
    """results/ (records and figures) stays under 8 MiB: metrics are archived gzipped, and read back as is. (4 MiB
    until three seeds of Table 4's three models, 120 bAbI records of 10-40 KB each, came in.)"""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(root) for f in files)
    assert size < 8 * 2**20, f"results/ holds {size / 2**20:.1f} MiB"
    runs = [d for d in os.listdir(os.path.join(root, "runs")) if os.path.isdir(os.path.join(root, "runs", d))]
    assert runs and not any(os.path.exists(os.path.join(root, "runs", d, "metrics.jsonl")) for d in runs)
    assert read_metrics(os.path.join(root, "runs", "recall30_rum"), "test")[-1]["step"] == 20000


def test_read_metrics_reads_a_gzipped_record_as_the_plain_one(tmp_path):
    import gzip
    import json

    lines = [{"step": 1, "split": "train", "loss": 2.0}, {"step": 1, "split": "test", "loss": 1.5}]
    text = "".join(json.dumps(r) + "\n" for r in lines)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "metrics.jsonl").write_text(text)
    (tmp_path / "gz").mkdir()
    (tmp_path / "gz" / "metrics.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    assert read_metrics(str(tmp_path / "gz")) == read_metrics(str(tmp_path / "plain")) == lines
    assert read_metrics(str(tmp_path / "gz"), "test") == lines[1:]


def test_the_archive_keeps_a_record_that_reaches_further_than_a_rerun(tmp_path):
    import gzip
    import json

    from scripts.report.records import archive

    def write(folder, steps, gz=False):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
        text = "".join(json.dumps({"step": s, "split": "test", "accuracy": 0.5}) + "\n" for s in steps)
        if gz:
            (folder / "metrics.jsonl.gz").write_bytes(gzip.compress(text.encode()))
        else:
            (folder / "metrics.jsonl").write_text(text)

    write(tmp_path / "kept" / "recall30_rum", [500, 1000], gz=True)
    write(tmp_path / "runs" / "recall30_rum", [500])  # restarted: behind the record
    write(tmp_path / "runs" / "recall30_lstm", [500, 1000])  # new
    assert archive([str(tmp_path / "runs")], str(tmp_path / "kept")) == ["recall30_lstm"]
    assert read_metrics(str(tmp_path / "kept" / "recall30_rum"))[-1]["step"] == 1000
    assert read_metrics(str(tmp_path / "kept" / "recall30_lstm"))[-1]["step"] == 1000


def _fake_ptb_run(runs, name: str, final_bpc: float | None, budget: float = 1200.0, step: int = 500) -> None:
    """A PTB workdir's records only: config.json and metrics.jsonl, finished at its time budget with a final
    test BPC (None: stopped before the budget, no final test)."""
    import json

    workdir = runs / name
    workdir.mkdir(parents=True)
    config = {"num_steps": 10**6, "time_budget_s": budget, "batch_size": 128, "task_options": {"seq_len": 150}}
    (workdir / "config.json").write_text(json.dumps({**config, "task_options": {**config["task_options"]}}))
    wall = budget if final_bpc is not None else budget / 2
    records = [
        {"step": step, "split": "valid", "wall_time": wall, "bpc": 2.0, "loss": 1.4},
        {"step": step, "split": "test", "wall_time": wall, "bpc": 2.0, "loss": 1.4},
    ]
    if final_bpc is not None:
        records.append({"step": step, "split": "final_test", "wall_time": wall, "bpc": final_bpc, "loss": 1.4})
    (workdir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_ptb_seeds_section_calls_a_pair_won_only_when_the_seeds_ranges_do_not_overlap(tmp_path):
    from scripts.report.seeds import ptb_seeds_section

    runs = tmp_path / "runs"
    for seed, (rum, lstm) in enumerate(((2.10, 2.15), (2.12, 2.16), (2.11, 2.18))):
        _fake_ptb_run(runs, f"ptb_cpu_seed{seed}_rum", rum)
        _fake_ptb_run(runs, f"ptb_cpu_seed{seed}_lstm", lstm)
    for seed, (rum, lstm) in enumerate(((1.70, 1.74), (1.75, 1.72))):  # seed 2 not run; ranges overlap
        _fake_ptb_run(runs, f"ptb_fs_seed{seed}_rum2", rum, 7200.0)
        _fake_ptb_run(runs, f"ptb_fs_seed{seed}_lstm2", lstm, 7200.0)
    text = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path)))
    cpu, fs = text.split("### FS-RUM-2")
    assert "RUM 128 (λ=0, η=1.0, LN on u) 2.110 ± 0.010 (range 2.100–2.120)" in cpu
    assert "so RUM 128 (λ=0, η=1.0, LN on u) wins on it" in cpu
    assert "| LN-LSTM 93 | 2 | 500 (" in cpu and "| 2.180 |" in cpu
    assert "| FS-RUM-2, fast 175, slow RUM 250 | 2 | not run |" in fs
    assert "No verdict yet: 2 and 2 of 3 seeds" in fs and "wins" not in fs
    _fake_ptb_run(runs, "ptb_fs_seed2_rum2", 1.71, 7200.0)
    _fake_ptb_run(runs, "ptb_fs_seed2_lstm2", 1.73, 7200.0)
    fs = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path))).split("### FS-RUM-2")[1]
    assert "Within seed spread" in fs and "neither wins" in fs  # 1.70–1.75 against 1.72–1.74


def test_a_pair_whose_budget_bought_more_steps_in_one_seed_says_so(tmp_path):
    """A wall-time budget buys the steps the machine allows: where a model's steps differ by more than 5% between
    seeds, the section says that its spread holds the machine's speed, naming each model's range."""
    from scripts.report.seeds import ptb_seeds_section

    runs = tmp_path / "runs"
    for seed, (rum_steps, lstm_steps) in enumerate(((2751, 2651), (3251, 3181))):
        _fake_ptb_run(runs, f"ptb_fs_seed{seed}_rum2", 1.70, 7200.0, rum_steps)
        _fake_ptb_run(runs, f"ptb_fs_seed{seed}_lstm2", 1.72, 7200.0, lstm_steps)
    _fake_ptb_run(runs, "ptb_fs_seed2_rum2", None, 7200.0, 9000)  # unfinished: not counted
    fs = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path))).split("### FS-RUM-2")[1]
    assert "differ between seeds (FS-RUM-2, fast 175, slow RUM 250 2751–3251; FS-LSTM-2, fast 175" in fs
    assert "slow LN-LSTM 197 2651–3181)" in fs
    even = tmp_path / "even"
    for seed, (rum_steps, lstm_steps) in enumerate(((2751, 2651), (2800, 2700))):  # within 5%: no sentence
        _fake_ptb_run(even, f"ptb_fs_seed{seed}_rum2", 1.70, 7200.0, rum_steps)
        _fake_ptb_run(even, f"ptb_fs_seed{seed}_lstm2", 1.72, 7200.0, lstm_steps)
    assert "differ between seeds" not in "\n".join(ptb_seeds_section(str(even), "RUNS", str(tmp_path)))


def test_a_pair_whose_runs_differ_in_page_size_gets_no_verdict_on_time(tmp_path):
    """2 MiB pages (training/huge_pages.py) change a run's speed: with a wall-time budget, what it trains to. A
    pair where only some runs had them is not called, and the hardware column says which had them."""
    import json

    from scripts.report.records import hardware, hardware_of, load_run
    from scripts.report.seeds import ptb_seeds_section

    runs = tmp_path / "runs"
    for seed, (rum, lstm) in enumerate(((2.10, 2.15), (2.12, 2.16), (2.11, 2.18))):
        _fake_ptb_run(runs, f"ptb_cpu_seed{seed}_rum", rum)
        _fake_ptb_run(runs, f"ptb_cpu_seed{seed}_lstm", lstm)
    info = {"platform": "cpu", "cpu_count": 2, "cpus_allowed": 1, "thp_mode": "madvise"}
    for seed in range(3):
        for part, tunables in (("rum", "glibc.malloc.hugetlb=1"), ("lstm", None)):
            (runs / f"ptb_cpu_seed{seed}_{part}" / "run_info.json").write_text(
                json.dumps({**info, "glibc_tunables": tunables})
            )
    assert hardware(load_run(str(runs), "ptb_cpu_seed0_rum")) == "CPU, 1 of 2 cores, 2 MiB pages"
    assert hardware(load_run(str(runs), "ptb_cpu_seed0_lstm")) == "CPU, 1 of 2 cores"
    pair = [load_run(str(runs), f"ptb_cpu_seed0_{part}") for part in ("rum", "lstm")]
    assert hardware_of(pair) == "CPU, 1 of 2 cores; 1 of the 2 runs with 2 MiB pages"
    assert hardware_of(pair[:1]) == "CPU, 1 of 2 cores, 2 MiB pages" and hardware_of(pair[1:]) == "CPU, 1 of 2 cores"
    cpu = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path))).split("### FS-RUM-2")[0]
    assert "No verdict on time: ptb_cpu_seed0_rum, ptb_cpu_seed1_rum, ptb_cpu_seed2_rum ran with 2 MiB" in cpu
    assert "wins" not in cpu  # the BPC ranges are disjoint, but the runs were not on one footing
    for seed in range(3):  # the same pages everywhere: the verdict is back
        (runs / f"ptb_cpu_seed{seed}_lstm" / "run_info.json").write_text(
            json.dumps({**info, "glibc_tunables": "glibc.malloc.hugetlb=1"})
        )
    cpu = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path))).split("### FS-RUM-2")[0]
    assert "wins on it" in cpu and "No verdict on time" not in cpu


def test_babi_models_are_compared_on_the_20_task_mean_only_with_every_seed_complete():
    """Table 4's seeded models pair by pair: a win only where the seeds' 20-task means do not overlap (RUM's
    72–74 against LSTM's 66–68), within seed spread where they do, no verdict while a seed misses tasks."""
    from scripts.report.babi import mean_comparisons

    def model(means, tasks=20):  # {seed: {task: accuracy}} whose 20-task mean is `mean`
        return {seed: {t: m for t in range(1, tasks + 1)} for seed, m in enumerate(means)}

    text = mean_comparisons({"RUM": model([72, 73, 74]), "LSTM": model([66, 67, 68])}, seeds=3)
    assert "RUM against LSTM: RUM has the lower 20-task mean error in every seed" in text and "RUM wins" in text
    text = mean_comparisons({"RUM": model([72, 73, 74]), "MemN2N": model([70, 73, 88])}, seeds=3)
    assert "Within seed spread" in text and "neither wins" in text
    partial = model([72, 73]) | {2: {t: 74.0 for t in range(1, 19)}}  # seed 2 has 18 of 20 tasks
    text = mean_comparisons({"RUM": partial, "LSTM": model([66, 67, 68])}, seeds=3)
    assert "No verdict yet: 2 and 3 of 3 seeds" in text


def _has_colour(png: str, hex_colour: str, tolerance: int = 12) -> bool:
    """Whether some pixel of `png` is within `tolerance` of `hex_colour` in every channel."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return bool(np.any(np.all(np.abs(pixels - target) <= tolerance, axis=-1)))


def test_the_babi_figure_draws_every_seed_of_every_model_beside_the_paper(tmp_path):
    from scripts.report.plots import task_scores

    path = str(tmp_path / "tasks.png")
    one = {"RUM": {t: [70.0, 72.0, 74.0] for t in range(1, 21)}}
    assert (
        task_scores(one, {"RUM": {t: 80.0 for t in range(1, 21)}}, "bAbI 10k", path)
        == f"![bAbI 10k test accuracy per task and seed]({path})"
    )
    assert _has_colour(path, "#1f77b4") and not _has_colour(path, "#ff7f0e")  # C0 only
    two = one | {"LSTM": {3: [40.0]}}  # one task of one seed is enough to be drawn
    task_scores(two, {}, "bAbI 10k", path)
    assert _has_colour(path, "#1f77b4") and _has_colour(path, "#ff7f0e")


def test_the_seed_sections_draw_one_curve_per_seed(tmp_path):
    from scripts.report.seeds import ptb_seeds_section

    runs = tmp_path / "runs"
    _fake_ptb_run(runs, "ptb_cpu_seed0_rum", 2.10)
    text = "\n".join(ptb_seeds_section(str(runs), "RUNS", str(tmp_path)))
    path = tmp_path / "ptb_cpu_seeds.png"
    assert f"![PTB, RUM 128 against LN-LSTM 93]({path})" in text and "ptb_fs_seeds.png" not in text
    assert _has_colour(str(path), "#1f77b4") and not _has_colour(str(path), "#ff7f0e")
    _fake_ptb_run(runs, "ptb_cpu_seed1_lstm", 2.15, budget=600.0)  # its point beside the RUM's
    ptb_seeds_section(str(runs), "RUNS", str(tmp_path))
    assert _has_colour(str(path), "#ff7f0e")  # the LSTM's seed, in the second colour


def test_readme_gives_a_ptb_pair_over_its_seeds_once_two_have_finished(tmp_path):
    from scripts.report.summary import _ptb_seeds

    runs = tmp_path / "runs"
    assert _ptb_seeds(str(runs), "ptb_cpu", "rum") == "not run"
    _fake_ptb_run(runs, "ptb_cpu_seed0_rum", 2.10)
    _fake_ptb_run(runs, "ptb_cpu_seed1_rum", None)  # stopped before its budget: no final test
    assert _ptb_seeds(str(runs), "ptb_cpu", "rum") == "2.100 (1 of 3 seeds, `ptb.char` stream)"
    _fake_ptb_run(runs, "ptb_cpu_seed2_rum", 2.12)
    assert (
        _ptb_seeds(str(runs), "ptb_cpu", "rum") == "2.110 ± 0.014 (2 seeds, `ptb.char` stream)"
    )  # as saved before task_options.files
