"""`delai validate` on adversarial files: never a traceback, and every row read is accounted for.

Hypothesis writes CSV and Parquet files with wrong types, huge values, Unicode, embedded newlines,
a byte-order mark, no rows, or no bytes at all. Each run either reports (accepted + quarantined =
rows read = rows written, the quarantine file holding the quarantined rows) or refuses the file
with a one-line error, exit code 2, that quotes no application id.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from forecasting.errors import DelaiError
from forecasting.schema import CONTRACT_COLUMNS, REQUIRED_COLUMNS
from training.cli import app

runner = CliRunner()
AS_OF = "2026-06-30"
# Ids carry a marker, so a leak into the report or an error is found by a plain search.
ID_MARK = "IDLEAK"

_HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "passport_adult",
        "online",
        "ON",
        "express",
        "URGENT",
        "2026-01-05",
        "2026-01-05T23:30:00-05:00",
        "2026-02-30",
        "2099-01-01",
        "0000-00-00",
        "9" * 40,
        "-1e308",
        "NaN",
        "null",
        "line one\nline two",
        'quote " and, comma',
        "\r\n",
        "\ufeffbom",
        "é 中文 🚀",
        "\u202eright-to-left",
        "x" * 5_000,
    ]
)
_CELLS = st.one_of(_HOSTILE_TEXT, st.text(max_size=20), st.none())
_EXTRA = st.sampled_from(["notes", "applicant_name", "", "Service", "ünïcödé", "a,b"])


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str | None]]]:
    """A header (usually with the required columns) and rows of hostile cells."""
    columns = [c for c in CONTRACT_COLUMNS if c in REQUIRED_COLUMNS or draw(st.booleans())]
    if draw(st.integers(0, 9)) == 0:  # sometimes a required column is missing
        columns.remove(draw(st.sampled_from(REQUIRED_COLUMNS)))
    columns += [e for e in draw(st.lists(_EXTRA, max_size=2, unique=True)) if e not in columns]
    count = draw(st.integers(0, 12))
    rows = []
    for _ in range(count):
        row = [draw(_CELLS) for _column in columns]
        if "application_id" in columns and draw(st.integers(0, 4)):
            # Mostly distinct, sometimes duplicated or blank, always findable if it leaks.
            row[columns.index("application_id")] = f"{ID_MARK}{draw(st.integers(0, count))}"
        rows.append(row)
    return columns, rows


def _csv_bytes(columns: list[str], rows: list[list[str | None]], *, bom: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8", "surrogatepass")


def _validate(path: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", "--data", str(path), "--as-of", AS_OF])
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # `delai` turns a DelaiError into a one-line error and exit code 2 (training.cli.main);
        # anything else would have been a traceback.
        assert isinstance(result.exception, DelaiError), repr(result.exception)
        message = str(result.exception)
        assert "\n" not in message.strip() and message.strip(), message
        assert ID_MARK not in message, message
        return 2, message
    assert result.exit_code == 0, output
    return 0, output


def _counts(output: str) -> dict[str, int]:
    found = {}
    for name in ("rows read", "accepted", "quarantined"):
        pattern = rf"([\d,]+) {name}" if name == "rows read" else rf"^\s+{name}\s+([\d,]+)"
        match = re.search(pattern, output, re.MULTILINE)
        assert match, f"no `{name}` in the report:\n{output}"
        found[name] = int(match[1].replace(",", ""))
    return found


def _check_accounted(path: Path, output: str, written: int) -> None:
    counts = _counts(output)
    assert counts["rows read"] == written, output
    assert counts["accepted"] + counts["quarantined"] == written, output
    assert "accepted + quarantined = rows read: reconciles" in output
    assert ID_MARK not in output
    quarantine = path.with_name(f"{path.stem}.quarantine.csv")
    held = pl.read_csv(quarantine, infer_schema=False)
    assert held.height == counts["quarantined"]
    # Ids are kept only as salted hashes.
    assert ID_MARK not in quarantine.read_text(encoding="utf-8", errors="replace")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=tables(), bom=st.booleans())
def test_hostile_csv_is_reported_or_refused_never_crashes(
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[list[str], list[list[str | None]]],
    bom: bool,
) -> None:
    columns, rows = table
    path = tmp_path_factory.mktemp("csv") / "applications.csv"
    path.write_bytes(_csv_bytes(columns, rows, bom=bom))
    code, output = _validate(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        assert code == 2 and f"`{missing[0]}` must be a column" in output
    else:
        assert code == 0, output
        _check_accounted(path, output, len(rows))


_TYPED = st.sampled_from(
    [
        pl.Series([1, -(2**63), 2**63 - 1], dtype=pl.Int64),
        pl.Series([1.5, float("inf"), float("nan")]),
        pl.Series([True, False, None]),
        pl.Series([date(2026, 1, 5), date(1, 1, 1), date(9999, 12, 31)]),
        pl.Series([datetime(2026, 1, 5, 23, 30), datetime(1970, 1, 1), None]),
        pl.Series(["2026-01-05", "\n", "🚀"]),
        pl.Series([b"\x00\xff", b"", None], dtype=pl.Binary),
        pl.Series([[1], [], None], dtype=pl.List(pl.Int64)),
        pl.Series([None, None, None], dtype=pl.Null),
    ]
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    typed=st.dictionaries(st.sampled_from(CONTRACT_COLUMNS), _TYPED, min_size=1),
    rows=st.integers(0, 3),
)
def test_parquet_of_the_wrong_types_is_reported_or_refused(
    tmp_path_factory: pytest.TempPathFactory, typed: dict[str, pl.Series], rows: int
) -> None:
    frame = pl.DataFrame({name: series.alias(name) for name, series in typed.items()}).head(rows)
    if "application_id" in frame.columns:
        ids = pl.Series([f"{ID_MARK}{i}" for i in range(frame.height)], dtype=pl.String)
        frame = frame.with_columns(ids.alias("application_id"))
    path = tmp_path_factory.mktemp("parquet") / "applications.parquet"
    frame.write_parquet(path)
    code, output = _validate(path)
    unreadable = [c for c, t in frame.schema.items() if t == pl.Binary or t.is_nested()]
    if all(c in frame.columns for c in REQUIRED_COLUMNS) and not unreadable:
        assert code == 0, output
        _check_accounted(path, output, frame.height)
    else:
        assert code == 2, output
        if unreadable and all(c in frame.columns for c in REQUIRED_COLUMNS):
            assert "must be a column of text, numbers or dates" in output


@pytest.mark.parametrize(
    ("content", "rows"),
    [
        (b"", None),  # no bytes at all
        (b"\xef\xbb\xbf", None),  # a byte-order mark and nothing else
        (b"application_id,service,channel,submitted_at\n", 0),  # a header, no rows
        (b"\xef\xbb\xbfapplication_id,service,channel,submitted_at\nA,s,c,2026-01-05\n", 1),
        (b"application_id,service,channel,submitted_at\r\nA,s,c,2026-01-05\r\n", 1),
        (b"application_id,service,channel,submitted_at\nA,s,c,2026-01-05,extra,cells\n", None),
        (b"application_id,service,channel,submitted_at\nA,s\n", 1),
        (b"application_id,service,channel,submitted_at\nA,s\xff\xfe,c,2026-01-05\n", None),
        (b'application_id,service,channel,submitted_at\nA,"never closed,c,2026-01-05\n', None),
    ],
    ids=[
        "empty",
        "bom-only",
        "header-only",
        "bom",
        "crlf",
        "ragged-long",
        "ragged-short",
        "not-utf8",
        "open-quote",
    ],
)
def test_malformed_csv_files(tmp_path: Path, content: bytes, rows: int | None) -> None:
    """`rows` is what the file holds; None when it cannot be read as a table (a clear error)."""
    path = tmp_path / "applications.csv"
    path.write_bytes(content)
    code, output = _validate(path)
    if rows is None:
        assert code == 2, output
        assert " must be " in output
    else:
        assert code == 0, output
        _check_accounted(path, output, rows)


@pytest.mark.parametrize("content", [b"", b"PAR1", b"PAR1" + bytes(range(256)) * 4 + b"PAR1"])
def test_a_corrupt_parquet_file_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "applications.parquet"
    path.write_bytes(content)
    code, output = _validate(path)
    assert code == 2 and "must be a readable CSV (UTF-8) or Parquet file" in output
