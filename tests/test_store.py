"""The store's schema upgrades: a store made by an older release opens with its data intact."""

from __future__ import annotations

from pathlib import Path

import duckdb

from agenttrail.consumers.store import SCHEMA_VERSION, open_store


def test_a_version_1_store_gets_its_event_ids_as_idempotence_keys(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
    con.execute("CREATE TABLE events (event_id VARCHAR PRIMARY KEY, event_hash VARCHAR NOT NULL)")
    con.execute("INSERT INTO events VALUES ('e1', 'h1'), ('e2', 'h2')")
    con.close()

    for _ in range(2):  # upgrading once, then opening as usual
        con = open_store(path)
        assert con.execute("SELECT * FROM event_keys ORDER BY event_id").fetchall() == [("e1", "h1"), ("e2", "h2")]
        assert con.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone() == (
            SCHEMA_VERSION,)
        con.close()


def test_a_store_from_before_novelty_repeats_gains_their_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE anomaly_seen (detector VARCHAR NOT NULL, key VARCHAR NOT NULL, what VARCHAR NOT NULL, "
                "first_seq BIGINT NOT NULL, PRIMARY KEY (detector, key, what))")
    con.execute("INSERT INTO anomaly_seen VALUES ('new_behaviour', 'acme/bot', 'action llm.call', 7)")
    con.close()

    con = open_store(path)
    assert con.execute("SELECT * FROM anomaly_seen").fetchall() == [
        ("new_behaviour", "acme/bot", "action llm.call", 7, None, None)], "an old row is never a repeat's first"
    con.close()
