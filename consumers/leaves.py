"""The Merkle leaf of each stored event (leaf v1): canonical row text from DuckDB, hashed with hashlib.

``consumers/sql/leaf_rows.sql`` defines the row text; this module streams it in
Arrow record batches, so verifying a large store never holds every row text at
once, and hashes each as RFC 9162's ``SHA-256(0x00 || row_text)``. One definition
serves sealing, verify, proofs and restore, so they cannot drift apart.
"""

from __future__ import annotations

from hashlib import sha256

import duckdb
import pyarrow as pa

from agenttrail.consumers.intake import EVENT_COLUMNS
from agenttrail.consumers.store import sql
from agenttrail.merkle import leaf_hash, tree_root

_BATCH_ROWS = 65_536
ROW_COLUMNS = EVENT_COLUMNS[:-1]  # leaf v1's row_text: every column but raw, in this order
LEAVES = pa.schema([("store_seq", pa.int64()), ("event_id", pa.string()), ("leaf", pa.binary())])
CHECKED_LEAVES = LEAVES.append(pa.field("raw_ok", pa.bool_()))


def leaf_table(con: duckdb.DuckDBPyConnection, first: int, last: int, *, check_raw: bool = False) -> pa.Table:
    """store_seq, event_id and leaf of the events first..last in tree order (plus raw_ok with ``check_raw``).

    Tree order (store_seq, event_id) is only imposed without ``check_raw``: verify
    joins by key and skips the sort.
    """
    columns = "store_seq, event_id, row_text" + (", raw, event_sha256" if check_raw else "")
    relation = con.sql(sql("leaf_rows"), params={"first": first, "last": last}).select(columns)
    schema = CHECKED_LEAVES if check_raw else LEAVES
    batches = []
    for batch in relation.to_arrow_reader(_BATCH_ROWS):
        arrays = [batch.column(0), batch.column(1),
                  pa.array([leaf_hash(text.encode()) for text in batch.column(2).to_pylist()], pa.binary())]
        if check_raw:
            arrays.append(pa.array([sha256(raw).digest() == expected for raw, expected in
                                    zip(batch.column(3).to_pylist(), batch.column(4).to_pylist(), strict=True)]))
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    table = pa.Table.from_batches(batches, schema=schema)
    return table if check_raw else table.sort_by([("store_seq", "ascending"), ("event_id", "ascending")])


def root_of(leaves: pa.Table) -> str:
    """The RFC 9162 root (hex) of a leaf table in tree order; "" for none."""
    hashes = leaves.column("leaf").to_pylist()
    return tree_root(hashes).hex() if hashes else ""
