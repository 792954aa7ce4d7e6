"""Shards split a topic by tenant: each stores its partitions' events and the governance changes that concern
them, refuses to be filled as another shard, and together answer named queries as one store does.

Real broker and real DuckDB files; the materializers run in this process, one per shard, as `consume --shard`
runs them. The reader is the real ``ShardReader``, asking each shard's store directly instead of its server
(``test_scale_out.py`` does it through `serve --shard` processes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agenttrail._exceptions import ShardError
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.health import measure_once
from agenttrail.kafka import partition_of
from agenttrail.producers.control import publish_controls
from agenttrail.producers.trail import connect
from agenttrail.queries import run_query
from agenttrail.schemas.control import BudgetSet, ControlPayload, PolicySetRemoved, TrailRead
from agenttrail.shard_reader import ShardReader
from agenttrail.shards import Ownership, Shard
from tests.fixtures import BrokerHandle, SettingsFactory, isolated_settings, materialize, stored_count

PARTITIONS, SHARDS = 6, 3
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wonka", "oscorp")
OWNER = {tenant: partition_of(tenant.encode(), PARTITIONS) % SHARDS + 1 for tenant in TENANTS}


def shard_settings(settings: Settings, k: int) -> Settings:
    return settings.model_copy(update={"db": settings.db.with_name(f"shard-{k}.duckdb"), "shard": f"{k}/{SHARDS}"})


def changes() -> list[tuple[str, ControlPayload]]:
    """A budget per tenant, a change for every tenant, a read of every tenant and a read of one."""
    read = TrailRead(method="GET", route="/v1/queries/{name}", path="/v1/queries/alerts", status=200, rows=0)
    return [*((tenant, BudgetSet(scope="agent:*", limit="1.00", currency="USD", period="day")) for tenant in TENANTS),
            ("*", PolicySetRemoved(name="never-loaded")), ("*", read), ("acme", read)]


def kept_by(k: int) -> list[tuple[str, str]]:
    """(tenant, kind) of the changes shard ``k`` keeps: its tenants', every tenant's, and every tenant's reads
    only where the key '*' lands."""
    star = partition_of(b"*", PARTITIONS) % SHARDS + 1
    return [(tenant, payload.kind) for tenant, payload in changes()
            if OWNER.get(tenant) == k or (tenant == "*" and (payload.kind != "access.read" or star == k))]


@pytest.fixture(scope="module")
def sharded(broker: BrokerHandle, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[int, Settings]]:
    """Three shard stores and one store of everything, materialized from one topic of six partitions."""
    settings = isolated_settings(tmp_path_factory.mktemp("shards"), broker.bootstrap, partitions=PARTITIONS,
                                 decode_worker=False)
    publish_controls(settings, broker.bootstrap, changes(), actor="human:ops", via="test")
    fleet = connect(tenant="fleet", agent_id="fleet", agent_version="1", region="local", principal="service:test",
                    settings=settings)
    for i, tenant in enumerate(TENANTS):
        trail = fleet.for_agent(tenant=tenant, agent_id=f"agent-{tenant}", agent_version="1.0.0",
                                region="eu-west-1", principal=f"human:alice@{tenant}.example")
        for n in range(i + 1):
            with trail.action("llm.call", f"call-{n}") as act:
                act.set_cost("0.250000000", "USD", input_tokens=10, output_tokens=5)
    assert fleet.flush(10)
    fleet.close()
    shards = {k: shard_settings(settings, k) for k in range(1, SHARDS + 1)}
    for k, own in shards.items():
        with open_store(own.db) as con:
            expected = sum(i + 1 for i, tenant in enumerate(TENANTS) if OWNER[tenant] == k)
            assert materialize(own, con, until=expected) == expected
            assert materialize(own, con, until=len(kept_by(k)), table="control_events") == len(kept_by(k))
    with open_store(settings.db) as con:
        total = sum(range(1, len(TENANTS) + 1))
        assert materialize(settings, con, until=total) == total
        assert materialize(settings, con, until=len(changes()), table="control_events") == len(changes())
    return settings, shards


def test_a_tenants_events_are_in_the_partition_the_shards_compute_for_it(
    sharded: tuple[Settings, dict[int, Settings]]
) -> None:
    settings, _ = sharded
    with duckdb.connect(str(settings.db), read_only=True) as con:
        stored = dict(con.execute("SELECT DISTINCT tenant, kafka_partition FROM events").fetchall())
    assert stored == {tenant: partition_of(tenant.encode(), PARTITIONS) for tenant in TENANTS}


def test_each_shard_stores_its_tenants_and_the_governance_changes_that_concern_it(
    sharded: tuple[Settings, dict[int, Settings]]
) -> None:
    _, shards = sharded
    all_events: Counter[str] = Counter()
    for k, own in shards.items():
        with duckdb.connect(str(own.db), read_only=True) as con:
            tenants = dict(con.execute("SELECT tenant, count(*) FROM events GROUP BY tenant").fetchall())
            control = sorted(con.execute("SELECT tenant, kind FROM control_events").fetchall())
            budgets = {t for (t,) in con.execute("SELECT tenant FROM budgets").fetchall()}
        assert set(tenants) == {t for t in TENANTS if OWNER[t] == k}, "a shard stores its partitions' tenants only"
        assert control == sorted(kept_by(k))
        assert budgets == set(tenants), "a tenant's budget is applied by its shard alone"
        all_events.update(tenants)
    assert all_events == {tenant: i + 1 for i, tenant in enumerate(TENANTS)}, "every event stored once"


def test_a_store_filled_as_one_shard_refuses_to_be_filled_as_another(
    sharded: tuple[Settings, dict[int, Settings]], settings_factory: SettingsFactory
) -> None:
    settings, shards = sharded
    first = shards[1]
    refusals = {
        "as shard 2": (first.model_copy(update={"shard": "2/3"}), "was filled as shard 1/3"),
        "without --shard": (first.model_copy(update={"shard": None}), "was filled as shard 1/3"),
        "fewer partitions": (settings_factory(partitions=3).model_copy(update={"db": first.db, "shard": "1/3"}),
                             "was filled from 6 partitions and the actions topic now has 3"),
        "everything as a shard": (settings.model_copy(update={"shard": "1/3"}), "holds every partition's tenants"),
    }
    for case, (wrong, says) in refusals.items():
        with open_store(wrong.db) as con:
            materializer = Materializer(wrong, wrong.bootstrap or "", con)
            with pytest.raises(ShardError, match=says):
                materializer.start()
            materializer.close()
            assert stored_count(con) > 0, case


def test_a_shard_measures_lag_on_its_own_partitions_only(sharded: tuple[Settings, dict[int, Settings]]) -> None:
    _, shards = sharded
    with open_store(shards[2].db, read_only=True) as con:
        snapshot = measure_once(shards[2], shards[2].bootstrap or "", con, Materializer.topics_for(shards[2]))
    parts = {(p.topic.rsplit(".", 1)[1], p.partition) for p in snapshot.partitions}
    assert parts == {("actions", 1), ("actions", 4), *(("control", p) for p in range(PARTITIONS))}
    assert snapshot.lag == 0


def test_the_shards_together_answer_named_queries_as_one_store(sharded: tuple[Settings, dict[int, Settings]]) -> None:
    settings, shards = sharded
    stores = {f"shard-{k}": open_store(own.db, read_only=True) for k, own in shards.items()}
    asked: Counter[str] = Counter()

    def ask(url: str, name: str, params: Mapping[str, str | None]) -> pa.Table:
        asked[url] += 1
        return run_query(stores[url], name, params)

    def describe(url: str) -> dict[str, object]:
        ownership = Ownership(Shard.parse(f"{url.removeprefix('shard-')}/{SHARDS}"), PARTITIONS)
        return {"shard": str(ownership.shard), "topic": settings.topic("actions"), "partition_count": PARTITIONS,
                "partitions": ownership.owned_partitions}

    reader = ShardReader(list(stores), ask, describe)
    try:
        with open_store(settings.db, read_only=True) as one:
            stark = {"tenant": "stark", "scope": "agent:agent-stark", "as_of": datetime.now(UTC).isoformat()}
            for name, params in (("spend_by_agent", {}), ("events_by_tenant", {}), ("budgets", {}),
                                 ("trail", {"agent": "agent-wonka"}), ("budget_status", stark)):
                assert rows(reader.query(name, params)) == rows(run_query(one, name, params)), name
            # One store lists governance by its own arrival order; the shards' merge, by when each change was made.
            for name in ("control_log", "access_log"):
                merged = rows(reader.query(name, {}))
                assert [r["occurred_at"] for r in merged] == sorted((r["occurred_at"] for r in merged), reverse=True)
                assert sorted(merged, key=repr) == sorted(rows(run_query(one, name, {})), key=repr), name
            summary = {r["what"]: r["count"] for r in rows(reader.query("governance_summary", {}))}
            assert summary.pop("signed checkpoints") == SHARDS, "each shard seals its own store"
            assert summary == {r["what"]: r["count"] for r in rows(run_query(one, "governance_summary", {}))
                               if r["what"] != "signed checkpoints"}
            asked.clear()
            acme = {"tenant": "acme"}
            assert rows(reader.query("spend_by_agent", acme)) == rows(run_query(one, "spend_by_agent", acme))
            assert asked == {f"shard-{OWNER['acme']}": 1}, "a tenant's question goes to its shard alone"
    finally:
        for con in stores.values():
            con.close()


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows without what a store stamps itself (its store order, the time of its batches)."""
    local = {"store_seq", "received_at", "since", "loaded_at"}
    return [{k: v for k, v in row.items() if k not in local} for row in table.to_pylist()]

