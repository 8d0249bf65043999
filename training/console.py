"""Terminal output for the CLI: reports as rich tables, progress bars, one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from forecasting.quarantine import QuarantineReport

out = Console()
err = Console(stderr=True)


def fail(message: str) -> None:
    """Print a one-line error (no traceback) to stderr."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar; yields `update(done, total)` for the work to call."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextmanager
def spinner(description: str) -> Iterator[None]:
    with err.status(description):
        yield


def print_report(report: QuarantineReport, *, quarantine_path: str | None) -> None:
    as_of = f" as of {report.as_of}" if report.as_of else ""
    out.print(f"[bold]{report.table}[/]{as_of}: {report.rows_read:,} rows read")
    out.print(f"  accepted     {report.accepted:>10,}")
    out.print(f"  quarantined  {report.quarantined:>10,}")
    for reason, count in report.by_reason.items():
        out.print(f"    {reason:<34} {count:>10,}")
    status = "reconciles" if report.reconciles else "DOES NOT reconcile"
    out.print(f"  accepted + quarantined = rows read: {status}")
    if quarantine_path:
        out.print(f"  quarantine file: {quarantine_path}")


def print_frame(frame: pl.DataFrame, *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else _fmt(v) for v in row))
    out.print(table)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
