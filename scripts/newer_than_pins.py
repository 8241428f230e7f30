"""The direct dependencies whose installed version differs from constraints.txt's pin, one per line.

    python -m scripts.newer_than_pins              # the versions installed in this environment
    python -m scripts.newer_than_pins REPORT.json  # the versions of a `pip install --dry-run --report`

Direct: what pyproject.toml names for the library and its train and test extras. `make test-newest` asks
pip which releases it would install without constraints (a dry run, seconds), and installs them and runs
the fast tier only where this prints something: where it prints nothing, the newest releases are the
pinned ones, which `make test-all` already ran.
"""

from __future__ import annotations

import json
import os
import re
import sys
from importlib import metadata

import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): case, '-', '_' and '.' do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_dependencies(extras: tuple[str, ...] = ("train", "test")) -> list[str]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    requirements = project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]
    return sorted({canonical(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements})


def pins(path: str = os.path.join(ROOT, "constraints.txt")) -> dict[str, str]:
    with open(path) as f:
        lines = [line.split("#")[0].strip() for line in f]
    return {canonical(n): v for n, _, v in (line.partition("==") for line in lines if "==" in line)}


def differing(installed=metadata.version) -> list[str]:
    """ "name installed (constraints.txt: pin)" for each direct dependency whose version is not its pin."""
    pinned = pins()
    return [
        f"{name} {installed(name)} (constraints.txt: {pinned.get(name, 'not pinned')})"
        for name in direct_dependencies()
        if installed(name) != pinned.get(name)
    ]


def report_versions(path: str):
    """The `installed(name)` of a pip dry-run report: the version pip would install (None if none)."""
    with open(path) as f:
        versions = {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in json.load(f)["install"]}
    return versions.get


if __name__ == "__main__":
    print("\n".join(differing(report_versions(sys.argv[1]) if len(sys.argv) > 1 else metadata.version)))
