"""The merging reader's rules: every named query has one, listings merge like one store's order, and what cannot
be merged, or a set of shards that does not cover the topic once, is refused with one sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from agenttrail._exceptions import ShardError, UnmergeableQueryError
from agenttrail.queries import list_queries
from agenttrail.shard_merge import RULES, Listing, Regroup, rule_for
from agenttrail.shard_reader import map_shards

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_every_named_query_has_a_merge_rule() -> None:
    assert set(RULES) == {query.name for query in list_queries()}


def test_a_listing_merges_in_the_querys_order_keeping_each_shards_own_drops_repeats_and_limits() -> None:
    def at(*seconds: int) -> list[datetime]:
        return [T0 + timedelta(seconds=s) for s in seconds]

    first = pa.table({"occurred_at": at(9, 5, 5, 1), "event_id": ["a9", "a5", "global", "a1"]})
    second = pa.table({"occurred_at": at(8, 5, 3), "event_id": ["b8", "global", "b3"]})
    merged = Listing((("occurred_at", True),), dedupe="event_id").merge([first, second], limit=5)
    assert merged.column("event_id").to_pylist() == ["a9", "b8", "a5", "global", "b3"]
    assert Listing((("occurred_at", True),)).merge([first, second], limit=None).num_rows == 7


def test_a_listing_orders_ascending_and_descending_columns_with_nulls_last() -> None:
    spend = Listing((("currency", False), ("spend", True), ("tenant", False)))
    first = pa.table({"currency": ["EUR", "USD", None], "spend": [Decimal("3"), Decimal("9"), Decimal("1")],
                      "tenant": ["acme", "acme", "acme"]})
    second = pa.table({"currency": ["EUR", "USD"], "spend": [Decimal("5"), Decimal("9")], "tenant": ["wonka", "hooli"]})
    merged = spend.merge([first, second], limit=None).to_pylist()
    assert [(r["currency"], r["tenant"]) for r in merged] == [
        ("EUR", "wonka"), ("EUR", "acme"), ("USD", "acme"), ("USD", "hooli"), (None, "acme")]


def test_counts_add_up_across_shards_in_one_stores_order() -> None:
    def summary(*counts: int) -> pa.Table:
        return pa.table({"what": ["budget alerts", "anomaly flags", "signed checkpoints"],
                         "count": pa.array(counts, pa.int64())})

    merged = Regroup("governance_summary").merge([summary(2, 0, 1), summary(3, 4, 1)], limit=None)
    assert merged.to_pylist() == [{"what": "budget alerts", "count": 5}, {"what": "anomaly flags", "count": 4},
                                  {"what": "signed checkpoints", "count": 2}]


def test_the_shard_that_knows_a_token_answers_for_it() -> None:
    def status(active: bool, known: bool, holder: str | None) -> pa.Table:
        return pa.table({"fingerprint": ["hmac-sha256:k1:ab"], "active": [active], "known": [known],
                         "holder": pa.array([holder], pa.string())})

    merged = RULES["token_status"].merge([status(True, False, None), status(False, True, "agent-1"),
                                         status(True, False, None)], limit=None)
    assert merged.to_pylist() == [{"fingerprint": "hmac-sha256:k1:ab", "active": False, "known": True,
                                   "holder": "agent-1"}]


def test_an_erasure_of_every_tenant_counts_the_keys_each_shard_destroyed_once() -> None:
    def erasures(*rows: tuple[str, str, int]) -> pa.Table:
        return pa.table({"erased_at": [datetime(2026, 12, 4, 12, minute, tzinfo=UTC) for _, _, minute in rows],
                         "tenant": [tenant for _, tenant, _ in rows],
                         "keys_destroyed": pa.array([2 if tenant == "*" else 1 for _, tenant, _ in rows], pa.int64()),
                         "asked_by": ["human:dpo"] * len(rows), "reason": ["GDPR art. 17"] * len(rows),
                         "subject_digest": ["sha256:aa"] * len(rows), "event_id": [event for event, _, _ in rows]})

    merged = RULES["erasures"].merge([erasures(("everywhere", "*", 5), ("acme-only", "acme", 9)),
                                      erasures(("everywhere", "*", 5))], limit=None).to_pylist()
    assert [(r["event_id"], r["tenant"], r["keys_destroyed"]) for r in merged] == [
        ("acme-only", "acme", 1), ("everywhere", "*", 4)]


@pytest.mark.parametrize(("name", "given", "says"), [
    ("export_events", set(), "pages by one store's order"),
    ("trail_search", {"agent"}, "pages by one store's order"),
    ("actions_by_type", set(), "distinct agent ids across tenants"),
    ("events_by_tenant", {"after_seq"}, "parameter after_seq is a position in one store's order"),
    ("governance_summary", {"after_seq"}, "parameter after_seq is a position in one store's order"),
])
def test_what_cannot_be_merged_is_refused_in_one_sentence(name: str, given: set[str], says: str) -> None:
    with pytest.raises(UnmergeableQueryError, match=says) as refused:
        rule_for(name, given)
    assert "give --param tenant=T" in str(refused.value) and str(refused.value).count(". ") == 0


def _shard(partitions: list[int], topic: str = "agenttrail.actions", count: int = 6) -> dict[str, object]:
    return {"shard": None, "topic": topic, "partition_count": count, "partitions": partitions}


def test_shards_that_cover_every_partition_once_map_each_tenant_to_its_owner() -> None:
    found = map_shards({"http://a": _shard([0, 3]), "http://b": _shard([1, 4]), "http://c": _shard([2, 5])})
    assert found.owner_of("acme") == "http://a" and found.owner_of("stark") == "http://c"  # partitions 0 and 2


@pytest.mark.parametrize(("described", "says"), [
    ({"http://a": _shard([0, 3]), "http://b": _shard([1, 4])}, "No shard in AGENTTRAIL_SHARDS stores partition 2, 5"),
    ({"http://a": _shard([0, 1, 2]), "http://b": _shard([2, 3, 4, 5])}, "Partition 2 of agenttrail.actions is stored "
                                                                        "by both http://a and http://b"),
    ({"http://a": _shard([0, 1, 2]), "http://b": _shard([3, 4, 5], topic="other.actions")}, "read different topics"),
    ({"http://a": _shard([0, 1, 2]), "http://b": _shard([3, 4, 5], count=12)}, "read different topics"),
])
def test_shards_that_miss_or_double_a_partition_or_read_other_topics_are_refused(
    described: dict[str, dict[str, object]], says: str
) -> None:
    with pytest.raises(ShardError, match=says):
        map_shards(described)
