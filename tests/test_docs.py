"""README.md's and docs/'s python blocks run as written, each on its own (a fresh namespace: every block
imports what it uses), so the examples a user copies cannot rot."""

import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
# blocks that read the team's offline data copy, which a machine may not have: they run where it is
NEEDS_DATA = {"docs/data.md": os.path.join(ROOT, "..", "shared", "data", "babi")}


def blocks():
    for page in PAGES:
        text = open(os.path.join(ROOT, page)).read()
        if "file_format: mystnb" in text:  # the executed tutorial: `make docs` runs it (CI too)
            continue
        for i, m in enumerate(BLOCK.finditer(text)):
            yield pytest.param(page, m.group(1), id=f"{page}[{i}]")


def test_readme_has_examples_to_run():
    assert sum(1 for p in blocks() if p.values[0] == "README.md") >= 2


@pytest.mark.parametrize("page, code", list(blocks()))
def test_a_python_block_runs_on_its_own(page, code, tmp_path, monkeypatch):
    data = NEEDS_DATA.get(page)
    if data and not os.path.isdir(data):
        pytest.skip(f"{page}'s example reads {data}, which this machine lacks")
    monkeypatch.setenv("HOME", str(tmp_path))  # examples that write under ~ write here
    monkeypatch.chdir(ROOT if data else tmp_path)
    exec(compile(code, f"{page} block", "exec"), {"__name__": "__example__"})


def test_readme_links_are_absolute():
    """PyPI shows README.md as the project page, where a relative link (docs/x.md) is broken: every link
    target is absolute (http/https) or an anchor; files of the checkout are named as paths."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t for t in targets if not t.startswith(("http://", "https://", "#"))]
    assert not relative, f"README.md links relatively to {relative}"
