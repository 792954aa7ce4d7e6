"""Show a query result (a ``pyarrow.Table``) as a terminal table, JSON, CSV or Parquet.

Event values are attacker-controlled: an agent can put anything in an attribute, an
action name or a tenant. So every format that can reach a terminal is made inert:

* ``table`` cells are rich ``Text`` objects, never markup, so ``[bold]x[/bold]`` prints
  as written (``inert_markup`` is there for callers that do build markup strings), and
  control characters (C0, DEL, C1 including ESC and CSI, bidi overrides, line
  separators) are replaced by visible escapes such as ``\\x1b``;
* ``json`` escapes the same characters as ``\\u001b``-style escapes (the JSON still decodes to the
  exact value);
* ``csv`` is exact, except when written straight to a terminal, where cells get the same
  visible escapes as the table.

Values keep their precision: DECIMAL becomes a string with every digit
(``"0.002100000"``, never a float), timestamps become ISO 8601 in UTC, bytes become hex,
maps become objects and lists become arrays (``to_records``, shared with the HTTP API).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from agenttrail._exceptions import QueryError

FORMATS: tuple[str, ...] = ("table", "json", "csv", "parquet")
MAX_CELL_CHARS = 60
"""Longer cells are cut to this many characters, in the table view only."""

# Characters that move the cursor, change colours, reorder text or start a new line.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")


def inert(text: str) -> str:
    """``text`` with every control character replaced by a visible escape (``\\x1b``)."""
    return _UNSAFE_RE.sub(_visible_escape, text)


def inert_markup(text: str) -> str:
    """``text`` safe to embed in a rich markup string: no controls, no live ``[tags]``."""
    return escape(inert(text))


def inert_json(value: Any, *, compact: bool = False) -> str:
    """``value`` as JSON with every control character escaped (``\\u001b``): it decodes to the exact value,
    and printed to a terminal it moves nothing. ``json.dumps`` leaves C1 controls and bidi overrides raw."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":") if compact else None)
    return _UNSAFE_RE.sub(_json_escape, text)


def to_records(table: pa.Table) -> list[dict[str, Any]]:
    """The rows of ``table`` as JSON-safe dicts (see the module docstring for the mapping).

    Repeated column names (``SELECT 1 AS a, 2 AS a``) get a suffix (``a_2``) rather than
    silently overwriting each other.
    """
    names = _unique(table.column_names)
    columns = [
        [_jsonable(value, field.type) for value in table.column(index).to_pylist()]
        for index, field in enumerate(table.schema)
    ]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def render(
    table: pa.Table,
    fmt: str,
    *,
    stream: IO[Any] | None = None,
    output: Path | None = None,
    console: Console | None = None,
) -> None:
    """Write ``table`` in ``fmt`` (one of ``FORMATS``).

    Text formats go to ``output`` when given, else to ``stream`` (default stdout); the
    table view goes to ``console`` when given. Parquet is binary and needs ``output`` or a
    binary ``stream``. Raises ``QueryError`` for an unknown format, Parquet without a
    file, or an output file that cannot be written.
    """
    if fmt not in FORMATS:
        raise QueryError(f"There is no output format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "parquet":
        _write_parquet(table, stream, output)
        return
    if output is None:
        _render_text(table, fmt, stream or sys.stdout, console)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as file:
            _render_text(table, fmt, file, None)
    except OSError as exc:
        raise QueryError(f"Cannot write {output}: {exc.strerror or exc}.") from None


def _render_text(table: pa.Table, fmt: str, stream: IO[str], console: Console | None) -> None:
    if fmt == "table":
        print_wide(console or Console(file=stream), _rich_table(table))
    elif fmt == "json":
        _write_json(to_records(table), stream)
    else:
        _write_csv(table, stream)


def print_wide(console: Console, view: RenderableType) -> None:
    """Print ``view`` at its natural width, past the terminal's edge if need be.

    Like psql and sqlite-utils: a wide result runs on instead of being squeezed into
    three-letter stubs or wrapped out of shape (table cells are capped at MAX_CELL_CHARS).
    """
    natural = Measurement.get(console, console.options.update(max_width=100_000), view).maximum
    terminal_width = console.width
    console.width = max(terminal_width, natural)  # print(width=) is clamped to console.width
    try:
        console.print(view, crop=False)
    finally:
        console.width = terminal_width


def _rich_table(table: pa.Table) -> Table:
    rows = table.num_rows
    view = Table(caption=f"{rows} row" if rows == 1 else f"{rows} rows")
    for field in table.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or (
            pa.types.is_decimal(field.type)
        )
        view.add_column(Text(_cut(inert(field.name))), justify="right" if numeric else "left")
    for record in to_records(table):
        view.add_row(*(_cell(value) for value in record.values()))
    return view


def _cell(value: Any) -> Text:
    if value is None:
        return Text("NULL", style="dim")
    return Text(_cut(inert(_as_text(value))))


def _write_json(records: list[dict[str, Any]], stream: IO[str]) -> None:
    """A JSON array with one object per line, so large results stay greppable."""
    stream.write("[")
    for index, record in enumerate(records):
        stream.write(("\n" if index == 0 else ",\n") + inert_json(record))
    stream.write("\n]\n" if records else "]\n")


def _write_csv(table: pa.Table, stream: IO[str]) -> None:
    to_terminal = bool(getattr(stream, "isatty", lambda: False)())
    clean = inert if to_terminal else str
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([clean(name) for name in _unique(table.column_names)])
    for record in to_records(table):
        writer.writerow(
            ["" if value is None else clean(_as_text(value)) for value in record.values()]
        )


def _write_parquet(table: pa.Table, stream: IO[Any] | None, output: Path | None) -> None:
    target: str | IO[Any]
    if output is not None:
        target = str(output)
    elif isinstance(stream, io.RawIOBase | io.BufferedIOBase):
        target = stream
    else:
        raise QueryError("Parquet output needs --output FILE.")
    try:
        pq.write_table(table, target)
    except OSError as exc:
        where = output or "the Parquet stream"
        raise QueryError(f"Cannot write {where}: {exc.strerror or exc}.") from None
    except pa.ArrowException as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"Parquet cannot hold this result: {first_line}.") from None


def _jsonable(value: Any, kind: pa.DataType) -> Any:
    """``value`` (from ``to_pylist``) as a JSON-safe Python value, guided by its Arrow type."""
    if value is None:
        return None
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_map(kind):
        return {_key(k, kind.key_type): _jsonable(v, kind.item_type) for k, v in value}
    if _is_list(kind):
        return [_jsonable(item, kind.value_type) for item in value]
    if pa.types.is_struct(kind):
        return {kind.field(i).name: _jsonable(value.get(kind.field(i).name), kind.field(i).type)
                for i in range(kind.num_fields)}
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # str() would give "0E-9" for a zero with nine decimals
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # e.g. MonthDayNano intervals
        return {field: _scalar(part) for field, part in zip(value._fields, value, strict=True)}
    return str(value)


def _key(value: Any, kind: pa.DataType) -> str:
    key = _jsonable(value, kind)
    return key if isinstance(key, str) else json.dumps(key)


def _is_list(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_list_view(kind)
        or pa.types.is_large_list_view(kind)
    )


def _as_text(value: Any) -> str:
    """A JSON-safe value as one line of text (nested values as compact JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def _cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _visible_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
