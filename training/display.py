"""Terminal tables: the backtest summary, the promotion decision, stage timings, what-ifs.

The summary is printed one table per request kind, with short wrapped headers, so that all its
columns fit an 80-column terminal (rich would otherwise truncate names or drop columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import polars as pl
from rich import box
from rich.table import Table

from forecasting import registry
from forecasting.backtest import INTERVAL_COLUMNS, KIND
from forecasting.promotion import PromotionDecision
from forecasting.schema import (
    BACKLOG,
    BACKLOG_HI,
    BACKLOG_LO,
    BASELINE_VARIANT,
    PRE_CHANGE_BACKLOG,
    RECOVERY_WEEK,
    SCENARIO_VARIANT,
    SERVICE,
    SHARE_WITHIN_STANDARD,
    TOTAL,
    VARIANT,
    VARIANTS,
    WEEK_ARRIVALS,
    WEEK_COMPLETIONS,
    WEEK_START,
)
from training import console

if TYPE_CHECKING:
    from forecasting.whatif import GoalSeekResult, ScenarioResult

# Files not yet finished and the bounds over origins are in the logged summary; the terminal
# shows what fits 80 columns.
_HIDDEN = (
    "n_censored",
    "coverage_p50",
    *INTERVAL_COLUMNS,
)
_HEADERS = {
    "mae_p50": "MAE P50 days",
    "pinball": "pinball",
    "coverage_p80": "cover P80",
    "coverage_p90": "cover P90",
    "width_p50_p90": "P90-P50 days",
    "mae_ratio": "MAE / base",
}
# Coverage and ratios need three decimals to be read; days need two at most.
_DECIMALS = {"coverage_p80": 3, "coverage_p90": 3, "mae_ratio": 3}


def print_summary(summary: pl.DataFrame, *, title: str) -> None:
    """One table per request kind (new files, open files), models as rows."""
    if KIND not in summary.columns:
        _print_table(summary.drop(_HIDDEN, strict=False), title=title)
        return
    for kind in summary.get_column(KIND).unique(maintain_order=True).to_list():
        part = summary.filter(pl.col(KIND) == kind).drop(KIND, *_HIDDEN, strict=False)
        _print_table(part, title=f"{title}: {kind} files")


def print_decision(decision: PromotionDecision, *, run_id: str) -> None:
    verb = "[bold green]promoted[/]" if decision.promoted else "[bold yellow]not promoted[/]"
    console.out.print(
        f"{decision.model_name} v{decision.candidate_version} {verb} to @{registry.CHAMPION}: "
        f"{decision.reason}",
        highlight=False,
    )
    console.out.print(f"  run {run_id}", highlight=False)


def print_timings(seconds: Mapping[str, float]) -> None:
    table = Table(title="Time per stage", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, value in seconds.items():
        table.add_row(stage, f"{value:,.2f}")
    table.add_row("[bold]total[/]", f"[bold]{sum(seconds.values()):,.2f}[/]")
    console.out.print(table)


def _print_table(frame: pl.DataFrame, *, title: str) -> None:
    cells = [
        [_cell(name, value) for name, value in row.items()] for row in frame.iter_rows(named=True)
    ]
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
    )
    for i, (name, dtype) in enumerate(frame.schema.items()):
        header = _HEADERS.get(name, name)
        # Widest value or header word, plus one for rich: headers wrap, values never do.
        width = max([len(row[i]) for row in cells] + [len(w) for w in header.split()]) + 1
        table.add_column(header, justify="right" if dtype.is_numeric() else "left", width=width)
    for row in cells:
        table.add_row(*row)
    console.out.print(table)


def _cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{_DECIMALS.get(name, 2)}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_whatif(result: ScenarioResult) -> None:
    """Weekly totals, baseline beside scenario, then when the open files are back down."""
    totals = result.weekly.filter(pl.col(SERVICE) == TOTAL)
    by_variant = {v: totals.filter(pl.col(VARIANT) == v).sort(WEEK_START) for v in VARIANTS}
    base, plan = by_variant[BASELINE_VARIANT], by_variant[SCENARIO_VARIANT]
    share = result.scenario.standard is not None
    table = Table(
        title=f"{result.scenario.name}: every segment, baseline | scenario",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("week of")
    for header in ("arrivals", "completed", "open at end", "open 10-90 %", "P80 days"):
        table.add_column(header, justify="right")
    if share:
        standard = result.scenario.standard
        assert standard is not None
        table.add_column(f"within {standard.business_days} bd", justify="right")
    for b, s in zip(base.iter_rows(named=True), plan.iter_rows(named=True), strict=True):
        row = [
            str(s[WEEK_START]),
            f"{b[WEEK_ARRIVALS]:,.0f} | {s[WEEK_ARRIVALS]:,.0f}",
            f"{b[WEEK_COMPLETIONS]:,.0f} | {s[WEEK_COMPLETIONS]:,.0f}",
            f"{b[BACKLOG]:,.0f} | {s[BACKLOG]:,.0f}",
            f"{s[BACKLOG_LO]:,.0f}-{s[BACKLOG_HI]:,.0f}",
            f"{b['p80_days']:.0f} | {s['p80_days']:.0f}",
        ]
        if share:
            row.append(f"{b[SHARE_WITHIN_STANDARD]:.0%} | {s[SHARE_WITHIN_STANDARD]:.0%}")
        table.add_row(*row)
    console.out.print(table)
    recovery = result.recovery.filter(pl.col(SERVICE) == TOTAL)
    for row in recovery.iter_rows(named=True):
        when = row[RECOVERY_WEEK]
        back = f"back to it in the week of {when}" if when else "not back to it within the horizon"
        console.out.print(
            f"  {row[VARIANT]}: {row[PRE_CHANGE_BACKLOG]:,.0f} files open before the first "
            f"change, {back}",
            highlight=False,
        )


def print_goal_seek(answer: GoalSeekResult) -> None:
    colour = "green" if answer.reachable else "yellow"
    console.out.print(f"[bold {colour}]goal seek:[/] {answer.message}", highlight=False)
