"""Rule-based split of a table into accepted and quarantined rows, with counts that reconcile.

Each row gets at most one reason, the first rule it breaks, so the per-reason counts add up
to the quarantined total and, with the accepted rows, to the rows read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from forecasting.schema import REASON, SOURCE_ROW

DETAIL = "detail"


@dataclass(frozen=True)
class Rule:
    """A named check: rows where `broken` is true are quarantined with `reason` and `detail`."""

    reason: str
    broken: pl.Expr
    detail: pl.Expr


@dataclass(frozen=True)
class QuarantineReport:
    """What a validation saw: rows read, accepted, quarantined, and why."""

    table: str
    rows_read: int
    accepted: int
    quarantined: int
    by_reason: dict[str, int] = field(default_factory=dict)
    as_of: date | None = None

    @property
    def reconciles(self) -> bool:
        return (
            self.accepted + self.quarantined == self.rows_read
            and sum(self.by_reason.values()) == self.quarantined
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "table": self.table,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "by_reason": dict(self.by_reason),
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }


def first_broken_rule(rules: list[Rule]) -> tuple[pl.Expr, pl.Expr]:
    """Expressions giving, per row, the first broken rule's reason and detail (null if none)."""
    reason: pl.Expr = pl.lit(None, dtype=pl.String)
    detail: pl.Expr = pl.lit(None, dtype=pl.String)
    for rule in reversed(rules):
        reason = pl.when(rule.broken.fill_null(False)).then(pl.lit(rule.reason)).otherwise(reason)
        detail = pl.when(rule.broken.fill_null(False)).then(rule.detail).otherwise(detail)
    return reason, detail


def split(
    checked: pl.DataFrame, *, table: str, as_of: date | None
) -> tuple[pl.DataFrame, pl.DataFrame, QuarantineReport]:
    """Split a frame carrying REASON and DETAIL columns into (accepted, quarantined, report)."""
    is_bad = pl.col(REASON).is_not_null()
    quarantined = checked.filter(is_bad).sort(SOURCE_ROW)
    accepted = checked.filter(~is_bad).drop(REASON, DETAIL)
    counts = quarantined.group_by(REASON).len().sort(["len", REASON], descending=[True, False])
    by_reason = {str(r): int(n) for r, n in counts.iter_rows()}
    report = QuarantineReport(
        table=table,
        rows_read=checked.height,
        accepted=accepted.height,
        quarantined=quarantined.height,
        by_reason=by_reason,
        as_of=as_of,
    )
    return accepted, quarantined, report
