"""The applications contract: every row accepted or quarantined, with reasons that add up."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from forecasting.contract import validate_applications
from forecasting.errors import DataContractError
from forecasting.schema import (
    APPLICATIONS_SCHEMA,
    COMPLETED_ON,
    DELIVERED_ON,
    PRIORITIES,
    SOURCE_ROW,
    SUBMITTED_ON,
)

AS_OF = date(2026, 6, 30)


def _raw(**columns: list[object]) -> pl.LazyFrame:
    return pl.LazyFrame(columns, schema=dict.fromkeys(columns, pl.String))


def test_clean_rows_are_accepted_with_defaults() -> None:
    raw = _raw(
        application_id=["a1", "a2"],
        service=["passport_adult", " ei_regular "],
        channel=["online", "mail"],
        submitted_at=["2026-01-05", "2026-02-01T09:30:00-05:00"],
        completed_at=["2026-01-20", None],
    )
    result = validate_applications(raw, as_of=AS_OF)
    expected = pl.DataFrame(
        {
            "service": ["passport_adult", "ei_regular"],
            "channel": ["online", "mail"],
            "region": ["all", "all"],
            "priority": ["regular", "regular"],
            "submitted_on": [date(2026, 1, 5), date(2026, 2, 1)],
            "completed_on": [date(2026, 1, 20), None],
            "delivered_on": [None, None],
            "closed_on": [None, None],
        },
        schema=APPLICATIONS_SCHEMA,
    )
    assert_frame_equal(result.applications, expected)
    assert result.report.quarantined == 0
    assert result.report.reconciles


@pytest.mark.parametrize(
    ("row", "reason", "detail"),
    [
        ({"application_id": None}, "missing_application_id", "`application_id` must be"),
        ({"submitted_at": None}, "missing_submitted_at", "`submitted_at` must be"),
        ({"submitted_at": "05/01/2026"}, "unparseable_submitted_at", "got '05/01/2026'"),
        ({"submitted_at": "2026-02-30"}, "unparseable_submitted_at", "got '2026-02-30'"),
        ({"service": "  "}, "empty_service", "`service` must be a non-empty"),
        ({"channel": ""}, "empty_channel", "`channel` must be a non-empty"),
        ({"completed_at": "soon"}, "unparseable_completed_at", "got 'soon'"),
        ({"priority": "vip"}, "unknown_priority", "got 'vip'"),
        (
            {"submitted_at": "2027-01-01"},
            "submitted_at_after_as_of",
            "`submitted_at` must be a date no later than 2026-06-30, got 2027-01-01",
        ),
        ({"completed_at": "2026-07-01"}, "completed_at_after_as_of", "no later than 2026-06-30"),
        (
            {"completed_at": "2026-01-01"},
            "completed_before_submitted",
            "`completed_at` must be on or after `submitted_at` (2026-01-05), got 2026-01-01",
        ),
        (
            {"completed_at": "2026-01-20", "delivered_at": "2026-01-19"},
            "delivered_before_completed",
            "`delivered_at` must be on or after `completed_at`",
        ),
        ({"delivered_at": "2026-01-19"}, "delivered_without_completed", "`completed_at` must"),
        ({"closed_at": "later"}, "unparseable_closed_at", "got 'later'"),
        ({"closed_at": "2026-07-01"}, "closed_at_after_as_of", "no later than 2026-06-30"),
        (
            {"closed_at": "2026-01-04"},
            "closed_before_submitted",
            "`closed_at` must be on or after `submitted_at` (2026-01-05), got 2026-01-04",
        ),
        (
            {"completed_at": "2026-01-20", "closed_at": "2026-01-21"},
            "completed_and_closed",
            "`closed_at` must be empty for a completed file",
        ),
    ],
)
def test_each_rule_quarantines_with_a_reason_that_names_the_field(
    row: dict[str, str | None], reason: str, detail: str
) -> None:
    good = {
        "application_id": "good",
        "service": "passport_adult",
        "channel": "online",
        "submitted_at": "2026-01-05",
        "completed_at": None,
        "delivered_at": None,
        "priority": None,
        "closed_at": None,
    }
    bad = {**good, "application_id": "bad", **row}
    raw = _raw(**{k: [good[k], bad[k]] for k in good})
    result = validate_applications(raw, as_of=AS_OF)
    assert result.report.accepted == 1
    assert result.report.by_reason == {reason: 1}
    quarantined = result.quarantine.row(0, named=True)
    assert quarantined["reason"] == reason
    assert quarantined[SOURCE_ROW] == 1
    assert detail in quarantined["detail"]


def test_every_copy_of_a_duplicate_id_is_quarantined_and_ids_never_leave() -> None:
    raw = _raw(
        application_id=["SIN-123-456-789", "x", "SIN-123-456-789"],
        service=["s"] * 3,
        channel=["c"] * 3,
        submitted_at=["2026-01-01"] * 3,
    )
    result = validate_applications(raw, as_of=AS_OF, salt="pepper")
    assert result.report.by_reason == {"duplicate_application_id": 2}
    assert result.quarantine.get_column(SOURCE_ROW).to_list() == [0, 2]
    keys = result.quarantine.get_column("application_key").to_list()
    assert keys[0] == keys[1] and "SIN" not in keys[0]
    everything = result.quarantine.write_csv() + str(result.applications.to_dicts())
    assert "SIN-123-456-789" not in everything


def test_typed_parquet_style_columns_are_accepted(tmp_path) -> None:
    raw = pl.LazyFrame(
        {
            "application_id": ["a", "b"],
            "service": ["s", "s"],
            "channel": ["c", "c"],
            "submitted_at": [date(2026, 1, 1), date(2026, 1, 2)],
            "completed_at": pl.Series([None, "2026-01-09T12:00:00"]).str.to_datetime(),
        }
    )
    result = validate_applications(raw, as_of=AS_OF)
    assert result.applications.get_column(COMPLETED_ON).to_list() == [None, date(2026, 1, 9)]


def test_missing_required_column_is_one_clear_error() -> None:
    raw = _raw(application_id=["a"], service=["s"], submitted_at=["2026-01-01"])
    with pytest.raises(DataContractError, match=r"`channel` must be a column of the applications"):
        validate_applications(raw, as_of=AS_OF)


_dates = st.one_of(
    st.none(),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)).map(date.isoformat),
    st.sampled_from(["", "not a date", "2026-13-01", "2026-03-04T10:00:00Z"]),
)
_rows = st.fixed_dictionaries(
    {
        "application_id": st.one_of(st.none(), st.sampled_from(list("abcdefghijklmnop"))),
        "service": st.sampled_from(["passport_adult", "ei_regular", "", None]),
        "channel": st.sampled_from(["online", "mail", " ", None]),
        "region": st.sampled_from(["ON", "QC", None, ""]),
        "submitted_at": _dates,
        "completed_at": _dates,
        "delivered_at": _dates,
        "priority": st.sampled_from([None, "regular", "URGENT", "vip"]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_rows, min_size=0, max_size=40))
def test_any_table_every_row_is_accepted_or_quarantined(rows: list[dict[str, str | None]]) -> None:
    raw = pl.LazyFrame(rows, schema=dict.fromkeys(_ROW_NAMES, pl.String))
    result = validate_applications(raw, as_of=AS_OF)
    report = result.report
    assert report.rows_read == len(rows)
    assert report.accepted + report.quarantined == len(rows)
    assert sum(report.by_reason.values()) == report.quarantined
    sources = result.quarantine.get_column(SOURCE_ROW).to_list()
    assert len(set(sources)) == len(sources) and all(0 <= s < len(rows) for s in sources)
    accepted = result.applications
    assert accepted.schema == APPLICATIONS_SCHEMA
    assert accepted.filter(
        pl.col(SUBMITTED_ON).is_null()
        | (pl.col(SUBMITTED_ON) > AS_OF)
        | (pl.col(COMPLETED_ON) < pl.col(SUBMITTED_ON))
        | (pl.col(DELIVERED_ON) < pl.col(COMPLETED_ON))
        | (pl.col(DELIVERED_ON).is_not_null() & pl.col(COMPLETED_ON).is_null())
        | (pl.col(COMPLETED_ON) > AS_OF)
        | ~pl.col("priority").is_in(PRIORITIES)
        | pl.col("service").is_null()
        | pl.col("channel").is_null()
    ).is_empty()
    good_ids = [r["application_id"] for r in rows if r["application_id"]]
    duplicated = {i for i in good_ids if good_ids.count(i) > 1}
    assert report.by_reason.get("duplicate_application_id", 0) == sum(
        1 for r in rows if r["application_id"] in duplicated
    )


_ROW_NAMES = [
    "application_id",
    "service",
    "channel",
    "region",
    "submitted_at",
    "completed_at",
    "delivered_at",
    "priority",
]
