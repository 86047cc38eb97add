"""A table that fits where it is printed: rich's boxed table at a terminal, plain aligned columns in a
pipe or a file (no cell is ever cut: ``0.63…`` in a log is a number lost), TSV or markdown on request.

Cells are plain strings (no rich markup: a name from a CSV is shown as written).
"""
from __future__ import annotations

import sys

from .console import is_terminal

TABLE_FORMATS = ("table", "tsv", "md")  # table: rich at a terminal, plain columns otherwise


def _one_line(cell: str) -> str:
    return " ".join(str(cell).replace("\t", " ").split("\n")).strip()


def plain_lines(columns: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; each row on one line."""
    cells = [[_one_line(c) for c in columns]] + [[_one_line(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]


def tsv_lines(columns: list[str], rows: list[list[str]]) -> list[str]:
    return ["\t".join(_one_line(c) for c in r) for r in [columns, *rows]]


def md_lines(columns: list[str], rows: list[list[str]]) -> list[str]:
    def line(r):
        return "| " + " | ".join(_one_line(c).replace("|", "\\|") for c in r) + " |"

    return [line(columns), "|" + "|".join("---" for _ in columns) + "|", *map(line, rows)]


def show_table(title: str, columns: list[str], rows: list[list[str]], fmt: str = "table",
               notes: list[str] = (), stream=None) -> None:
    """Print a table: ``fmt`` table (rich at a terminal, plain columns elsewhere), tsv or md. ``notes``
    follow it (not in TSV, which stays pure data)."""
    stream = stream or sys.stdout
    if fmt == "table" and is_terminal(stream):
        from rich.table import Table

        from .console import make_console

        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(str(c) for c in row))
        console = make_console(stream=stream)  # literal text: no markup to escape
        console.print(table)
        for note in notes:
            console.print(note, soft_wrap=True)
        return
    if fmt == "tsv":
        lines = tsv_lines(columns, rows)
    elif fmt == "md":
        lines = [f"**{title}**", "", *md_lines(columns, rows), "", *notes]
    else:
        lines = [title, *plain_lines(columns, rows), *notes]
    stream.write("\n".join(lines) + "\n")
    stream.flush()
