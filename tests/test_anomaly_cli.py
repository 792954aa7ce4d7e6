"""Anomaly flags end to end: the SDK, the broker, the materializer, the alerts topic and the CLI."""

from __future__ import annotations

import json

import duckdb

from agenttrail import Settings, Trail
from agenttrail.consumers.store import open_store
from tests.fixtures import cli_as, materialize, published_alerts


def test_a_flag_is_announced_once_and_acknowledged_through_the_cli(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    agenttrail = cli_as(settings, "dana")

    for _ in range(12):  # 7,200 USD within a second from an agent with no history: past the cold-start ceiling
        with trail.action("llm.call", "draft") as act:
            act.set_cost("600.00", "USD", input_tokens=10, output_tokens=5)
    assert trail.flush(10)
    assert materialize(settings, store, until=12) == 12
    store.close()

    [flag] = json.loads(agenttrail("anomalies", "--open", "--kind", "spend_spike", "--json").stdout)
    assert (flag["scope"], flag["severity"], flag["status"]) == ("agent:agent-1", "critical", "open")
    assert flag["summary"].startswith("Agent agent-1: 5400.0 USD spent on llm.call in the 60 s from ")
    [published] = published_alerts(settings, expected=1)
    assert published["alert"]["alert_id"] == flag["flag_id"]
    assert published["alert"]["kind"] == "anomaly.spend_spike"
    assert published["alert"]["details"]["agent_id"] == "agent-1"

    missing = agenttrail("anomalies", "ack", "no-such-flag", "--note", "x")
    assert missing.returncode == 2 and "no anomaly flag" in missing.stderr and "Traceback" not in missing.stderr
    done = agenttrail("anomalies", "ack", flag["flag_id"], "--note", "load test, expected")
    assert done.returncode == 0, done.stderr
    reopened = open_store(settings.db)
    assert materialize(settings, reopened, until=1, table="control_events") == 1
    reopened.close()
    assert json.loads(agenttrail("anomalies", "--open", "--json").stdout) == []
    [acked] = json.loads(agenttrail("anomalies", "--kind", "spend_spike", "--json").stdout)
    assert (acked["status"], acked["acked_by"], acked["note"]) == ("acknowledged", "human:dana", "load test, expected")
