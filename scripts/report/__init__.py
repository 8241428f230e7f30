"""RESULTS.md and its figures, regenerated from the runs' records; one module per section.

    python -m scripts.report --runs /work/runs --archive results/runs   # copy the runs' records into the repo
    python -m scripts.report                                            # RESULTS.md from results/runs
    python -m scripts.report --check                                    # exit 1 if RESULTS.md differs (CI)

Every number comes from a run's metrics.jsonl, config.json and run_info.json (and, for the kernel
figures, the kernels.npz the archive draws from its checkpoint); the paper's numbers are quoted from
the paper, with the table cited beside them. A run is looked up in each --runs folder in turn; runs
that are missing are listed as not run; a run still in progress is reported at its latest evaluation
and marked so.

records.py loads runs and archives them, plots.py draws, and recall.py, copying.py, babi.py, ptb.py
write their sections; document.py puts RESULTS.md together; __main__.py is the command line.
"""
