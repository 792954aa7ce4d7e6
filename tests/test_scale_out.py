"""Scale-out end to end: three `serve --shard` processes over six partitions, one SIGKILLed mid-run and
restarted, store and answer exactly what one process does with the same events.

Everything is real: the broker, four `agenttrail serve` processes (three shards, and one reading every
partition beside them as the reference), the fleet simulator driving the SDK over eight tenants, and the
CLI reading the shards through AGENTTRAIL_SHARDS. Governance is published before the fleet runs and after
it was stored, and waited for, so each change has the same place relative to the actions in every store:
a change published while actions are in flight lands where it arrives, in one process as in a shard (see
the README's design notes). The shards stop before their files are compared, since DuckDB lets no other
process open a file while its writer runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest

from agenttrail.client import QueryClient
from agenttrail.config import Settings
from agenttrail.consumers.policy import parse_rules
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.kafka import partition_of
from agenttrail.producers.control import publish_controls
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.scenarios import AnomalyShape
from agenttrail.producers.trail import connect
from agenttrail.schemas.control import (
    AgentReinstated,
    AgentSuspended,
    BudgetSet,
    ControlPayload,
    PolicySetLoaded,
    TenantRegionsSet,
    TokenRevoked,
)
from tests.fixtures import FINGERPRINT_KEY, Served, ServeFactory, SettingsFactory, scaled, wait_for

PARTITIONS, SHARDS, TENANTS = 6, 3, 8
EVENTS = scaled(6_000)
# The fleet lives 20 virtual minutes (pace 5): anomalies short enough to fit after the warm-up.
SHAPE = AnomalyShape(runaway_minutes=(0.5, 1.0), spree_minutes=(0.5, 1.5), leak_minutes=(0.5, 1.5),
                     creep_minutes=(1.5, 2.0))
WAIT_S = 120.0

# What a store numbers or stamps itself: its store sequence, and the clock of the batch that stored a row.
STORE_LOCAL = {
    "events": ("store_seq", "received_at"),
    "chain_nodes": (),
    "chain_rollups": (),
    "spend_daily": ("last_seq",),
    "budgets": ("valid_from_seq", "valid_to_seq", "valid_from", "valid_to"),
    "alerts": ("store_seq", "raised_at"),
    "anomaly_flags": ("raised_seq", "raised_at", "last_seq"),
    "token_lineage": ("first_seq", "parent_seq", "first_received", "parent_known_at"),
    "enforcement": ("valid_from_seq", "valid_from", "valid_to_seq", "valid_to"),
    "policy_decisions": ("store_seq", "decided_at"),
    "stream_gaps": ("opened_at", "closed_at"),  # store sequences, despite their names
    "tenant_regions": ("valid_from_seq", "valid_to_seq", "valid_from", "valid_to"),
}
# The same for the named queries' answers.
ANSWER_LOCAL = frozenset({"raised_at", "decided_at", "valid_from", "lifted_at", "since", "loaded_at", "until",
                          "revoked_at", "stopped_at", "received_at", "store_seq"})


@pytest.mark.slow
def test_three_shards_one_killed_and_restarted_store_and_answer_exactly_what_one_process_does(
    settings_factory: SettingsFactory, serve_factory: ServeFactory, tmp_path: Path
) -> None:
    settings = settings_factory(partitions=PARTITIONS)
    bootstrap = settings.bootstrap or ""
    env = {"AGENTTRAIL_BOOTSTRAP": bootstrap, "AGENTTRAIL_TOPIC_PREFIX": settings.topic_prefix,
           "AGENTTRAIL_HEALTH_INTERVAL_S": "0.3"}
    shard_env = {k: env | {"AGENTTRAIL_DB": f"shard-{k}.duckdb", "AGENTTRAIL_SHARD": f"{k}/{SHARDS}"}
                 for k in range(1, SHARDS + 1)}
    single = serve_factory(AGENTTRAIL_DB="single.duckdb", **env)
    shards = {k: serve_factory(**shard_env[k]) for k in shard_env}

    trail = connect(tenant="fleet", agent_id="fleet-simulator", agent_version="1", region="local",
                    principal="service:test", settings=settings)
    fleet = Fleet(trail, seed=11, agents=32, tenants=TENANTS, pace=5.0)
    tenants = sorted({agent.tenant for agent in fleet.agents})
    owners = {t: partition_of(t.encode(), PARTITIONS) % SHARDS + 1 for t in tenants}
    assert all(list(owners.values()).count(k) >= 2 for k in shards), f"each shard owns two tenants or more: {owners}"

    published = publish(settings, before_the_fleet(tenants))
    wait_stored([single, *shards.values()], settings.topic("control"), published, each=True)

    report: dict[str, Any] = {}
    producer = threading.Thread(target=lambda: report.update(
        run=fleet.run(EVENTS, anomalies=1, shape=SHAPE, wall_rate=700.0)))
    producer.start()
    victim = 2
    stored_before_kill = wait_for(partial(committed, shards[victim], settings.topic("actions"), least=EVENTS // 15),
                                  "shard 2 to commit a fifth of its share", timeout=WAIT_S)
    shards[victim].process.kill()  # SIGKILL: no shutdown, no last commit
    shards[victim].process.wait(10)
    time.sleep(1.0)  # the fleet keeps producing into its partitions meanwhile
    shards[victim] = serve_factory(**shard_env[victim])
    producer.join()
    assert trail.flush(60)
    produced = trail.emitter.stats.acked + trail.emitter.stats.keys_acked  # a person's key record is a record too
    trail.close()
    wait_stored(list(shards.values()), settings.topic("actions"), produced, each=False)
    wait_stored([single], settings.topic("actions"), produced, each=True)

    anomalies = {a.kind: a for a in report["run"].anomalies}
    leaked, runaway, spree = anomalies["leaked_token"], anomalies["runaway_loop"], anomalies["subscription_spree"]
    assert leaked.token_fingerprint is not None
    published += publish(settings, [
        (leaked.tenant, TokenRevoked(fingerprint=leaked.token_fingerprint, tree=True)),
        (runaway.tenant, AgentSuspended(agent_id=runaway.agent_id)),
        (spree.tenant, AgentSuspended(agent_id=spree.agent_id)),
    ])
    # Every shard's status endpoints answer for every token and agent: its own from its store, the others' from
    # their notices on the revocations topic; so a reinstatement reaches every shard too.
    for status in (f"tokens/{leaked.token_fingerprint}", f"agents/{runaway.agent_id}/status",
                   f"agents/{spree.agent_id}/status"):
        for server in shards.values():
            wait_for(partial(answers, server, status, stopped=True), f"{server.url} to say {status} is stopped")
    published += publish(settings, [(spree.tenant, AgentReinstated(agent_id=spree.agent_id))])
    for server in shards.values():
        wait_for(partial(answers, server, f"agents/{spree.agent_id}/status", stopped=False),
                 f"{server.url} to hear the reinstatement")
    wait_stored([single, *shards.values()], settings.topic("control"), published, each=True)
    victim_final = committed(shards[victim], settings.topic("actions"))
    assert 0 < stored_before_kill < victim_final, "the kill landed mid-run"

    merged = reader(settings, [s.url for s in shards.values()])
    alone = reader(settings.model_copy(update={"db": tmp_path / "single.duckdb"}), [])
    for name, params in asked(report["run"].sample_root_event_id, leaked.token_fingerprint, tenants, anomalies):
        assert answer(merged, name, params) == answer(alone, name, params), f"{name} {params}"
    for command in (["query", "spend_by_agent"], ["trail", "--agent", runaway.agent_id],
                    ["chain", report["run"].sample_root_event_id]):
        sharded = cli(tmp_path, env | {"AGENTTRAIL_SHARDS": json.dumps([s.url for s in shards.values()])}, *command)
        assert sharded == cli(tmp_path, env | {"AGENTTRAIL_DB": "single.duckdb"}, *command), command

    for server in [single, *shards.values()]:
        server.stop()
    for k in shards:
        assert_rebuild_equals_live(tmp_path / f"shard-{k}.duckdb", settings)
    print(f"\n{produced:,} records produced / stored by shards {stored_per_shard(tmp_path)} / one process "
          f"{stored_per_store(tmp_path / 'single.duckdb'):,}; shard {victim} SIGKILLed after committing "
          f"{stored_before_kill:,} of its {victim_final:,} records and restarted")
    assert_stores_equal(tmp_path, owners)


def before_the_fleet(tenants: list[str]) -> list[tuple[str, ControlPayload]]:
    """Every agent capped (suspended past 100%), a tenant budget, an EU-only tenant, and rules for every tenant."""
    rules = resources.files("agenttrail").joinpath("policies", "example.yaml").read_text("utf-8")
    return [
        *((tenant, BudgetSet(scope="agent:*", limit="5.00", currency="USD", period="day", on_exceed="suspend"))
          for tenant in tenants),
        ("umbrella", BudgetSet(scope="tenant:umbrella", limit="40.00", currency="USD", period="month")),
        ("acme", TenantRegionsSet(regions=["eu-west-1"])),
        ("*", PolicySetLoaded(name="example", sha256=parse_rules(rules).sha256, text=rules)),
    ]


def publish(settings: Settings, changes: list[tuple[str, ControlPayload]]) -> int:
    publish_controls(settings, settings.bootstrap or "", changes, actor="human:ops", via="test", reason="scale-out")
    return len(changes)


def committed(server: Served, topic: str, *, least: int = 0) -> int:
    """Records of ``topic`` the server's store has committed (its health snapshot: no read is recorded); 0 until
    there are at least ``least``."""
    status = httpx.get(f"{server.url}/v1/status", timeout=10).json()
    count = sum(int(p["next_offset"]) for p in status.get("partitions", []) if p["topic"] == topic)
    return count if count >= least else 0


def wait_stored(servers: list[Served], topic: str, total: int, *, each: bool) -> None:
    """Until ``total`` records of ``topic`` are committed by each server (``each``), or by all together."""
    def done() -> bool:
        counts = [committed(server, topic) for server in servers]
        return all(c == total for c in counts) if each else sum(counts) == total
    wait_for(done, f"{total} records of {topic} to be stored", timeout=WAIT_S)


def answers(server: Served, status: str, *, stopped: bool) -> bool:
    """Whether the server's status endpoint (what gateways poll) says the token or agent is ``stopped``, or not."""
    return httpx.get(f"{server.url}/v1/{status}", timeout=10).json()["active"] is not stopped


def reader(settings: Settings, shard_urls: list[str]) -> QueryClient:
    return QueryClient(settings.model_copy(update={"shards": shard_urls}))


def asked(sample: str | None, token: str | None, tenants: list[str],
          anomalies: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """The questions both must answer alike: every query that spans tenants, and per-tenant ones."""
    assert sample is not None and token is not None
    agent = anomalies["runaway_loop"].agent_id
    everything: list[tuple[str, dict[str, str]]] = [(name, {}) for name in (
        "alerts", "anomalies", "budgets", "control_log", "delegations", "events_by_tenant", "locality_violations",
        "policy_decisions", "policy_sets", "revocations", "spend_by_agent", "spend_over_time", "tenant_regions",
        "tokens", "used_after_revocation", "versions")]
    return [
        *everything,
        ("budget_forecast", {"as_of": datetime.now(UTC).isoformat(), "limit": "1000"}),
        ("trail", {"agent": agent, "limit": "100000"}),
        ("trail", {"agent": agent, "tenant": anomalies["runaway_loop"].tenant}),
        ("principal", {"principal": "human:alice@acme.example"}),
        ("chain", {"event_id": sample}), ("chain_summary", {"event_id": sample}),
        ("accountable", {"event_id": sample}), ("event", {"event_id": sample}),
        ("token_status", {"fingerprint": token}), ("token_lineage", {"fingerprint": token}),
        *(("spend_by_agent", {"tenant": tenant}) for tenant in tenants),
    ]


def answer(client: QueryClient, name: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """The rows, without what each store stamps itself; listings a store orders by arrival compared as sets."""
    table: pa.Table = client.query(name, params)
    rows = [{k: v for k, v in row.items() if k not in ANSWER_LOCAL} for row in table.to_pylist()]
    return sorted(rows, key=repr) if "raised_at" in table.column_names or name in _ARRIVAL_ORDER else rows


_ARRIVAL_ORDER = frozenset({"control_log", "policy_decisions", "revocations", "tokens", "used_after_revocation",
                            "policy_sets", "anomalies"})


def cli(workdir: Path, env: dict[str, str], *args: str) -> str:
    """``agenttrail ARGS --json`` in ``workdir``: through the shards, or the single store's server."""
    result = subprocess.run([sys.executable, "-m", "agenttrail.cli", *args, "--json"], cwd=workdir, text=True,
                            capture_output=True, timeout=60,
                            env=os.environ | {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY} | env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_rebuild_equals_live(db: Path, settings: Settings) -> None:
    con = open_store(db)
    try:
        assert check_rebuild(con, default_projections(settings), batch_size=997) == [], db
    finally:
        con.close()


def stored_per_store(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        [(count,)] = con.execute("SELECT count(*) FROM events").fetchall()
    return int(count)


def stored_per_shard(workdir: Path) -> list[int]:
    return [stored_per_store(workdir / f"shard-{k}.duckdb") for k in range(1, SHARDS + 1)]


def assert_stores_equal(workdir: Path, owners: dict[str, int]) -> None:
    """Every projection table of the three shard files together holds exactly the single store's rows, and each
    shard holds only its own tenants' rows."""
    with duckdb.connect() as con:
        for name in ("single", *(f"shard-{k}" for k in range(1, SHARDS + 1))):
            con.execute(f"ATTACH '{workdir / name}.duckdb' AS \"{name}\" (READ_ONLY)")
        for table, local in STORE_LOCAL.items():
            columns = f"* EXCLUDE ({', '.join(local)})" if local else "*"
            shards = "SELECT * FROM (" + " UNION ALL ".join(
                f'SELECT {columns} FROM "shard-{k}".{table}' for k in range(1, SHARDS + 1)) + ")"
            one = f'SELECT {columns} FROM "single".{table}'
            [(count,)] = con.execute(f"SELECT count(*) FROM ({one})").fetchall()
            [(extra,)] = con.execute(f"SELECT count(*) FROM ({shards} EXCEPT ALL {one})").fetchall()
            [(missing,)] = con.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {shards})").fetchall()
            assert (extra, missing) == (0, 0), f"{table}: {extra} rows only in the shards, {missing} only in one store"
            assert count > 0 or table == "stream_gaps", f"{table} is empty: the run proved nothing about it"
        for k in range(1, SHARDS + 1):
            found = {t for (t,) in con.execute(f'SELECT DISTINCT tenant FROM "shard-{k}".events').fetchall()}
            assert found == {t for t, owner in owners.items() if owner == k}, f"shard {k} holds {found}"

