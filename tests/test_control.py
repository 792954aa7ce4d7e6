"""Governance changes travel the audited control topic and apply from their place in the store order."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from agenttrail import AuditUnavailableError, InvalidEventError, SecretInPayloadError, Settings, Trail
from agenttrail.consumers.store import open_store
from agenttrail.kafka import make_producer, send_and_wait
from agenttrail.producers.control import publish_control
from agenttrail.queries import run_query
from agenttrail.schemas.codec import control_codec
from agenttrail.schemas.control import TenantRegionsCleared, TenantRegionsSet, envelope, parse_payload
from tests.fixtures import cli_as, materialize


def _set_regions(settings: Settings, tenant: str, *regions: str) -> str:
    event = publish_control(settings, settings.bootstrap or "", tenant, TenantRegionsSet(regions=list(regions)),
                            actor="human:carol", via="test", reason="EU only")
    return event.event_id


def _act(trail: Trail, **where: str | None) -> str:
    with trail.action("tool.call", "fetch", resource=("bucket", "b1"), resource_region=where.get("resource"),
                      data_region=where.get("data")) as act:
        pass
    assert trail.flush(10)
    return act.event_id


def test_actions_outside_the_allowed_regions_are_listed_with_the_rule_in_force(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    before_rule = _act(trail, resource="us-east-1")
    assert materialize(settings, store, until=1) == 1
    rule = _set_regions(settings, "acme", "eu-west-1", "eu-central-1")
    assert materialize(settings, store, until=1, table="control_events") == 1
    outside_resource = _act(trail, resource="us-east-1", data="eu-west-1")
    outside_data = _act(trail, resource="eu-central-1", data="ap-south-1")
    _act(trail, resource="eu-west-1", data="eu-west-1")
    _act(trail, resource=None, data=None)
    assert materialize(settings, store, until=5) == 5

    rows = run_query(store, "locality-violations", {"tenant": "acme"}).to_pylist()
    assert {r["event_id"]: (r["outside"], r["region"]) for r in rows} == {
        outside_resource: ("resource", "us-east-1"), outside_data: ("data", "ap-south-1")}
    assert {r["rule_event_id"] for r in rows} == {rule}
    assert before_rule not in {r["event_id"] for r in rows}, "judged by the rule in force when it was stored"
    current = run_query(store, "tenant_regions", {}).to_pylist()
    assert [(r["tenant"], r["allowed"], r["set_by"]) for r in current] == [
        ("acme", "eu-central-1,eu-west-1", "human:carol")]


def test_clearing_the_regions_ends_violations_but_keeps_the_history(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    _set_regions(settings, "acme", "eu-west-1")
    publish_control(settings, settings.bootstrap or "", "acme", TenantRegionsCleared(), actor="human:dan",
                    via="test")
    assert materialize(settings, store, until=2, table="control_events") == 2
    _act(trail, resource="us-east-1")
    assert materialize(settings, store, until=1) == 1
    assert run_query(store, "locality_violations", {}).num_rows == 0
    history = store.execute("SELECT regions, valid_to_seq IS NULL FROM tenant_regions ORDER BY valid_from_seq")
    assert history.fetchall() == [(["eu-west-1"], False), (None, True)]


def test_bad_control_input_is_quarantined_and_never_applied(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    codec = control_codec()
    unknown = envelope("acme", TenantRegionsSet(regions=["eu-west-1"]), actor="human:eve", via="test",
                       reason=None, event_id="01931c1e-0000-7000-8000-00000000000a").to_avro()
    unknown["kind"] = "tenant.everything.delete"
    bad_payload = {**unknown, "kind": "tenant.regions.set", "event_id": "01931c1e-0000-7000-8000-00000000000b",
                   "payload": json.dumps({"regions": ["Not A Region!"]})}
    secret = {**unknown, "kind": "tenant.regions.set", "event_id": "01931c1e-0000-7000-8000-00000000000c",
              "reason": "rotated ghp_" + "a" * 36, "payload": json.dumps({"regions": ["eu-west-1"]})}
    producer = make_producer(settings, settings.bootstrap or "")
    values = [b"\x00garbage", codec.encode(unknown), codec.encode(bad_payload), codec.encode(secret)]
    assert all(send_and_wait(producer, settings.topic("control"), [(b"acme", v) for v in values], 10))
    producer.close()
    assert materialize(settings, store, until=4, table="quarantine") == 4

    reasons = store.execute("SELECT reason, detail, redacted FROM quarantine ORDER BY kafka_offset").fetchall()
    assert [r[0] for r in reasons] == ["undecodable", "invalid", "invalid", "secret"]
    assert "unknown" in reasons[1][1] and "regions" in reasons[2][1] and reasons[3][2] is True
    assert store.execute("SELECT count(*) FROM control_events").fetchone() == (0,)
    assert store.execute("SELECT count(*) FROM tenant_regions").fetchone() == (0,)


def test_a_change_the_broker_does_not_acknowledge_is_refused_not_assumed(settings: Settings) -> None:
    from agenttrail.broker import free_port

    with pytest.raises(AuditUnavailableError, match="not recorded and not applied"):
        publish_control(settings.model_copy(update={"delivery_timeout_ms": 500}), f"127.0.0.1:{free_port()}",
                        "acme", TenantRegionsCleared(), actor="human:carol", via="test")


def test_payloads_are_validated_by_their_kind_with_one_sentence() -> None:
    assert parse_payload("tenant.regions.set", '{"regions": ["b-1", "a-1", "a-1"]}') == TenantRegionsSet(
        regions=["a-1", "b-1"])
    with pytest.raises(InvalidEventError,
                       match=r"unknown; known kinds: access\.read, agent\.reinstate, agent\.suspend, anomaly\.ack"):
        parse_payload("budget.delete", "{}")
    with pytest.raises(InvalidEventError, match="regions"):
        parse_payload("tenant.regions.set", '{"regions": []}')


def test_regions_cli_records_the_change_and_control_lists_it(settings: Settings, tmp_path: Path) -> None:
    agenttrail = cli_as(settings, "frank")

    recorded = agenttrail("regions", "set", "acme", "eu-west-1", "--reason", "GDPR")
    assert recorded.returncode == 0, recorded.stderr
    assert "Recorded tenant.regions.set for acme" in recorded.stdout
    refused = agenttrail("regions", "set", "acme", "EU WEST")
    assert refused.returncode == 2 and "is not a region name" in refused.stderr and "Traceback" not in refused.stderr

    store = open_store(settings.db)
    assert materialize(settings, store, until=1, table="control_events") == 1
    store.close()
    listed = agenttrail("control", "--json")
    assert listed.returncode == 0, listed.stderr
    [change] = json.loads(listed.stdout)
    assert (change["kind"], change["actor"], change["reason"], change["via"]) == (
        "tenant.regions.set", "human:frank", "GDPR", "cli")
    assert json.loads(change["payload"]) == {"regions": ["eu-west-1"]}


def test_a_change_carrying_a_raw_secret_is_refused_before_it_reaches_the_log(settings: Settings) -> None:
    with pytest.raises(SecretInPayloadError, match=r"reason of this tenant\.regions\.clear change"):
        publish_control(settings, settings.bootstrap or "", "acme", TenantRegionsCleared(), actor="human:carol",
                        via="test", reason="rotated sk_live_" + "a" * 24)
