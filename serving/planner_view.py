"""What the planner page shows of a what-if: weekly totals side by side, two charts, and sentences.

The engine answers per segment and in total; the page shows the totals of the applications the
planner chose. Figures are rounded only here, for reading; the API gives them unrounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from markupsafe import Markup

from forecasting.schema import (
    BACKLOG,
    BACKLOG_HI,
    BACKLOG_LO,
    BASELINE_VARIANT,
    P80_DAYS_HI,
    P80_DAYS_LO,
    PRE_CHANGE_BACKLOG,
    QUANTILE_DAYS,
    RECOVERY_WEEK,
    SCENARIO_VARIANT,
    SEGMENT,
    SHARE_WITHIN_STANDARD,
    TOTAL,
    VARIANT,
    WEEK_ARRIVALS,
    WEEK_COMPLETIONS,
    WEEK_START,
)
from serving.chart import Series, line_chart
from serving.i18n import Lang, day_count, label, long_date, percent, t, whole_number

P50_DAYS, P80_DAYS = QUANTILE_DAYS[0], QUANTILE_DAYS[1]


@dataclass(frozen=True)
class Pair:
    """One figure without the changes (baseline) and with them (scenario)."""

    baseline: float | None
    scenario: float | None


@dataclass(frozen=True)
class Week:
    """One row of the table: a week's figures, with the scenario's ranges over intake paths."""

    start: date
    arrivals: Pair
    completions: Pair
    backlog: Pair
    p50_days: Pair
    p80_days: Pair
    share: Pair
    backlog_range: tuple[float | None, float | None]
    p80_range: tuple[float | None, float | None]


@dataclass(frozen=True)
class View:
    weeks: tuple[Week, ...]
    sentences: tuple[str, ...]
    backlog_chart: Markup
    p80_chart: Markup
    has_standard: bool


def totals(weekly: pl.DataFrame) -> tuple[Week, ...]:
    """The total rows (service, channel and region all "all"), baseline and scenario paired."""
    rows = weekly.filter(*(pl.col(c) == TOTAL for c in SEGMENT)).sort(WEEK_START)
    by_week: dict[date, dict[str, Mapping[str, Any]]] = {}
    for row in rows.iter_rows(named=True):
        by_week.setdefault(row[WEEK_START], {})[row[VARIANT]] = row
    weeks = []
    for start, variants in sorted(by_week.items()):
        base = variants.get(BASELINE_VARIANT, {})
        scen = variants.get(SCENARIO_VARIANT, {})

        def pair(column: str, b: Mapping[str, Any] = base, s: Mapping[str, Any] = scen) -> Pair:
            return Pair(b.get(column), s.get(column))

        weeks.append(
            Week(
                start=start,
                arrivals=pair(WEEK_ARRIVALS),
                completions=pair(WEEK_COMPLETIONS),
                backlog=pair(BACKLOG),
                p50_days=pair(P50_DAYS),
                p80_days=pair(P80_DAYS),
                share=pair(SHARE_WITHIN_STANDARD),
                backlog_range=(scen.get(BACKLOG_LO), scen.get(BACKLOG_HI)),
                p80_range=(scen.get(P80_DAYS_LO), scen.get(P80_DAYS_HI)),
            )
        )
    return tuple(weeks)


def build_view(
    weekly: pl.DataFrame,
    recovery: pl.DataFrame,
    standard: Mapping[str, float] | None,
    lang: Lang,
    *,
    chart_prefix: str = "chart",
) -> View:
    """The table rows, the two charts and the sentences that read the result aloud."""
    weeks = totals(weekly)
    if not weeks:
        raise ValueError("`weekly` must hold total rows (service, channel, region 'all'), got none")
    return View(
        weeks=weeks,
        sentences=tuple(sentences(weeks, recovery, standard, lang)),
        backlog_chart=_chart(
            weeks, "backlog", lambda w: (w.backlog, w.backlog_range), lang, chart_prefix
        ),
        p80_chart=_chart(weeks, "p80", lambda w: (w.p80_days, w.p80_range), lang, chart_prefix),
        has_standard=standard is not None,
    )


def sentences(
    weeks: Sequence[Week],
    recovery: pl.DataFrame,
    standard: Mapping[str, float] | None,
    lang: Lang,
) -> list[str]:
    """The result in words: backlog at the end, the P80 of the last cohort with one, the standard
    and when the backlog recovers."""
    out = []
    last = weeks[-1]
    if last.backlog.baseline is not None and last.backlog.scenario is not None:
        out.append(
            t(
                "planner.result.backlog",
                lang,
                scenario=count(last.backlog.scenario, lang),
                baseline=count(last.backlog.baseline, lang),
            )
        )
    cohort = next(
        (w for w in reversed(weeks) if None not in (w.p80_days.baseline, w.p80_days.scenario)),
        None,
    )
    if cohort is not None:
        out.append(
            t(
                "planner.result.p80",
                lang,
                week=long_date(cohort.start, lang),
                scenario=days(cohort.p80_days.scenario, lang),
                baseline=days(cohort.p80_days.baseline, lang),
            )
        )
    if standard is not None:
        out.extend(_standard_sentences(weeks, cohort, standard, lang))
    out.extend(_recovery_sentences(recovery, lang))
    return out


def _standard_sentences(
    weeks: Sequence[Week], cohort: Week | None, standard: Mapping[str, float], lang: Lang
) -> list[str]:
    out = []
    target = standard_text(standard, lang)
    within = day_count(int(standard["business_days"]), lang, business=True)
    if cohort is not None and None not in (cohort.share.baseline, cohort.share.scenario):
        out.append(
            t(
                "planner.result.share",
                lang,
                scenario=percent(float(cohort.share.scenario or 0), lang),
                baseline=percent(float(cohort.share.baseline or 0), lang),
                days=within,
                target=target,
            )
        )
    met = next(
        (
            w
            for w in weeks
            if w.share.scenario is not None and w.share.scenario >= float(standard["share"])
        ),
        None,
    )
    if met is None:
        out.append(t("planner.result.standard_not_met", lang))
    else:
        out.append(t("planner.result.standard_met", lang, week=long_date(met.start, lang)))
    return out


def _recovery_sentences(recovery: pl.DataFrame, lang: Lang) -> list[str]:
    """When the scenario's total backlog is back at its level before the first change."""
    total = recovery.filter(
        *(pl.col(c) == TOTAL for c in SEGMENT), pl.col(VARIANT) == SCENARIO_VARIANT
    )
    if total.is_empty():
        return []
    row = total.row(0, named=True)
    level = row.get(PRE_CHANGE_BACKLOG)
    if level is None:
        return []
    week = row.get(RECOVERY_WEEK)
    if week is None:
        return [t("planner.result.no_recovery", lang, backlog=count(level, lang))]
    return [
        t(
            "planner.result.recovery",
            lang,
            backlog=count(level, lang),
            week=long_date(week, lang),
        )
    ]


def standard_text(standard: Mapping[str, float], lang: Lang) -> str:
    """80% within 20 business days / 80 % en 20 jours ouvrables au plus."""
    return t(
        "planner.standard.text",
        lang,
        share=percent(float(standard["share"]), lang),
        days=day_count(int(standard["business_days"]), lang, business=True),
    )


def count(value: float, lang: Lang) -> str:
    """A number of applications, rounded for reading."""
    return whole_number(round(value), lang)


def days(value: float | None, lang: Lang) -> str:
    return day_count(round(value or 0), lang)


def scope_text(service: str, channel: str, region: str, lang: Lang) -> str:
    """The applications a what-if covers, in words."""
    chosen = {"service": service, "channel": channel, "region": region}
    if all(value == TOTAL for value in chosen.values()):
        return t("planner.scope.all", lang)
    parts = []
    for kind, value in chosen.items():
        if value == TOTAL:
            text = t(f"planner.all.{kind}", lang)
            parts.append(text[0].lower() + text[1:])
        else:
            parts.append(label(kind, value, lang))
    return t("planner.scope.some", lang, choices=", ".join(parts))


def short_date(day: date, lang: Lang) -> str:
    """5 May / 5 mai: a chart's week label (the table gives the full date)."""
    return long_date(day, lang).rsplit(" ", 1)[0]


def _chart(
    weeks: Sequence[Week],
    kind: str,
    pick: Callable[[Week], tuple[Pair, tuple[float | None, float | None]]],
    lang: Lang,
    prefix: str,
) -> Markup:
    pairs = [pick(w) for w in weeks]
    baseline = [p.baseline for p, _ in pairs]
    scenario = [p.scenario for p, _ in pairs]
    band = ([r[0] for _, r in pairs], [r[1] for _, r in pairs])
    show = (lambda v: count(v, lang)) if kind == "backlog" else (lambda v: days(v, lang))

    def ends(values: list[float | None]) -> tuple[str, str]:
        known = [v for v in values if v is not None]
        none = t("planner.chart.none", lang)
        return (show(known[0]), show(known[-1])) if known else (none, none)

    b_first, b_last = ends(baseline)
    s_first, s_last = ends(scenario)
    description = t(
        f"planner.chart.{kind}.desc",
        lang,
        baseline_first=b_first,
        baseline_last=b_last,
        scenario_first=s_first,
        scenario_last=s_last,
    )
    return line_chart(
        chart_id=f"{prefix}-{kind}",
        title=t(f"planner.chart.{kind}.title", lang),
        description=description,
        weeks=[w.start for w in weeks],
        series=[Series("baseline", baseline), Series("scenario", scenario, band)],
        week_label=lambda d: short_date(d, lang),
        value_label=lambda v: whole_number(round(v), lang),
    )
