"""Schema migrations: a store written by an older release is refused until migrated, then answers like new.

The version 1 store is built from the first release's own schema file
(``tests/first_schema.sql``, verbatim from that commit), so the test migrates
what that release really wrote, not a reconstruction of it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from agenttrail._exceptions import StoreOutdatedError
from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.store import SCHEMA_VERSION, open_store
from tests.chain_events import T0, event
from tests.fixtures import FINGERPRINT_KEY, ServeFactory
from tests.test_cli import agenttrail

FIRST_SCHEMA = Path(__file__).with_name("first_schema.sql")


def first_release_store(path: Path, events: int = 30) -> None:
    """A store as the first release left it: its schema, its version, a chain of events and their offsets."""
    con = duckdb.connect(str(path))
    con.execute(FIRST_SCHEMA.read_text("utf-8"))
    con.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
    rows = [event(f"e{i:03d}", parent=f"e{i - 1:03d}" if i else None, store_seq=i + 1, stream_seq=i + 1,
                  kafka_offset=i, occurred_at=T0, received_at=T0) for i in range(events)]
    con.register("old_events", pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
    con.execute("INSERT INTO events SELECT * FROM old_events")
    con.execute("INSERT INTO consumer_offsets VALUES ('agenttrail.actions', 0, ?, 'topic-1')", [events])
    con.close()


def version(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return str(con.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchall()[0][0])


def test_a_store_written_by_the_first_schema_migrates_after_a_backup_and_answers_like_a_new_one(
        tmp_path: Path) -> None:
    db = tmp_path / "agenttrail.duckdb"
    first_release_store(db)
    with pytest.raises(StoreOutdatedError, match="run `agenttrail migrate`"):
        open_store(db)
    assert version(db) == "1", "refused before anything in it changed"
    env = {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY, "PATH": "/usr/bin:/bin"}

    migrated = agenttrail("--db", str(db), "migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    said = " ".join(migrated.stdout.split())
    assert f"from schema version 1 to {SCHEMA_VERSION} (event_keys, novelty_first_times" in said
    assert "rebuilt the projections from 30 events" in said
    backup = tmp_path / "agenttrail.duckdb.v1.backup"
    assert version(backup) == "1" and version(db) == str(SCHEMA_VERSION)

    con = open_store(db)
    assert con.execute("SELECT count(*) FROM event_keys").fetchall() == [(30,)]
    assert con.execute("SELECT count(*) FROM chain_nodes").fetchall() == [(30,)], "projections built from its events"
    assert con.execute("SELECT next_offset FROM consumer_offsets").fetchall() == [(30,)], "resumes where it was"
    con.close()
    check = agenttrail("--db", str(db), "rebuild", "--check", cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr + check.stdout
    again = agenttrail("--db", str(db), "migrate", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_a_version_2_store_migrates_through_every_later_step_in_order(tmp_path: Path) -> None:
    db = tmp_path / "v2.duckdb"
    open_store(db).close()
    with duckdb.connect(str(db)) as con:  # as version 2 left it
        con.execute("ALTER TABLE anomaly_seen DROP COLUMN first_at")
        con.execute("ALTER TABLE anomaly_seen DROP COLUMN raised")
        con.execute("UPDATE store_meta SET value = '2' WHERE key = 'schema_version'")
    result = agenttrail("--db", str(db), "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert (f"from schema version 2 to {SCHEMA_VERSION} (novelty_first_times, spike_origins, leak_cascade, "
            "sealed_subjects") in said
    with duckdb.connect(str(db), read_only=True) as con:
        columns = {row[0] for row in con.execute("SELECT column_name FROM duckdb_columns() "
                                                 "WHERE table_name = 'anomaly_seen'").fetchall()}
    assert {"first_at", "raised"} <= columns


def test_a_version_3_store_rebuilds_its_spike_state_per_origin(tmp_path: Path) -> None:
    db = tmp_path / "agenttrail.duckdb"
    first_release_store(db)
    env = {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY, "PATH": "/usr/bin:/bin"}
    assert agenttrail("--db", str(db), "migrate", cwd=tmp_path, env=env).returncode == 0
    with duckdb.connect(str(db)) as con:  # as version 3 left it: one shared sensitive series, first buckets kept
        con.execute("DROP TABLE anomaly_origins")
        con.execute("ALTER TABLE anomaly_series ADD COLUMN first_bucket BIGINT")
        con.execute("INSERT INTO anomaly_series BY NAME SELECT 'sensitive_burst' AS detector, "
                    "'acme/bot' AS series, 7 AS first_bucket, 9 AS frontier")
        con.execute("UPDATE store_meta SET value = '3' WHERE key = 'schema_version'")

    result = agenttrail("--db", str(db), "migrate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert (f"from schema version 3 to {SCHEMA_VERSION} (spike_origins, leak_cascade, sealed_subjects, rebuilt the "
            "projections from 30 events)") in said
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM anomaly_series WHERE series = 'acme/bot'").fetchall() == [(0,)]
        assert "first_bucket" not in {row[0] for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'anomaly_series'").fetchall()}
    check = agenttrail("--db", str(db), "rebuild", "--check", cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr + check.stdout


def test_serve_migrates_an_older_store_before_it_starts(serve_factory: ServeFactory, tmp_path: Path) -> None:
    first_release_store(tmp_path / "agenttrail.duckdb")
    server = serve_factory()
    assert (tmp_path / "agenttrail.duckdb.v1.backup").exists()
    server.stop()
    assert version(tmp_path / "agenttrail.duckdb") == str(SCHEMA_VERSION)


def test_a_version_5_store_migrates_by_sealed_subjects_alone_and_keeps_its_events_readable(tmp_path: Path) -> None:
    db = tmp_path / "agenttrail.duckdb"
    con = open_store(db)
    con.register("old_events", pa.Table.from_pylist([event("e000", store_seq=1)], schema=EVENT_SCHEMA))
    con.execute("INSERT INTO events SELECT * FROM old_events")
    for table in ("subject_keys", "sealed_values", "principal_scopes", "erasures", "retention_periods",
                  "retention_runs", "retention_removed"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE store_meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    env = {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY, "PATH": "/usr/bin:/bin"}
    result = agenttrail("--db", str(db), "migrate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"from schema version 5 to {SCHEMA_VERSION} (sealed_subjects)" in " ".join(result.stdout.split())
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT unseal(principal_id) FROM events").fetchall() == [("alice",)], \
            "an event from before sealing keeps its id in the clear"
        assert con.execute("SELECT count(*) FROM subject_keys").fetchall() == [(0,)]
