"""A Markdown table from benchmark rows: the form of every table in benchmarks/README.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def markdown_table(columns: Sequence[tuple[str, Callable[[dict], str]]], rows: Sequence[dict]) -> str:
    """One line per row: `columns` is [(heading, row -> cell text)], in order."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows]
    return "\n".join(lines)
