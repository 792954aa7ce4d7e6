"""Rendering query results: exact values, inert terminal output, Parquet needs a file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from agenttrail._exceptions import QueryError
from agenttrail.output import FORMATS, inert, inert_markup, render, to_records

HOSTILE = "\x1b[31mred\x1b[0m [bold]x[/bold] \x9b2J \u202egnp.exe"


def sample() -> pa.Table:
    return pa.table(
        {
            "cost": pa.array([Decimal("0.002100000"), Decimal("0"), None], pa.decimal128(38, 9)),
            "at": pa.array(
                [datetime(2026, 11, 1, 10, 0, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")
            ),
            "raw": pa.array([b"\x00\xff", b"", None], pa.binary()),
            "attrs": pa.array([[("k", "v")], [], None], pa.map_(pa.string(), pa.string())),
            "chain": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
            "note": pa.array([HOSTILE, "plain", None]),
        }
    )


def render_text(table: pa.Table, fmt: str) -> str:
    stream = io.StringIO()
    render(table, fmt, stream=stream)
    return stream.getvalue()


def test_formats_are_the_four_documented_ones() -> None:
    assert FORMATS == ("table", "json", "csv", "parquet")


def test_records_keep_decimals_exact_and_are_json_safe() -> None:
    first, second, third = to_records(sample())
    assert first["cost"] == "0.002100000"
    assert second["cost"] == "0.000000000"  # not "0E-9"
    assert first["at"] == "2026-11-01T10:00:00+00:00"
    assert first["raw"] == "00ff"
    assert first["attrs"] == {"k": "v"} and first["chain"] == ["a", "b"]
    assert {k for k, v in third.items() if v is None} == {"cost", "raw", "attrs", "chain", "note"}
    json.dumps([first, second, third], allow_nan=False)


def test_json_is_an_array_of_objects_with_exact_decimals() -> None:
    rows = json.loads(render_text(sample(), "json"))
    assert [row["cost"] for row in rows] == ["0.002100000", "0.000000000", None]
    assert rows[0]["note"] == HOSTILE  # exact after decoding


def test_json_escapes_terminal_controls_in_its_text() -> None:
    text = render_text(sample(), "json")
    assert "\x1b" not in text and "\x9b" not in text and "\u202e" not in text


def test_json_of_an_empty_result_is_an_empty_array() -> None:
    assert json.loads(render_text(sample().slice(0, 0), "json")) == []


def test_csv_keeps_decimals_exact() -> None:
    rows = list(csv.DictReader(io.StringIO(render_text(sample(), "csv"))))
    assert [row["cost"] for row in rows] == ["0.002100000", "0.000000000", ""]
    assert rows[0]["attrs"] == '{"k": "v"}'


def test_table_renders_hostile_values_inert() -> None:
    out = io.StringIO()
    render(sample(), "table", console=Console(file=out, force_terminal=True, width=400))
    text = out.getvalue()
    assert "\x1b[31m" not in text and "\x1b[0mred" not in text
    assert "\x9b" not in text and "\u202e" not in text
    assert "\\x1b[31mred" in text  # shown, visibly escaped
    assert "[bold]x[/bold]" in text  # markup printed as written, not applied


def test_table_truncates_long_cells_but_json_does_not() -> None:
    table = pa.table({"long": ["y" * 500]})
    out = io.StringIO()
    render(table, "table", console=Console(file=out, width=400))
    assert "y" * 500 not in out.getvalue() and "…" in out.getvalue()
    assert json.loads(render_text(table, "json"))[0]["long"] == "y" * 500


def test_inert_helpers_neutralise_controls_and_markup() -> None:
    assert inert("a\x1bb\nc") == "a\\x1bb\\x0ac"
    assert inert_markup("[red]x\x07") == "\\[red]x\\x07"


def test_parquet_without_an_output_file_is_refused() -> None:
    with pytest.raises(QueryError, match=r"Parquet output needs --output FILE\."):
        render(sample(), "parquet")
    with pytest.raises(QueryError, match="Parquet output needs"):
        render(sample(), "parquet", stream=io.StringIO())


def test_parquet_round_trips_exact_values(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    render(sample(), "parquet", output=path)
    back = pq.read_table(path)
    assert back.column("cost").to_pylist()[0] == Decimal("0.002100000")
    buffer = io.BytesIO()
    render(sample(), "parquet", stream=buffer)
    assert pq.read_table(io.BytesIO(buffer.getvalue())).num_rows == 3


def test_text_formats_can_be_written_to_an_output_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    render(sample(), "json", output=path)
    assert json.loads(path.read_text("utf-8"))[0]["cost"] == "0.002100000"


def test_unknown_format_and_unwritable_output_are_query_errors(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="table, json, csv, parquet"):
        render(sample(), "xml")
    with pytest.raises(QueryError, match="Cannot write"):
        render(sample(), "csv", output=tmp_path / "missing-dir" / "out.csv")


def test_repeated_column_names_are_kept_apart() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    assert to_records(table) == [{"a": 1, "a_2": 2}]


def test_a_wide_table_is_not_squeezed_to_stubs_on_a_narrow_terminal() -> None:
    import io

    import pyarrow as pa
    from rich.console import Console

    from agenttrail.output import render

    columns = {f"column_{i}": [f"value-{i}-abcdefgh"] for i in range(12)}
    out = io.StringIO()
    render(pa.table(columns), "table", console=Console(file=out, width=80))
    assert "value-11-abcdefgh" in out.getvalue() and "column_0" in out.getvalue()
