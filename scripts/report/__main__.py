"""The command line of scripts.report (see the package docstring)."""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile

from scripts.report import __doc__ as DOC
from scripts.report.document import readme_with_summary, results_md, sections
from scripts.report.records import archive

RECORDS = "results/runs"  # the records committed with the repo: what --check regenerates RESULTS.md from


def check(out: str, figures: str, readme: str | None = None) -> list[str]:
    """The names of the sections of `out` that differ from RESULTS.md regenerated from RECORDS alone
    (figures drawn into a scratch folder, so the check writes nothing), sections no longer generated
    included; with `readme`, also "README.md summary" when its results table differs."""
    with tempfile.TemporaryDirectory() as scratch:
        for png in glob.glob(os.path.join(figures, "*.png")):  # figures kept from runs whose checkpoints are gone
            shutil.copy(png, scratch)
        fresh = results_md([RECORDS], "RUNS", scratch).replace(scratch + os.sep, figures.rstrip("/") + "/")
    committed = open(out).read() if os.path.exists(out) else ""
    want, have = sections(fresh), sections(committed)
    differ = [name for name in want if want[name] != have.get(name)]
    differ += [f"{name} (not generated)" for name in have if name not in want]
    if not differ and fresh != committed:
        differ.append("(text outside the sections)")
    if readme is not None:
        text = open(readme).read()
        if readme_with_summary(text, [RECORDS]) != text:
            differ.append(f"{readme} summary")
    return differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--runs",
        nargs="+",
        default=[RECORDS],
        help="folders holding the experiments' workdirs "
        f"or archived records, searched in this order (default: {RECORDS})",
    )
    parser.add_argument("--runs-label", default="RUNS", help="how commands name the runs folder")
    parser.add_argument("--out", default="RESULTS.md")
    parser.add_argument("--figures", default="results")
    parser.add_argument(
        "--readme",
        default="README.md",
        help="whose <!-- report:summary --> section gets the results table ('' for none)",
    )
    parser.add_argument("--archive", help="copy the runs' records (no checkpoints) into this folder and stop")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"regenerate --out from {RECORDS} alone, in memory, "
        "and exit 1 naming every section that differs from the file",
    )
    args = parser.parse_args(argv)
    if args.archive:
        names = archive(args.runs, args.archive)
        print(f"copied the records of {len(names)} runs into {args.archive}/")
        return 0
    if args.check:
        differ = check(args.out, args.figures, args.readme or None)
        if differ:
            print(
                f"{args.out} differs from its regeneration from {RECORDS} in: {', '.join(differ)}. "
                f"Regenerate it with `python -m scripts.report` (after archiving new runs with "
                f"`python -m scripts.report --runs DIR --archive {RECORDS}`).",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} matches its regeneration from {RECORDS}.")
        return 0
    os.makedirs(args.figures, exist_ok=True)
    with open(args.out, "w") as f:
        f.write(results_md(args.runs, args.runs_label, args.figures))
    written = [args.out]
    if args.readme:
        text = readme_with_summary(open(args.readme).read(), args.runs)  # before opening README for writing
        with open(args.readme, "w") as f:
            f.write(text)
        written.append(f"the results table of {args.readme}")
    print(f"wrote {' and '.join(written)}, and figures in {args.figures}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
