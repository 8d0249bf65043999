"""Event logs to applications: formats, activity rules, attributes, errors and the real logs."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.errors import DataContractError
from forecasting.eventlog import EventLogMapping, events_to_applications, read_events
from forecasting.real_logs import REAL_LOGS
from forecasting.schema import (
    APPLICATION_ID,
    CHANNEL,
    CLOSED_AT,
    COMPLETED_AT,
    CONTRACT_COLUMNS,
    DELIVERED_AT,
    PRIORITY,
    REGION,
    SERVICE,
    SUBMITTED_AT,
)
from forecasting.xes import ACTIVITY, CASE_ID, CASE_PREFIX, TIMESTAMP, read_xes

ROME = ZoneInfo("Europe/Rome")
OFFICE = "office"
CASE_CHANNEL = f"{CASE_PREFIX}channel"

# (case, activity, local time in Rome, office, channel): one small log, written in every format.
EVENTS = [
    ("A4", "Decide", datetime(2024, 2, 28), None, "post"),  # before its submission: not a decision
    ("A1", "Submit", datetime(2024, 3, 1), None, "web"),
    ("A2", "Submit", datetime(2024, 3, 2), None, "desk"),
    ("A3", "Review", datetime(2024, 3, 3, 9), "south", "web"),  # never submitted
    ("A1", "Review", datetime(2024, 3, 4, 10), "north", "web"),
    ("A2", "Review", datetime(2024, 3, 5), None, "desk"),  # still open
    ("A4", "Submit", datetime(2024, 3, 5), "east", "post"),
    ("A1", "Review", datetime(2024, 3, 6), "west", "web"),  # a later office does not count
    ("A1", "Decide", datetime(2024, 3, 10), None, "web"),
    ("A1", "Notify", datetime(2024, 3, 12, 9), None, "web"),
    ("A3", "Decide", datetime(2024, 3, 20), None, "web"),
    ("A4", "Decide", datetime(2024, 4, 2), None, "post"),  # after the switch to summer time
    ("A4", "Decide", datetime(2024, 4, 9), None, "post"),
]

MAPPING = EventLogMapping(
    start_activities=("Submit",),
    end_activities=("Decide",),
    delivered_activities=("Notify",),
    attributes={REGION: OFFICE, CHANNEL: CASE_CHANNEL},
    constants={SERVICE: "permit"},
    timezone="Europe/Rome",
)


def _applications(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    """Expected output from (id, channel, region, submitted, completed, delivered[, closed])
    rows."""
    local = pl.Datetime("us")
    frame = pl.DataFrame(
        [row if len(row) == 7 else (*row, None) for row in rows],
        schema={
            APPLICATION_ID: pl.String,
            CHANNEL: pl.String,
            REGION: pl.String,
            SUBMITTED_AT: local,
            COMPLETED_AT: local,
            DELIVERED_AT: local,
            CLOSED_AT: local,
        },
        orient="row",
    )
    return frame.with_columns(
        pl.lit("permit").alias(SERVICE), pl.lit(None, dtype=pl.String).alias(PRIORITY)
    ).select(CONTRACT_COLUMNS)


EXPECTED = _applications(
    [
        # Rows come in the order of each case's earliest event.
        ("A4", "post", "east", datetime(2024, 3, 5), datetime(2024, 4, 2), None),
        (
            "A1",
            "web",
            "north",
            datetime(2024, 3, 1),
            datetime(2024, 3, 10),
            datetime(2024, 3, 12, 9),
        ),
        ("A2", "desk", None, datetime(2024, 3, 2), None, None),
        ("A3", "web", "south", None, datetime(2024, 3, 20), None),
    ]
)


def _iso(local: datetime) -> str:
    return local.replace(tzinfo=ROME).isoformat(timespec="milliseconds")


def _events_frame() -> pl.DataFrame:
    cases, activities, times, offices, channels = zip(*EVENTS, strict=True)
    instants = [local.replace(tzinfo=ROME).astimezone(UTC) for local in times]
    return pl.DataFrame(
        {
            CASE_ID: cases,
            ACTIVITY: activities,
            TIMESTAMP: pl.Series(instants, dtype=pl.Datetime("us", "UTC")),
            OFFICE: offices,
            CASE_CHANNEL: channels,
        }
    )


def _xes_text() -> str:
    traces: dict[tuple[str, str], list[str]] = {}
    for case, activity, local, office, channel in EVENTS:
        attributes = [
            f'<string key="concept:name" value="{activity}"/>',
            f'<date key="time:timestamp" value="{_iso(local)}"/>',
        ]
        if office is not None:
            attributes.append(f'<string key="{OFFICE}" value="{office}"/>')
        traces.setdefault((case, channel), []).append(f"<event>{''.join(attributes)}</event>")
    body = "".join(
        f'<trace><string key="concept:name" value="{case}"/>'
        f'<string key="channel" value="{channel}"/>{"".join(events)}</trace>'
        for (case, channel), events in traces.items()
    )
    # Log-level attributes and globals must not leak into the events.
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">'
        '<global scope="trace"><string key="channel" value="UNKNOWN"/></global>'
        f'<string key="concept:name" value="synthetic"/>{body}</log>'
    )


def _write(path: Path) -> Path:
    name = path.name
    if name.endswith(".csv"):
        text_times = [_iso(local) for _, _, local, _, _ in EVENTS]
        _events_frame().with_columns(pl.Series(TIMESTAMP, text_times)).write_csv(path)
    elif name.endswith(".parquet"):
        _events_frame().write_parquet(path)
    elif name.endswith(".xes.gz"):
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(_xes_text())
    else:
        path.write_text(_xes_text(), encoding="utf-8")
    return path


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["events.csv", "events.parquet", "events.xes", "events.xes.gz"])
def test_every_format_gives_the_same_applications(tmp_path: Path, name: str) -> None:
    events = read_events(_write(tmp_path / name), MAPPING)
    assert_frame_equal(events_to_applications(events, MAPPING).collect(), EXPECTED)


def test_a_folder_of_parquet_files_reads_as_one_log(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    frame = _events_frame()
    frame.head(6).write_parquet(folder / "part-0.parquet")
    frame.tail(-6).write_parquet(folder / "part-1.parquet")
    applications = events_to_applications(read_events(folder, MAPPING), MAPPING)
    assert_frame_equal(applications.collect(), EXPECTED)


def test_csv_keeps_case_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("case_id,activity,timestamp\n007,Submit,2024-03-01T10:00:00+01:00\n")
    mapping = EventLogMapping(constants={SERVICE: "permit", CHANNEL: "web"})
    applications = events_to_applications(read_events(path, mapping), mapping).collect()
    assert applications.get_column(APPLICATION_ID).to_list() == ["007"]


# --- activity rules ----------------------------------------------------------------------------


def test_without_activities_the_first_event_submits_and_the_last_completes() -> None:
    mapping = replace(MAPPING, start_activities=None, end_activities=None)
    applications = events_to_applications(_events_frame().lazy(), mapping).collect()
    expected = pl.DataFrame(
        {
            APPLICATION_ID: ["A4", "A1", "A2", "A3"],
            SUBMITTED_AT: [datetime(2024, 2, 28), datetime(2024, 3, 1), datetime(2024, 3, 2)]
            + [datetime(2024, 3, 3, 9)],
            COMPLETED_AT: [datetime(2024, 4, 9), datetime(2024, 3, 12, 9), datetime(2024, 3, 5)]
            + [datetime(2024, 3, 20)],
        },
        schema_overrides={SUBMITTED_AT: pl.Datetime("us"), COMPLETED_AT: pl.Datetime("us")},
    )
    assert_frame_equal(applications.select(expected.columns), expected)


def test_a_case_that_is_never_submitted_is_kept_for_the_validator_to_quarantine() -> None:
    applications = events_to_applications(_events_frame().lazy(), MAPPING).collect()
    never_submitted = applications.filter(pl.col(SUBMITTED_AT).is_null())
    assert never_submitted.get_column(APPLICATION_ID).to_list() == ["A3"]
    assert applications.height == len({case for case, *_ in EVENTS})


def test_an_end_activity_before_the_submission_does_not_complete_the_case() -> None:
    applications = events_to_applications(_events_frame().lazy(), MAPPING).collect()
    a4 = applications.filter(pl.col(APPLICATION_ID) == "A4").row(0, named=True)
    assert a4[COMPLETED_AT] == datetime(2024, 4, 2)  # not 28 Feb, not the later 9 Apr


def test_case_scope_keeps_an_id_reused_by_two_offices_apart() -> None:
    events = pl.LazyFrame(
        {
            "municipality": [1, 1, 2, 2],
            CASE_ID: ["42", "42", "42", "42"],
            ACTIVITY: ["in", "out", "in", "out"],
            TIMESTAMP: [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 5, 2, 9)],
        }
    )
    mapping = EventLogMapping(
        case_scope=("municipality",),
        attributes={REGION: "municipality"},
        constants={SERVICE: "permit", CHANNEL: "all"},
    )
    applications = events_to_applications(events, mapping).collect()
    assert applications.select(APPLICATION_ID, REGION, COMPLETED_AT).rows() == [
        ("1/42", "1", datetime(2024, 1, 5)),
        ("2/42", "2", datetime(2024, 1, 9)),
    ]


def test_a_case_quiet_long_enough_before_the_log_ends_is_closed_at_its_last_event() -> None:
    # The log ends on 9 April; A2 was submitted, reviewed on 5 March and then nothing: 35 days.
    quiet = events_to_applications(_events_frame().lazy(), replace(MAPPING, quiet_days=30))
    rows = {r[APPLICATION_ID]: r for r in quiet.collect().iter_rows(named=True)}
    assert rows["A2"][CLOSED_AT] == datetime(2024, 3, 5)
    assert rows["A2"][COMPLETED_AT] is None
    # Completed cases are not closed, whatever their last event.
    assert [rows[a][CLOSED_AT] for a in ("A1", "A3", "A4")] == [None, None, None]
    waiting = events_to_applications(_events_frame().lazy(), replace(MAPPING, quiet_days=36))
    assert waiting.collect().filter(pl.col(CLOSED_AT).is_not_null()).is_empty()


def test_without_end_activities_only_a_quiet_case_is_completed_at_its_last_event() -> None:
    mapping = replace(MAPPING, start_activities=None, end_activities=None, quiet_days=21)
    applications = events_to_applications(_events_frame().lazy(), mapping).collect()
    completed = dict(applications.select(APPLICATION_ID, COMPLETED_AT).rows())
    # A3's last event, 20 March, is 20 days before the log's end: it may only have paused.
    assert completed == {
        "A4": None,
        "A1": datetime(2024, 3, 12, 9),
        "A2": datetime(2024, 3, 5),
        "A3": None,
    }
    assert applications.get_column(CLOSED_AT).null_count() == applications.height


def test_each_scope_is_quiet_against_its_own_last_event() -> None:
    events = pl.LazyFrame(
        {
            "municipality": [1, 1, 1, 1, 2, 2],
            CASE_ID: ["a", "a", "b", "b", "c", "c"],
            ACTIVITY: ["in", "out", "in", "out", "in", "out"],
            TIMESTAMP: [datetime(2024, m, d, tzinfo=UTC) for m, d in ((1, 1), (1, 5))]
            + [datetime(2024, m, 1, tzinfo=UTC) for m in (2, 6)]
            + [datetime(2024, 1, d, tzinfo=UTC) for d in (2, 9)],
        }
    )
    mapping = EventLogMapping(
        case_scope=("municipality",),
        constants={SERVICE: "permit", CHANNEL: "all"},
        quiet_days=30,
    )
    applications = events_to_applications(events, mapping).collect()
    # Municipality 2's extract ends with case c: c may still be running; a is long quiet.
    assert dict(applications.select(APPLICATION_ID, COMPLETED_AT).rows()) == {
        "1/a": datetime(2024, 1, 5),
        "1/b": None,
        "2/c": None,
    }


# --- attributes, constants and time ----------------------------------------------------------


def test_constants_fill_every_row_and_region_defaults_to_all() -> None:
    mapping = EventLogMapping(constants={SERVICE: "fine", CHANNEL: "street", PRIORITY: "urgent"})
    applications = events_to_applications(_events_frame().lazy(), mapping).collect()
    assert applications.select(SERVICE, CHANNEL, REGION, PRIORITY).unique().rows() == [
        ("fine", "street", "all", "urgent")
    ]


@pytest.mark.parametrize(
    ("times", "timezone", "submitted"),
    [
        # Local midnight stored in UTC (the fines log): the local calendar keeps the day.
        (pl.Series([datetime(2006, 7, 23, 22, tzinfo=UTC)]), "Europe/Rome", datetime(2006, 7, 24)),
        # Timestamps without a zone are UTC.
        (pl.Series([datetime(2006, 7, 23, 22)]), "Europe/Rome", datetime(2006, 7, 24)),
        (pl.Series([datetime(2006, 7, 23, 22)]), "UTC", datetime(2006, 7, 23, 22)),
        # A bare date is a day on the log's own calendar.
        (pl.Series([date(2006, 7, 24)]), "America/New_York", datetime(2006, 7, 24)),
        (pl.Series(["2006-07-24T00:00:00+02:00"]), "Europe/Rome", datetime(2006, 7, 24)),
    ],
)
def test_times_are_read_in_the_logs_time_zone(
    times: pl.Series, timezone: str, submitted: datetime
) -> None:
    events = pl.LazyFrame({CASE_ID: ["c"], ACTIVITY: ["in"], TIMESTAMP: times})
    mapping = EventLogMapping(constants={SERVICE: "fine", CHANNEL: "all"}, timezone=timezone)
    applications = events_to_applications(events, mapping)
    assert applications.collect_schema()[SUBMITTED_AT] == pl.Datetime("us")
    assert applications.collect().item(0, SUBMITTED_AT) == submitted


# --- errors ------------------------------------------------------------------------------------


def test_a_missing_column_is_named_with_the_columns_that_exist() -> None:
    mapping = replace(MAPPING, attributes={REGION: "district", CHANNEL: CASE_CHANNEL})
    with pytest.raises(DataContractError, match=r"`district` must be a column of the event log"):
        events_to_applications(_events_frame().lazy(), mapping)
    with pytest.raises(DataContractError, match=r"got a table with columns case_id, activity"):
        events_to_applications(_events_frame().lazy(), mapping)


@pytest.mark.parametrize(
    ("name", "match"),
    [("events.json", r"unknown format '\.json'"), ("absent.xes.gz", "which does not exist")],
)
def test_unreadable_paths_are_refused(tmp_path: Path, name: str, match: str) -> None:
    if name.endswith(".json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(DataContractError, match=match):
        read_events(tmp_path / name, MAPPING)


def test_a_folder_without_parquet_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="a folder holding Parquet files"):
        read_events(tmp_path, MAPPING)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"start_activities": "Submit"}, "`start_activities` must be None or a non-empty tuple"),
        ({"end_activities": ()}, "`end_activities` must be None or a non-empty tuple"),
        ({"constants": {"colour": "red", SERVICE: "x", CHANNEL: "y"}}, "got colour"),
        ({"constants": {SERVICE: "x", CHANNEL: "y"}}, "got channel in both"),
        ({"attributes": {}, "constants": {SERVICE: "x"}}, "got nothing for channel"),
        ({"timezone": "Mars/Olympus"}, "`timezone` must be an IANA time zone"),
        ({"quiet_days": 0}, "`quiet_days` must be None or a whole number of days >= 1, got 0"),
        ({"quiet_days": "30"}, "`quiet_days` must be None or a whole number"),
        ({"quiet_days": True}, "`quiet_days` must be None or a whole number"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused(changes: dict[str, object], match: str) -> None:
    with pytest.raises(DataContractError, match=match):
        replace(MAPPING, **changes)


# --- the XES reader ----------------------------------------------------------------------------


def test_xes_attributes_keep_their_types_and_trace_attributes_are_prefixed(tmp_path: Path) -> None:
    path = tmp_path / "typed.xes"
    path.write_text(
        # No namespace, as in the BPIC 2020 files; the second trace has no events at all.
        '<log><trace><string key="concept:name" value="t1"/><int key="floor" value="3"/>'
        '<event><string key="concept:name" value="go"/>'
        '<date key="time:timestamp" value="2020-01-01T10:00:00.000+01:00"/>'
        '<int key="n" value="7"/><float key="amount" value="1.5E2"/>'
        '<boolean key="paid" value="true"/><string key="org:resource" value="r1"/>'
        '<list key="nested"><string key="inner" value="skipped"/></list></event></trace>'
        '<trace><string key="concept:name" value="t2"/></trace></log>'
    )
    expected = pl.DataFrame(
        {
            CASE_ID: ["t1", "t2"],
            ACTIVITY: ["go", None],
            TIMESTAMP: [datetime(2020, 1, 1, 9, tzinfo=UTC), None],
            "n": [7, None],
            "amount": [150.0, None],
            "paid": [True, None],
            "org:resource": ["r1", None],
            "case:floor": [3, None],
        },
        schema_overrides={TIMESTAMP: pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(read_xes(path), expected, check_column_order=False)


def test_xes_batches_join_into_the_same_frame(tmp_path: Path) -> None:
    path = _write(tmp_path / "events.xes")
    assert_frame_equal(read_xes(path, batch_size=1), read_xes(path))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('<log><trace><string key="concept:name" value="t"/><event></trace>', "well-formed XES"),
        ("<events/>", "an XES document with a <log> root"),
        ('<log><trace><string key="x" value="y"/></trace></log>', "named by a concept:name"),
    ],
)
def test_broken_xes_is_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.xes"
    path.write_text(text)
    with pytest.raises(DataContractError, match=match):
        read_xes(path)


# --- invariants --------------------------------------------------------------------------------

_EVENT = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(["Submit", "Review", "Decide"]),
    st.integers(min_value=0, max_value=60 * 24 * 90),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_EVENT, min_size=1, max_size=30), st.one_of(st.none(), st.integers(1, 3)))
def test_every_case_gives_exactly_one_row_completed_no_earlier_than_submitted(
    events: list[tuple[str, str, int]], quiet_days: int | None
) -> None:
    cases, activities, minutes = zip(*events, strict=True)
    frame = pl.LazyFrame({CASE_ID: cases, ACTIVITY: activities, TIMESTAMP: minutes}).with_columns(
        (pl.datetime(2024, 1, 1, time_zone="UTC") + pl.duration(minutes=pl.col(TIMESTAMP)))
        .dt.cast_time_unit("us")
        .alias(TIMESTAMP)
    )
    mapping = replace(
        MAPPING, attributes={}, constants={SERVICE: "x", CHANNEL: "y"}, quiet_days=quiet_days
    )
    applications = events_to_applications(frame, mapping).collect()
    assert sorted(applications.get_column(APPLICATION_ID).to_list()) == sorted(set(cases))
    both = applications.drop_nulls([SUBMITTED_AT, COMPLETED_AT])
    assert (both.get_column(COMPLETED_AT) >= both.get_column(SUBMITTED_AT)).all()
    # A case ends at most one way, and not before it began.
    assert applications.filter(
        pl.col(COMPLETED_AT).is_not_null() & pl.col(CLOSED_AT).is_not_null()
    ).is_empty()
    closed = applications.drop_nulls([SUBMITTED_AT, CLOSED_AT])
    assert (closed.get_column(CLOSED_AT) >= closed.get_column(SUBMITTED_AT)).all()


# --- the real logs (../shared/data) ------------------------------------------------------------


def _days() -> pl.Expr:
    return (pl.col(COMPLETED_AT) - pl.col(SUBMITTED_AT)).dt.total_seconds() / 86_400


def _duration_summary(applications: pl.DataFrame) -> tuple[float, float, float]:
    quantiles = applications.select(
        _days().median().alias("p50"),
        _days().quantile(0.8, "linear").alias("p80"),
        _days().quantile(0.9, "linear").alias("p90"),
    )
    return quantiles.row(0)


# Cases, cases with both dates, and median / p80 / p90 days from each folder's SOURCE.md, which
# counts every case of a log without end activities as done at its last event (no quiet rule).
# Local wall-clock durations may differ from SOURCE's UTC ones by the hour of a summer-time change.
SOURCE_FIGURES = {
    "wabo_receipt": (1_434, 1_434, (0.03, 7.93, 14.10)),
    "bpic2015_permits": (5_649, 5_649, (63.93, 132.92, 204.33)),
    "bpic2020_domestic": (10_500, 10_043, (7.41, 14.01, 20.15)),
    "bpic2020_international": (6_449, 6_187, (10.25, 19.22, 27.27)),
    "helpdesk": (4_580, 4_580, (39.86, 48.00, 53.01)),
}


@pytest.fixture(scope="module")
def real_applications(shared_data: Path) -> Callable[[str], pl.DataFrame]:
    """Each real log's applications, built once per module (the XES logs are parsed in full)."""

    @cache
    def applications(name: str) -> pl.DataFrame:
        return REAL_LOGS[name].applications(shared_data).collect()

    return applications


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(SOURCE_FIGURES))
def test_real_log_matches_its_source_figures(
    real_applications: Callable[[str], pl.DataFrame], shared_data: Path, name: str
) -> None:
    cases, completed, quantiles = SOURCE_FIGURES[name]
    log = REAL_LOGS[name]
    if log.mapping.quiet_days is None or log.mapping.end_activities is not None:
        applications = real_applications(name)
    else:
        as_in_source = replace(log.mapping, quiet_days=None)
        events = read_events(shared_data / log.path, as_in_source)
        applications = events_to_applications(events, as_in_source).collect()
    assert applications.height == cases
    assert applications.drop_nulls([SUBMITTED_AT, COMPLETED_AT]).height == completed
    assert _duration_summary(applications) == pytest.approx(quantiles, abs=0.05)


# Cases completed, closed without completion and still open at the log's end under each log's
# quiet rule (forecasting/real_logs.py gives each rule's measured reason).
QUIET_FIGURES = {
    "road_traffic_fines": (126_602, 20_070, 3_698),
    "bpic2015_permits": (5_262, 0, 387),
    "bpic2020_domestic": (10_043, 322, 0),
    "bpic2020_international": (6_187, 188, 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(QUIET_FIGURES))
def test_real_logs_close_their_quiet_cases(
    real_applications: Callable[[str], pl.DataFrame], name: str
) -> None:
    applications = real_applications(name).filter(pl.col(SUBMITTED_AT).is_not_null())
    completed = applications.get_column(COMPLETED_AT).is_not_null()
    closed = applications.get_column(CLOSED_AT).is_not_null()
    still_open = ~completed & ~closed
    assert (completed.sum(), closed.sum(), still_open.sum()) == QUIET_FIGURES[name]


@pytest.mark.realdata
def test_real_segments_come_from_the_logs_attributes(
    real_applications: Callable[[str], pl.DataFrame],
) -> None:
    wabo = real_applications("wabo_receipt")
    assert dict(wabo.get_column(CHANNEL).value_counts().rows()) == {
        "Internet": 1_250,
        "Desk": 109,
        "Post": 53,
        "e-mail": 21,
        "Intern": 1,
    }
    permits = real_applications("bpic2015_permits")
    assert dict(permits.get_column(REGION).value_counts().rows()) == {
        "1": 1_199,
        "2": 832,
        "3": 1_409,
        "4": 1_053,
        "5": 1_156,
    }


@pytest.mark.realdata
def test_real_fines_keep_their_local_calendar(shared_data: Path) -> None:
    fines = REAL_LOGS["road_traffic_fines"]
    events = read_events(shared_data / fines.path, fines.mapping).collect().lazy()
    first_to_last = replace(fines.mapping, end_activities=None, quiet_days=None)
    closed = events_to_applications(events, first_to_last).collect()
    assert closed.height == 150_370
    # SOURCE.md: created 2000-01-01 to 2013-06-18 local time; 198 / 647 / 787 days first to last.
    submitted = closed.get_column(SUBMITTED_AT)
    assert (submitted.min(), submitted.max()) == (datetime(2000, 1, 1), datetime(2013, 6, 18))
    assert _duration_summary(closed) == pytest.approx((198.0, 647.0, 787.0), abs=0.05)
    settled = events_to_applications(events, fines.mapping).collect()
    # At least every fine whose last step is a payment or credit collection (126,198) is settled.
    assert settled.get_column(COMPLETED_AT).is_not_null().sum() >= 126_198
