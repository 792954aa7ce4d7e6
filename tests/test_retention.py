"""Retention: a run removes a tenant's old events, verify reports that as the run's fact, proofs of the rest hold.

Events go through the real SDK, broker and materializer; the retention period is a
fraction of a day (a few seconds) so the test can wait it out. Verify, prove,
verify-proof, rebuild --check and archive/restore are the real CLI on the store file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
from click.testing import CliRunner, Result

from agenttrail.cli import cli
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.store import open_store
from agenttrail.producers.control import publish_control
from agenttrail.producers.trail import connect
from agenttrail.schemas.control import RetentionRun, RetentionSet
from tests.fixtures import (
    FINGERPRINT_KEY,
    ServeFactory,
    SettingsFactory,
    TrailFactory,
    client_settings,
    materialize,
    stored_count,
    wait_for,
)

PERIOD = Decimal("0.00007")  # acme's retention period in this test, in days as the contract takes it: 6.048 s
PERIOD_S = float(PERIOD * 86_400)


def cli_run(settings: Settings, *args: str) -> Result:
    operator = {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY}
    return CliRunner().invoke(cli, ["--db", str(settings.db), *args], env=operator)


def emit(trail_factory: TrailFactory, settings: Settings, tenant: str, count: int, label: str) -> None:
    trail = trail_factory(settings_=settings, tenant=tenant, agent_id=f"bot-{tenant}", principal=f"human:{label}")
    for i in range(count):
        with trail.action("llm.call", f"{label}-{i}") as act:
            act.set_cost("0.010000000", "USD")
    trail.close(10)


def store_and_seal(settings: Settings, until: int, *, table: str = "events") -> None:
    con = open_store(settings.db)
    try:
        assert materialize(settings, con, until=until, table=table) >= until
        CheckpointSealer(settings).on_idle(con, stopping=True)  # seal the rest now
    finally:
        con.close()


def control(settings: Settings, tenant: str, payload: Any) -> None:
    publish_control(settings, settings.bootstrap or "", tenant, payload, actor="human:dpo", via="cli",
                    reason="data protection agreement")


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_retention_run_removes_old_events_and_verify_reports_it_as_a_fact_while_proofs_hold(
        settings_factory: SettingsFactory, trail_factory: TrailFactory, tmp_path: Path) -> None:
    settings = settings_factory(checkpoint_events=4, checkpoint_idle_s=0)
    emit(trail_factory, settings, "acme", 6, "old")       # acme's events to expire
    emit(trail_factory, settings, "globex", 3, "keeper")  # another tenant's, with no period
    store_and_seal(settings, 9)
    spent_before = query(settings, "SELECT tenant, sum(amount) FROM spend_daily GROUP BY ALL ORDER BY 1")
    time.sleep(PERIOD_S + 2)
    emit(trail_factory, settings, "acme", 3, "new")       # acme's, within the period
    store_and_seal(settings, 12)
    [(kept_event,)] = query(settings, "SELECT event_id FROM events WHERE action_name = 'new-0'")
    [(old_event,)] = query(settings, "SELECT event_id FROM events WHERE action_name = 'old-0'")

    control(settings, "acme", RetentionSet(days=PERIOD))
    control(settings, "*", RetentionRun())
    store_and_seal(settings, 2, table="control_events")

    assert query(settings, "SELECT tenant, count(*) FROM events GROUP BY ALL ORDER BY 1") == [
        ("acme", 3), ("globex", 3)], "acme's six old events went, its recent ones and globex's stayed"
    runs = query(settings, "SELECT tenant, sum(removed) FROM retention_runs GROUP BY ALL")
    assert runs == [("acme", 6)]
    assert query(settings, "SELECT tenant, sum(amount) FROM spend_daily GROUP BY ALL ORDER BY 1") == [
        (tenant, amount + (Decimal("0.03") if tenant == "acme" else 0)) for tenant, amount in spent_before], \
        "spend keeps what the removed events cost"

    verified = cli_run(settings, "verify", "--json")
    assert verified.exit_code == 0, verified.output
    findings = json.loads(verified.stdout)
    facts = [f for f in findings if f["check"] == "retention"]
    assert facts and all(f["status"] == "ok" and "acme" in f["where"] for f in facts)
    assert sum(int(f["detail"].split()[1]) for f in facts) == 6, "the removed rows are the run's fact"
    assert not [f for f in findings if f["status"] == "problem"]

    proof = tmp_path / "proof.json"
    assert cli_run(settings, "prove", kept_event, "-o", str(proof)).exit_code == 0
    checked = cli_run(settings, "verify-proof", str(proof), "--public-key", str(public_key(settings)))
    assert checked.exit_code == 0, checked.output
    gone = cli_run(settings, "prove", old_event)
    assert gone.exit_code == 1 and "removed by retention run" in gone.output

    assert cli_run(settings, "rebuild", "--check").exit_code == 0, "a rebuild starts from the run's baseline"
    assert cli_run(settings, "rebuild").exit_code == 0
    assert cli_run(settings, "rebuild", "--check").exit_code == 0

    archive = tmp_path / "archive"
    assert cli_run(settings, "archive", str(archive)).exit_code == 0
    restored = settings.model_copy(update={"db": tmp_path / "restored.duckdb"})
    back = cli_run(restored, "restore", str(archive), "--public-key", str(public_key(settings)))
    assert back.exit_code == 0, back.output
    assert query(restored, "SELECT count(*) FROM events") == [(6,)]
    assert {name for (name,) in query(restored, "SELECT unseal(principal_id) FROM events")} == {"new", "keeper"}, \
        "the archive's keys file opens the restored events' sealed ids"
    assert cli_run(restored, "verify", "--public-key", str(public_key(settings))).exit_code == 0


def test_deleting_a_row_and_claiming_a_retention_run_removed_it_is_a_problem(
        settings_factory: SettingsFactory, trail_factory: TrailFactory) -> None:
    settings = settings_factory(checkpoint_events=4, checkpoint_idle_s=0)
    emit(trail_factory, settings, "acme", 5, "a")
    store_and_seal(settings, 5)
    with duckdb.connect(str(settings.db)) as con:
        [(seq, event_id)] = con.execute("SELECT store_seq, event_id FROM events ORDER BY store_seq LIMIT 1").fetchall()
        [(checkpoint_id,)] = con.execute("SELECT checkpoint_id FROM checkpoint_leaves WHERE store_seq = ?",
                                         [seq]).fetchall()
        con.execute("DELETE FROM events WHERE store_seq = ?", [seq])
        con.execute("INSERT INTO retention_removed VALUES ('forged-run', 'acme', ?, ?, ?)",
                    [checkpoint_id, seq, event_id])
    verified = cli_run(settings, "verify")
    assert verified.exit_code == 1
    assert "no signed statement" in " ".join(verified.output.split())


def test_an_event_not_sealed_yet_waits_for_a_later_run(
        settings_factory: SettingsFactory, trail_factory: TrailFactory) -> None:
    settings = settings_factory(checkpoint_events=100, checkpoint_idle_s=3600)
    emit(trail_factory, settings, "acme", 3, "a")
    con = open_store(settings.db)
    materializer = Materializer(settings, settings.bootstrap or "", con)  # one run: stopping would seal the rest
    try:
        until(materializer, lambda: stored_count(con) == 3)
        time.sleep(1.5)
        control(settings, "acme", RetentionSet(days=Decimal("0.00001")))  # 0.864 s
        control(settings, "acme", RetentionRun())
        until(materializer, lambda: stored_count(con, "control_events") == 2)
        assert stored_count(con) == 3, "only sealed events are removed"
    finally:
        materializer.close()
        con.close()


def until(materializer: Materializer, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, "the materializer did not store what was sent"
        materializer.step()


def public_key(settings: Settings) -> Path:
    path = settings.db.with_name("pub.pem")
    if not path.exists():
        exported = cli_run(settings, "keys", "export")
        path.write_text(exported.stdout)
    return path


def test_serve_runs_retention_by_itself_once_events_are_past_their_period(serve_factory: ServeFactory) -> None:
    server = serve_factory(AGENTTRAIL_RETENTION_INTERVAL_S="0.5", AGENTTRAIL_CHECKPOINT_IDLE_S="0.2")
    trail = connect(tenant="acme", agent_id="bot-acme", agent_version="1.0.0", region="eu-west-1",
                    principal="human:old", settings=client_settings(server))
    for i in range(3):
        with trail.action("tool.call", f"old-{i}"):
            pass
    trail.close(10)

    def sql(statement: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{server.url}/v1/sql", params={"q": statement}, timeout=30)
        assert response.status_code == 200, response.text
        return list(response.json())

    wait_for(lambda: sql("SELECT count(*) AS n FROM events")[0]["n"] == 3, "three events stored")
    period = {"tenant": "acme", "actor": "human:dpo", "reason": "DPA", "payload": {"days": "0.00001"}}
    assert httpx.post(f"{server.url}/v1/control/retention.set", json=period, headers=server.admin).status_code == 202
    wait_for(lambda: sql("SELECT count(*) AS n FROM events")[0]["n"] == 0, "serve's own retention run", timeout=60)
    runs = sql("SELECT actor_kind || ':' || actor_id AS actor, via, reason FROM control_events "
               "WHERE kind = 'retention.run'")
    assert runs and all(run == {"actor": "service:agenttrail", "via": "serve", "reason": "scheduled"} for run in runs)
