"""What the commands print: rich tables for people, JSON for scripts, one line per error.

Tables and JSON go to stdout; progress bars and error lines go to stderr, so
`smsgw ... --json | jq` always reads clean JSON. In JSON mode a refusal from the
gateway also prints its error envelope on stdout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from smsgw_cli.client import ApiFailure

EMPTY = "—"


class Output:
    """The two consoles of one command run and its mode (`as_json`)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))

    def line(self, text: str, style: str | None = None) -> None:
        self.out.print(text, style=style, markup=False, soft_wrap=True)

    def table(self, table: Table) -> None:
        self.out.print(table)

    def warning(self, text: str) -> None:
        self.err.print(text, style="yellow", markup=False, soft_wrap=True)

    def failure(self, failure: ApiFailure) -> None:
        """One line on stderr, naming the status and the contract's code."""
        if self.as_json and failure.body is not None:
            self.json(failure.body)
        self.err.print(failure.one_line(), style="bold red", markup=False, soft_wrap=True)


def cell(value: Any) -> str:
    """A JSON value as a table shows it: nothing as a dash, numbers with thin grouping."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if isinstance(value, float):
        text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
        return text.replace(",", " ")
    if isinstance(value, list):
        return "\n".join(cell(v) for v in value) or EMPTY
    return str(value)


def record(title: str | None, rows: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table: one field per row."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("champ", style="bold")
    table.add_column("valeur", overflow="fold")
    for name, value in rows:
        table.add_row(name, cell(value))
    return table


def grid(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
         right: Sequence[str] = ()) -> Table:
    """A table with a header row; the columns named in `right` are numbers."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    return table
