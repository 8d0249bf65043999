"""Reading tables: formats, folders, and clear errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from forecasting.errors import DataContractError
from forecasting.tables import require_columns, scan_table

FRAME = pl.DataFrame({"service": ["p", "q"], "submitted_at": ["2026-01-01", "2026-01-02"]})


def test_csv_parquet_and_folder_read_the_same(tmp_path: Path) -> None:
    FRAME.write_csv(tmp_path / "a.csv")
    FRAME.write_parquet(tmp_path / "a.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    FRAME.head(1).write_parquet(folder / "part-0.parquet")
    FRAME.tail(1).write_parquet(folder / "part-1.parquet")
    for source in (tmp_path / "a.csv", tmp_path / "a.parquet", folder):
        assert_frame_equal(scan_table(source).collect(), FRAME)


def test_csv_is_read_as_text_so_bad_values_reach_validation(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("service,count\np,1\nq,many\n")
    assert scan_table(tmp_path / "a.csv").collect_schema()["count"] == pl.String


def test_missing_path_and_unknown_format_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match=r"`data` must be an existing file or folder"):
        scan_table(tmp_path / "nope.csv")
    (tmp_path / "a.xlsx").write_bytes(b"")
    with pytest.raises(DataContractError, match=r"unknown format '\.xlsx'"):
        scan_table(tmp_path / "a.xlsx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataContractError, match="no .parquet file"):
        scan_table(tmp_path / "empty")


def test_require_columns_names_the_missing_one() -> None:
    with pytest.raises(DataContractError, match=r"`channel` must be a column of the x table"):
        require_columns(FRAME.lazy(), ("service", "channel"), table="x")
