"""Archive and restore: a deleted store comes back from Parquet + signed digests, verified and answering the same."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from click.testing import CliRunner, Result

from agenttrail.cli import cli
from agenttrail.config import Settings
from agenttrail.queries.runner import run_query
from tests.fixtures import FINGERPRINT_KEY
from tests.integrity_helpers import tamper

QUERIES = [("events_by_tenant", {}), ("spend_by_agent", {}), ("trail", {"agent": "agent-1"})]


def _answers(db: Path) -> list[object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        answers: list[object] = [run_query(con, name, params).to_pylist() for name, params in QUERIES]
        answers.append(con.execute("SELECT * FROM stream_heads ORDER BY ALL").fetchall())
        answers.append(con.execute("SELECT checkpoint_id, root, digest FROM checkpoints ORDER BY 1").fetchall())
        return answers
    finally:
        con.close()


def _run(settings: Settings, *args: str) -> Result:
    """The CLI as the store's operator runs it: with the fingerprint key, so restored personal values read again."""
    operator = {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY}
    return CliRunner().invoke(cli, ["--db", str(settings.db), *args], env=operator)


def test_deleted_store_restored_from_the_archive_verifies_clean_and_answers_the_same(
    sealed: Settings, tmp_path: Path
) -> None:
    before = _answers(sealed.db)
    archived = _run(sealed, "archive", str(tmp_path / "archive"))
    assert archived.exit_code == 0, archived.output
    assert sorted(p.name for p in (tmp_path / "archive").iterdir())[:3] == [
        "checkpoint-000001.digest.json", "checkpoint-000001.parquet", "checkpoint-000002.digest.json"]
    sealed.db.unlink()
    restored = _run(sealed, "restore", str(tmp_path / "archive"), "--json")
    assert restored.exit_code == 0, restored.output
    assert _answers(sealed.db) == before
    assert _run(sealed, "verify").exit_code == 0


def test_archiving_again_writes_only_new_checkpoints(sealed: Settings, tmp_path: Path) -> None:
    assert _run(sealed, "archive", str(tmp_path)).exit_code == 0
    again = _run(sealed, "archive", str(tmp_path))
    assert again.exit_code == 0 and "0 checkpoint(s) archived" in again.output


def test_a_tampered_archive_file_is_refused_naming_it(sealed: Settings, tmp_path: Path) -> None:
    assert _run(sealed, "archive", str(tmp_path / "a")).exit_code == 0
    data = tmp_path / "a" / "checkpoint-000002.parquet"
    table = pq.read_table(data)
    pq.write_table(table.slice(1), data)  # one row gone
    sealed.db.unlink()
    result = _run(sealed, "restore", str(tmp_path / "a"))
    assert result.exit_code == 1 and "checkpoint-000002.digest.json" in result.output
    assert "SHA-256 differs" in result.output and "Traceback" not in result.output


def test_a_resigned_digest_from_another_key_is_refused(sealed: Settings, tmp_path: Path) -> None:
    assert _run(sealed, "archive", str(tmp_path / "a")).exit_code == 0
    digest = tmp_path / "a" / "checkpoint-000001.digest.json"
    document = json.loads(digest.read_text())
    document["rows"] = 11
    digest.write_text(json.dumps(document))
    sealed.db.unlink()
    result = _run(sealed, "restore", str(tmp_path / "a"))
    assert result.exit_code == 1 and "digest signature does not verify" in result.output


def test_a_tampered_store_is_not_archived(sealed: Settings, tmp_path: Path) -> None:
    tamper(sealed, "UPDATE events SET cost_amount = 1 WHERE store_seq = 2")
    result = _run(sealed, "archive", str(tmp_path / "a"))
    assert result.exit_code == 1 and "Checkpoint 1's rows no longer hash" in result.output
