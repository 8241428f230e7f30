"""A Markdown table from benchmark rows (the form of every table in benchmarks/README.md), printed and saved."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence


def markdown_table(columns: Sequence[tuple[str, Callable[[dict], str]]], rows: Sequence[dict]) -> str:
    """One line per row: `columns` is [(heading, row -> cell text)], in order."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows]
    return "\n".join(lines)


def show(table: str, record, json_path: str | None) -> None:
    """Print `table` after a blank line; write `record` (the rows, or a dict holding them) to `json_path` if given."""
    print()
    print(table)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(record, f, indent=2)
