"""The `delai` command line: simulate, validate, train, backtest, predict, serve, what-ifs, demo.

Logging is configured here, in the entry point, and nowhere else. Commands that touch MLflow
import it lazily, so `delai validate` does not pay for it.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from forecasting.capacity import validate_capacity
from forecasting.contract import validate_applications
from forecasting.errors import DelaiError
from forecasting.settings import Settings
from forecasting.summary import segment_summary
from forecasting.tables import scan_table
from training import arguments, console

app = typer.Typer(
    help="delai: processing-time estimates for public services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[
    Path, typer.Option("--data", help="Applications: CSV, Parquet, or a folder of Parquet files.")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="The date the data is as of (default: today).")
]


def _parse_date(value: str, field: str) -> date:
    return arguments.parse_date(value, field)


def quarantine_path_for(data: Path) -> Path:
    """Where the quarantine file goes: next to the data, named after it."""
    stem = data.name if data.is_dir() else data.stem
    return data.parent / f"{stem}.quarantine.csv"


@app.command()
def validate(
    data: DataOption,
    as_of: AsOfOption = None,
    capacity: Annotated[
        Path | None, typer.Option(help="Optional capacity table to validate as well.")
    ] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Where to write quarantined rows (default: next to data).")
    ] = None,
) -> None:
    """Check applications against the contract; write refused rows, with reasons, to a file."""
    settings = Settings()
    as_of_day = _parse_date(as_of, "--as-of") if as_of else date.today()
    with console.spinner(f"validating {data}"):
        result = validate_applications(
            scan_table(data), as_of=as_of_day, salt=settings.id_salt.get_secret_value()
        )
    target = quarantine or quarantine_path_for(data)
    _write_quarantine(result.quarantine, target)
    console.print_report(result.report, quarantine_path=str(target))
    if capacity is not None:
        cap = validate_capacity(scan_table(capacity, field="capacity"))
        cap_target = quarantine_path_for(capacity)
        _write_quarantine(cap.quarantine, cap_target)
        console.print_report(cap.report, quarantine_path=str(cap_target))
    if result.report.accepted:
        summary = segment_summary(result.applications, as_of=as_of_day)
        console.print_frame(summary, title="Segments (processing days of completed files)")


def _write_quarantine(frame: pl.DataFrame, target: Path) -> None:
    try:
        frame.write_csv(target)
    except OSError as exc:
        raise DelaiError(
            f"`--quarantine` must be a writable path, got '{target}' ({exc.strerror}); "
            "pass --quarantine to write it elsewhere"
        ) from None


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write applications/capacity Parquet to.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 7,
    scenario: Annotated[str, typer.Option(help="steady, surge, outage or hiring.")] = "steady",
    start: Annotated[str | None, typer.Option(help="First day (default: 3 years ago).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (default: today).")] = None,
    scale: Annotated[float, typer.Option(help="Multiplies demand and staffing.")] = 1.0,
) -> None:
    """Simulate a passport and benefits operation: the demo data and the ground truth."""
    from forecasting.simulate import simulate as run_simulation
    from forecasting.simulate import write_simulation

    end_day = _parse_date(end, "--end") if end else date.today()
    start_day = _parse_date(start, "--start") if start else end_day - timedelta(days=3 * 365)
    with console.progress_bar(f"simulating {scenario}") as update:
        result = run_simulation(
            start=start_day,
            end=end_day,
            seed=seed,
            scenario=scenario,
            scale=scale,
            progress=update,
        )
    written = write_simulation(result, out)
    console.out.print(
        f"simulated {result.applications.height:,} applications ({scenario}, seed {seed}, "
        f"{start_day} to {end_day})"
    )
    for name, path in written.items():
        console.out.print(f"  {name}: {path}")


@app.command()
def demo(
    data_dir: Annotated[Path | None, typer.Option(help="Where demo data lives.")] = None,
) -> None:
    """What `make run` does: make demo data if there is none, then validate and summarise it."""
    settings = Settings()
    folder = data_dir or settings.data_dir
    applications = folder / "applications.parquet"
    if not applications.exists():
        console.out.print(f"no data in {folder}: simulating a steady operation")
        simulate(out=folder, seed=7, scenario="steady", start=None, end=None, scale=1.0)
    capacity = folder / "capacity.parquet"
    validate(
        data=applications,
        as_of=None,
        capacity=capacity if capacity.exists() else None,
        quarantine=None,
    )


CapacityOption = Annotated[
    Path | None, typer.Option("--capacity", help="Optional capacity table (staff hours).")
]
ExperimentOption = Annotated[
    str | None, typer.Option("--experiment", help="MLflow experiment (default: delai).")
]
StepOption = Annotated[str, typer.Option("--step", help="Days between origins: 7d, 2w, ...")]


@app.command()
def train(
    data: DataOption,
    capacity: CapacityOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Train as of this date (default: the data's latest date)."),
    ] = None,
    experiment: ExperimentOption = None,
    origins: Annotated[int, typer.Option("--origins", help="Backtest origins.")] = 12,
    step: StepOption = "7d",
    candidates: Annotated[
        str, typer.Option("--candidates", help="Models the forecaster chooses among, per segment.")
    ] = "queue_projection,kaplan_meier,boosted_quantiles",
) -> None:
    """Validate, backtest, fit, log to MLflow, register, and promote if it beats the champion."""
    from forecasting.models import MODELS
    from training import display
    from training.train import train as run_training

    outcome = run_training(
        data,
        settings=Settings(),
        capacity=capacity,
        as_of=_parse_date(as_of, "--as-of") if as_of else None,
        experiment=experiment,
        origins=origins,
        step_days=arguments.parse_step(step),
        candidates=arguments.parse_names(candidates, "--candidates", allowed=tuple(MODELS)),
        progress=console.progress_bar,
    )
    window = outcome.origins.origins
    console.out.print(
        f"trained as of {outcome.as_of}; backtest: {len(window)} origins {window[0]} to "
        f"{window[-1]} ({outcome.origins.horizon_days}-day horizon)"
    )
    display.print_summary(outcome.summary, title="Backtest (forecaster = the per-segment choice)")
    console.out.print(
        f"forecaster pinball_ratio vs published baseline: {outcome.pinball_ratio:.4f}"
    )
    display.print_decision(outcome.decision, run_id=outcome.run_id)
    display.print_timings(outcome.timings)


@app.command()
def backtest(
    data: DataOption,
    start: Annotated[str, typer.Option("--start", help="First as-of date (ISO).")],
    end: Annotated[str, typer.Option("--end", help="Last as-of date (ISO).")],
    step: StepOption = "7d",
    capacity: CapacityOption = None,
    experiment: ExperimentOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the long frame here (.csv or .parquet).")
    ] = None,
) -> None:
    """Rolling-origin backtest of every model; prints the summary and logs it to MLflow."""
    from training import display
    from training.backtesting import run_backtest

    outcome = run_backtest(
        data,
        settings=Settings(),
        start=_parse_date(start, "--start"),
        end=_parse_date(end, "--end"),
        step_days=arguments.parse_step(step),
        capacity=capacity,
        experiment=experiment,
        out=out,
        progress=console.progress_bar,
    )
    display.print_summary(outcome.summary, title="Backtest")
    console.out.print(f"run {outcome.run_id}" + (f"; long frame: {out}" if out else ""))
    display.print_timings(outcome.timings)


@app.command()
def predict(
    input_path: Annotated[
        Path, typer.Option("--input", help="Requests: service, channel, region, submitted_on.")
    ],
    output_path: Annotated[Path, typer.Option("--output", help="Where to write the answers.")],
    model_uri: Annotated[
        str | None,
        typer.Option("--model-uri", help="Model to use (default: models:/<model_name>@champion)."),
    ] = None,
) -> None:
    """Estimate completion dates for a file of requests; bad rows get an error, not a crash."""
    from training.predict import predict_file

    outcome = predict_file(input_path, output_path, model_uri=model_uri, settings=Settings())
    console.out.print(
        f"{outcome.rows:,} requests answered ({outcome.errors:,} with an error) by "
        f"{outcome.model.model_uri} (version {outcome.model.model_version}, as of "
        f"{outcome.model.as_of}) -> {output_path}",
        highlight=False,
    )
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in outcome.seconds.items())
    console.out.print(f"  {timings}", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the estimates API and status page (the registry's champion, reloaded when it moves)."""
    import uvicorn

    from serving.app import create_app

    settings = Settings()
    base = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    console.out.print(
        f"status page: {base}/status  (français : {base}/statut)", highlight=False, soft_wrap=True
    )
    console.out.print(f"API docs:    {base}/docs", highlight=False)
    # One worker: the estimate table lives in this process. No access log: query strings stay
    # out of the logs, and /metrics counts requests by route instead.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        workers=1,
        access_log=False,
        log_config=None,
        server_header=False,
    )


@app.command()
def whatif(
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="A scenario: JSON or YAML file.")
    ] = None,
    goal_seek: Annotated[
        Path | None,
        typer.Option("--goal-seek", help="A goal seek (a scenario, dates, where staff go)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the weekly CSV, JSON and PNG chart.")
    ] = None,
    model_uri: Annotated[
        str | None,
        typer.Option("--model-uri", help="Model to use (default: models:/<model_name>@champion)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Move every date of the file so that it starts on this day."),
    ] = None,
    paths: Annotated[
        int, typer.Option("--paths", help="Sampled intake paths behind the 10-90 % bands.")
    ] = 200,
    log: Annotated[bool, typer.Option("--log", help="Log the run to MLflow for audit.")] = False,
) -> None:
    """Run a planner's what-if (or a goal seek) against the champion: weekly table and chart."""
    from training.whatif import read_request, run_whatif

    asked = read_request(scenario, goal_seek, _parse_date(start, "--start") if start else None)
    from training import display

    outcome = run_whatif(
        asked, settings=Settings(), model_uri=model_uri, n_paths=paths, out=out, log=log
    )
    console.out.print(
        f"model {outcome.model.model_uri} (version {outcome.model.model_version}, as of "
        f"{outcome.model.as_of})",
        highlight=False,
    )
    if outcome.goal_seek is not None:
        display.print_goal_seek(outcome.goal_seek)
    if outcome.result is not None:
        display.print_whatif(outcome.result)
    for name, path in outcome.written.items():
        console.out.print(f"  {name}: {path}", highlight=False)
    if outcome.run_id:
        console.out.print(f"  logged to MLflow run {outcome.run_id}", highlight=False)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except DelaiError as exc:
        console.fail(str(exc))
        raise SystemExit(2) from None
