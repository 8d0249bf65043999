"""`delai whatif --log`: a what-if logged for audit in its own MLflow run."""

from __future__ import annotations

from typing import Any

import polars as pl

from forecasting.schema import BACKLOG, QUANTILE_DAYS, SERVICE, TOTAL, VARIANT
from forecasting.tracking import (
    log_dict,
    log_figure,
    log_frame,
    log_metrics,
    log_params,
    set_tags,
    tracked_run,
)
from forecasting.whatif.result import GoalSeekResult, ScenarioResult

WHATIF_EXPERIMENT = "delai-whatif"


def log_scenario_run(
    result: ScenarioResult,
    *,
    figure: Any,
    model_uri: str,
    model_version: str,
    goal_seek: GoalSeekResult | None = None,
) -> str:
    """Log a what-if for audit in its own run: the scenario, its parameters, the weekly and
    recovery tables, the chart, and (for a goal seek) the answer. Returns the run's id.

    Call `configure_tracking(settings, WHATIF_EXPERIMENT)` first. Only aggregate figures are
    logged: a scenario holds no application, so no identifier can reach the store.
    """
    scenario = result.scenario
    scenario_rows = result.weekly.filter(pl.col(SERVICE) == TOTAL)
    tags = {"delai.command": "whatif", "delai.scenario": scenario.name[:250]}
    with tracked_run("whatif-goal-seek" if goal_seek else "whatif", tags=tags) as run_id:
        log_params(
            {
                "scenario": scenario.name,
                "start": scenario.start,
                "horizon_weeks": scenario.horizon_weeks,
                "changes": len(scenario.changes),
                "kinds": ",".join(sorted({c.kind for c in scenario.changes})) or "none",
                "segments": "all" if scenario.segments is None else len(scenario.segments),
                "standard": (
                    f"{scenario.standard.share:g} within {scenario.standard.business_days} "
                    "business days"
                    if scenario.standard
                    else "none"
                ),
                "n_paths": result.n_paths,
                "model_uri": model_uri,
                "model_version": model_version,
                "as_of": result.as_of,
            }
        )
        metrics: dict[str, float | None] = {}
        for variant, rows in scenario_rows.group_by(VARIANT):
            peaks = rows.select(pl.col(BACKLOG).max(), pl.col(QUANTILE_DAYS[1]).max()).row(0)
            metrics[f"{variant[0]}.peak_backlog"] = peaks[0]
            metrics[f"{variant[0]}.max_p80_days"] = peaks[1]
        if goal_seek is not None:
            metrics["goal_seek.staff"] = goal_seek.staff
            set_tags({"goal_seek.reachable": goal_seek.reachable, "goal_seek.unit": goal_seek.unit})
            log_dict(
                {k: v for k, v in goal_seek.to_dict().items() if k != "result"},
                "whatif/goal_seek.json",
            )
        log_metrics(metrics)
        log_dict(scenario.model_dump(mode="json"), "whatif/scenario.json")
        log_frame(result.weekly, "whatif/weekly.csv")
        log_frame(result.recovery, "whatif/recovery.csv")
        log_figure(figure, "whatif/chart.png")
    return run_id
