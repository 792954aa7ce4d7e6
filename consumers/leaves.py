"""The Merkle leaf of each stored event (leaf v1): canonical row text from DuckDB, hashed with hashlib.

``consumers/sql/leaf_rows.sql`` defines the row text: every column but raw,
length-prefixed, so it is self-delimiting. The leaf is RFC 9162's
``SHA-256(0x00 || row_text || raw)``: it commits to every column *and* the exact
bytes, so a changed cost, a changed raw or a value moved between columns all
change it, with one hash per row. One definition serves sealing, verify, proofs
and restore, so they cannot drift apart.

Speed (verify must re-hash >= 200k events/s): the text is built by DuckDB's
vectorized string functions, and the hashes are taken straight from the Arrow
buffers (no Python string per row) while a thread lets DuckDB build the next
batch, outside the GIL, in the meantime.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Iterator

import duckdb
import pyarrow as pa

from agenttrail.consumers.intake import EVENT_COLUMNS
from agenttrail.consumers.store import sql
from agenttrail.merkle import tree_root

ROW_COLUMNS = EVENT_COLUMNS[:-1]  # leaf v1's row_text: every column but raw, in this order
LEAVES = pa.schema([("store_seq", pa.int64()), ("event_id", pa.string()), ("leaf", pa.binary())])
_BATCH_ROWS = 32_768
_LEAF_PREFIX = hashlib.sha256(b"\x00")


def leaf_table(con: duckdb.DuckDBPyConnection, first: int, last: int) -> pa.Table:
    """store_seq, event_id and leaf of the stored events first..last, in tree order (store_seq, event_id)."""
    relation = con.sql(sql("leaf_rows"), params={"first": first, "last": last})
    batches = [
        pa.RecordBatch.from_arrays([b.column(0), b.column(1), leaf_hashes(b.column(2), b.column(3))], schema=LEAVES)
        for b in _read_ahead(relation.to_arrow_reader(_BATCH_ROWS))
    ]
    table = pa.Table.from_batches(batches, schema=LEAVES)
    return table.sort_by([("store_seq", "ascending"), ("event_id", "ascending")])


def with_removed(computed: pa.Table, removed: pa.Table) -> pa.Table:
    """``computed`` (a leaf table) and the leaves of events a retention run removed (store_seq, event_id, leaf as
    recorded at sealing), in tree order: what a checkpoint's root is built from once some of its rows are gone."""
    extra = removed.select(["store_seq", "event_id", "leaf"]).cast(LEAVES)
    return pa.concat_tables([computed, extra]).sort_by([("store_seq", "ascending"), ("event_id", "ascending")])


def leaf_hashes(row_texts: pa.Array, raws: pa.Array) -> pa.Array:
    """SHA-256(0x00 || row_text || raw) of each row, read from the Arrow buffers."""
    texts, text_at = _buffers(row_texts)
    raw, raw_at = _buffers(raws)
    start = _LEAF_PREFIX.copy
    out = []
    for i in range(len(text_at) - 1):
        h = start()
        h.update(texts[text_at[i]:text_at[i + 1]])
        h.update(raw[raw_at[i]:raw_at[i + 1]])
        out.append(h.digest())
    return pa.array(out, pa.binary())


def root_of(leaves: pa.Table) -> str:
    """The RFC 9162 root (hex) of a leaf table in tree order; "" for none."""
    hashes = leaves.column("leaf").to_pylist()
    return tree_root(hashes).hex() if hashes else ""


def parse_row_text(row_text: str) -> dict[str, str | None]:
    """The columns of a leaf v1 row text, as text (None for NULL); ValueError when it is not one."""
    data, at = row_text.encode("utf-8"), 0
    values: list[str | None] = []
    for _ in ROW_COLUMNS:
        colon = data.index(b":", at)
        digits = data[at:colon]
        if digits and not digits.isdigit():
            raise ValueError(f"byte {at}: a length was expected")
        at = colon + 1
        if digits:
            values.append(data[at:at + int(digits)].decode("utf-8"))
            at += int(digits)
        else:
            values.append(None)
    if at != len(data):
        raise ValueError("text follows the last column")
    return dict(zip(ROW_COLUMNS, values, strict=True))


def _buffers(array: pa.Array) -> tuple[memoryview, list[int]]:
    """The value bytes of a string/binary array and its n+1 offsets."""
    array = array.cast(pa.large_binary())
    _, offsets, data = array.buffers()
    assert offsets is not None
    bounds = memoryview(offsets).cast("q")[array.offset:array.offset + len(array) + 1].tolist()
    return (memoryview(data) if data is not None else memoryview(b"")), bounds


def _read_ahead(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's batches, the next one fetched on a thread while the caller works on this one."""
    ready: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def pump() -> None:
        try:
            for batch in reader:
                if stop.is_set():
                    return
                ready.put(batch)
            ready.put(None)
        except BaseException as exc:  # handed to the caller, raised there
            ready.put(exc)

    thread = threading.Thread(target=pump, name="agenttrail-leaf-reader", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a pump waiting on a full queue, so the result is released
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
