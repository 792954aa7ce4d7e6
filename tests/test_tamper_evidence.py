"""Tampering for real: change the DuckDB file behind the store's back; `agenttrail verify` names what changed."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner, Result

from agenttrail.cli import cli
from agenttrail.config import Settings
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.store import open_store
from tests.fixtures import SettingsFactory, materialize
from tests.integrity_helpers import hash_chain, publish, tamper


def verify(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(settings.db), "verify", "--csv", *args])


def test_an_untouched_store_verifies_clean_in_three_signed_checkpoints(sealed: Settings) -> None:
    result = verify(sealed)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(sealed.db), read_only=True)
    assert con.execute("SELECT tree_size FROM checkpoints ORDER BY checkpoint_id").fetchall() == [(10,), (10,), (5,)]
    con.close()


def test_the_signing_key_is_created_owner_only_and_only_its_public_half_is_exported(sealed: Settings) -> None:
    assert stat.S_IMODE(sealed.signing_key_path.stat().st_mode) == 0o600
    result = CliRunner().invoke(cli, ["--db", str(sealed.db), "keys", "export"])
    assert result.exit_code == 0 and "BEGIN PUBLIC KEY" in result.output and "PRIVATE" not in result.output


def test_updated_cost_is_detected_naming_the_row_and_checkpoint(sealed: Settings) -> None:
    tamper(sealed, "UPDATE events SET cost_amount = 999 WHERE store_seq = 14")
    result = verify(sealed)
    assert result.exit_code == 1
    assert "store_seq 14" in result.output and "checkpoint 2" in result.output
    assert "cost_amount is 999" in result.output
    assert result.output.count(",problem,") == 1, "only the changed row is named"


def test_deleted_row_is_detected_naming_the_row_and_checkpoint(sealed: Settings) -> None:
    tamper(sealed, "DELETE FROM events WHERE store_seq = 3")
    result = verify(sealed)
    assert result.exit_code == 1
    assert "store_seq 3" in result.output and "checkpoint 1" in result.output and "deleted" in result.output


def test_forged_row_inserted_into_a_sealed_range_is_detected(sealed: Settings) -> None:
    tamper(sealed, "INSERT INTO events SELECT * REPLACE ('forged-event' AS event_id, 999 AS cost_amount) "
                   "FROM events WHERE store_seq = 22")
    result = verify(sealed)
    assert result.exit_code == 1
    assert "forged-event" in result.output and "inserted into a sealed range" in result.output
    assert "checkpoint 3" in result.output


def test_reordered_sequence_numbers_are_detected_on_both_rows(sealed: Settings) -> None:
    tamper(sealed, "UPDATE events SET stream_seq = CASE stream_seq WHEN 4 THEN 5 ELSE 4 END "
                   "WHERE stream_seq IN (4, 5)")
    result = verify(sealed)
    assert result.exit_code == 1
    assert "stream_seq is 5, its raw bytes say 4" in result.output
    assert "stream_seq is 4, its raw bytes say 5" in result.output
    assert result.output.count(",problem,") == 2


def test_swapped_store_order_is_reported_as_moved_rows(sealed: Settings) -> None:
    tamper(sealed, "UPDATE events SET store_seq = CASE store_seq WHEN 7 THEN 8 ELSE 7 END WHERE store_seq IN (7, 8)")
    result = verify(sealed)
    assert result.exit_code == 1
    assert "moved here from store_seq 7" in result.output and "moved here from store_seq 8" in result.output


def test_changed_raw_bytes_are_detected(sealed: Settings) -> None:
    tamper(sealed, "UPDATE events SET raw = raw || '\\x00'::BLOB WHERE store_seq = 25")
    result = verify(sealed)
    assert result.exit_code == 1 and "store_seq 25" in result.output and "raw bytes" in result.output


@pytest.mark.parametrize("statement, expected", [
    ("UPDATE checkpoint_leaves SET leaf = repeat('0', 64) WHERE store_seq = 2", "no longer hash to its signed root"),
    ("UPDATE checkpoints SET root = repeat('0', 64) WHERE checkpoint_id = 2", "digest does not match"),
    ("DELETE FROM checkpoints WHERE checkpoint_id = 2", "missing from the chain"),
])
def test_tampered_seal_records_are_detected(sealed: Settings, statement: str, expected: str) -> None:
    tamper(sealed, statement)
    result = verify(sealed)
    assert result.exit_code == 1 and expected in result.output


def test_a_store_checked_against_another_key_fails(sealed: Settings, tmp_path: Path) -> None:
    from agenttrail.signing import load_or_create_signer, public_pem

    other = tmp_path / "other.pem"
    (tmp_path / "other-pub.pem").write_text(public_pem(load_or_create_signer(other).public))
    result = verify(sealed, "--public-key", str(tmp_path / "other-pub.pem"))
    assert result.exit_code == 1 and "not the trusted key" in result.output


StoreRun = Callable[[list[bytes]], Settings]


@pytest.fixture
def stored(settings_factory: SettingsFactory) -> StoreRun:
    def run(values: list[bytes]) -> Settings:
        settings = settings_factory(checkpoint_events=100, checkpoint_idle_s=0)
        publish(settings, values)
        con = open_store(settings.db)
        try:
            materialize(settings, con, until=len(values))
            CheckpointSealer(settings).on_idle(con)
        finally:
            con.close()
        return settings
    return run


def test_verify_reports_an_undeclared_gap_naming_stream_and_sequence_numbers(stored: StoreRun) -> None:
    chain = hash_chain(8)
    settings = stored(chain[:2] + chain[5:])
    result = verify(settings)
    assert result.exit_code == 1
    assert "stream agent-1/s1 seq 2-4" in result.output and "undeclared" in result.output



def _prove(settings: Settings, tmp_path: Path, store_seq: int) -> tuple[Path, Path, str]:
    con = duckdb.connect(str(settings.db), read_only=True)
    ((event_id,),) = con.execute("SELECT event_id FROM events WHERE store_seq = ?", [store_seq]).fetchall()
    con.close()
    proof, public = tmp_path / "proof.json", tmp_path / "pub.pem"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(settings.db), "prove", event_id, "-o", str(proof)]).exit_code == 0
    exported = runner.invoke(cli, ["--db", str(settings.db), "keys", "export"])
    public.write_text(exported.stdout)
    return proof, public, event_id


def test_an_exported_proof_verifies_without_the_database(sealed: Settings, tmp_path: Path) -> None:
    proof, public, event_id = _prove(sealed, tmp_path, 17)
    sealed.db.unlink()
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.duckdb"), "verify-proof", str(proof),
                                      "--public-key", str(public), "--json"])
    assert result.exit_code == 0, result.output
    assert event_id in result.stdout and not (tmp_path / "none.duckdb").exists()


@pytest.mark.parametrize("forge, expected", [
    (lambda p: p.update(row=p["row"].replace("3:USD", "3:EUR")), "another root"),
    (lambda p: p.update(raw=p["raw"][:-4] + "AAAA"), "raw bytes do not hash"),
    (lambda p: p.update(leaf_index=p["leaf_index"] ^ 1), "checkpoint"),
    (lambda p: p["checkpoint"].update(root="0" * 64), "checkpoint"),
])
def test_a_forged_proof_is_refused_in_one_sentence(sealed: Settings, tmp_path: Path,
                                                    forge: Callable[[dict], None], expected: str) -> None:
    import json

    proof, public, _ = _prove(sealed, tmp_path, 14)
    document = json.loads(proof.read_text())
    forge(document)
    proof.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["verify-proof", str(proof), "--public-key", str(public)])
    assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output


def test_proving_a_changed_row_is_refused(sealed: Settings) -> None:
    tamper(sealed, "UPDATE events SET cost_amount = 999 WHERE store_seq = 14")
    con = duckdb.connect(str(sealed.db), read_only=True)
    ((event_id,),) = con.execute("SELECT event_id FROM events WHERE store_seq = 14").fetchall()
    con.close()
    result = CliRunner().invoke(cli, ["--db", str(sealed.db), "prove", event_id])
    assert result.exit_code == 1 and "changed after checkpoint 2 sealed it" in result.output


def test_a_signing_key_others_can_read_is_refused_in_one_sentence(sealed: Settings) -> None:
    sealed.signing_key_path.chmod(0o644)
    result = CliRunner().invoke(cli, ["--db", str(sealed.db), "keys", "export"])
    assert result.exit_code == 1 and "chmod 600" in result.output and "PRIVATE" not in result.output


def test_verify_without_any_trusted_key_says_how_to_give_one(sealed: Settings) -> None:
    sealed.signing_key_path.unlink()
    result = verify(sealed)
    assert result.exit_code == 1 and "--public-key" in result.output and "Traceback" not in result.output
