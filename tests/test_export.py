"""SIEM export: OCSF records a SIEM accepts, a cursor that resumes exactly, at-least-once delivery.

Events are written into a real store; the export reads it the way the CLI does
(the file here, or through `serve`), and sends to a real file or a real HTTP
server on 127.0.0.1.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail._exceptions import ExportError
from agenttrail.client import QueryClient
from agenttrail.config import load_settings
from agenttrail.consumers.store import open_store
from agenttrail.export import Cursors, StreamSink, WebhookSink, export
from agenttrail.ocsf import API_ACTIVITY, AUTHENTICATION
from tests.chain_events import event, store_events
from tests.fixtures import Receiver
from tests.test_cli import agenttrail

# From the OCSF schema (github.com/ocsf/ocsf-schema): events/base_event.json, events/application/api_activity.json,
# events/iam/authentication.json and the objects they name. "at least one" is each object's constraint.
BASE_REQUIRED = ("activity_id", "category_uid", "class_uid", "metadata", "severity_id", "time", "type_uid")
CLASS_REQUIRED = {API_ACTIVITY: ("actor", "api", "src_endpoint"), AUTHENTICATION: ("user",)}
ACTIVITY_IDS = {API_ACTIVITY: {0, 1, 2, 3, 4, 99}, AUTHENTICATION: {0, 1, 2, 3, 4, 5, 6, 7, 99}}
AT_LEAST_ONE = {
    "actor": ("process", "user", "iam_role", "invoked_by", "session", "app_name", "app_uid"),
    "src_endpoint": ("ip", "uid", "name", "hostname", "svc_name", "instance_uid", "interface_uid", "interface_name",
                     "domain"),
    "user": ("account", "name", "uid"),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "export.duckdb"
    con = open_store(path)
    store_events(con, varied_events("a"))
    con.close()
    return path


def varied_events(tag: str) -> list[dict[str, Any]]:
    """One of each kind of action a SIEM must take: paid calls, purchases, tokens, failures, odd values."""
    return [
        event(f"{tag}-llm", action_type="llm.call", action_name="summarize", cost_amount=Decimal("0.042"),
              cost_currency="USD", input_tokens=1200, output_tokens=80, source_address="192.0.2.10"),
        event(f"{tag}-buy", action_type="subscription.activate", action_name="activate_team",
              resource_kind="subscription", resource_id="sub_1", resource_region="us-east-1"),
        event(f"{tag}-issue", action_type="token.issue", action_name="issue_token",
              token_fingerprint="hmac-sha256:k1:" + "ab" * 32),
        event(f"{tag}-use", action_type="token.use", action_name="call_api", outcome="denied",
              error_code="revoked", error_message="token revoked", source_address="host.internal"),
        event(f"{tag}-odd", action_type="tool.call", action_name="<script>alert(1)</script>",
              attributes={"note": "\x1b[31mred\x1b[0m", "sql": "'; DROP TABLE events; --"}),
    ]


def run(db: Path, out: Path, **options: Any) -> int:
    client = QueryClient(load_settings(db=db))
    with out.open("a", encoding="utf-8") as stream:
        return export(client, StreamSink(stream), **({"fmt": "ocsf"} | options))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_every_ocsf_record_has_the_attributes_its_class_requires(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "trail.ocsf.jsonl"
    assert run(db, out) == 5
    records = lines(out)
    for record in records:
        for name in (*BASE_REQUIRED, *CLASS_REQUIRED[record["class_uid"]]):
            assert record.get(name) not in (None, "", {}), f"{record['metadata']['uid']}: {name} is missing"
        assert record["activity_id"] in ACTIVITY_IDS[record["class_uid"]]
        assert record["type_uid"] == record["class_uid"] * 100 + record["activity_id"]
        assert record["category_uid"] == record["class_uid"] // 1000
        assert record["metadata"]["version"] and record["metadata"]["product"]["name"] == "AgentTrail"
        for obj, names in AT_LEAST_ONE.items():
            if obj in record:
                assert any(record[obj].get(n) for n in names), f"{obj} needs one of {names}"
        if record["class_uid"] == API_ACTIVITY:
            assert record["api"]["operation"]
    by_id = {r["metadata"]["uid"]: r for r in records}
    assert [by_id[f"a-{k}"]["class_uid"] for k in ("llm", "buy", "issue", "use")] == [
        API_ACTIVITY, API_ACTIVITY, AUTHENTICATION, AUTHENTICATION]
    assert by_id["a-buy"]["activity_id"] == 1 and by_id["a-buy"]["resources"] == [
        {"type": "subscription", "uid": "sub_1", "region": "us-east-1"}]
    assert by_id["a-llm"]["src_endpoint"]["ip"] == "192.0.2.10"
    assert by_id["a-llm"]["unmapped"]["cost_amount"] == "0.042000000", "exact money, as text"
    assert (by_id["a-use"]["status_id"], by_id["a-use"]["status_code"]) == (2, "revoked")
    assert by_id["a-use"]["src_endpoint"]["hostname"] == "host.internal", "not an IP, so not in ip"
    assert by_id["a-issue"]["user"]["credential_uid"].startswith("hmac-sha256:k1:")


def test_stored_values_leave_as_json_text_never_as_control_characters(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "trail.jsonl"
    run(db, out, fmt="jsonl")
    text = out.read_text("utf-8")
    assert "\x1b" not in text and "\\u001b[31mred" in text, "an escape sequence arrives escaped"
    odd = next(r for r in lines(out) if r["event_id"] == "a-odd")
    assert odd["action_name"] == "<script>alert(1)</script>", "kept verbatim, as data"
    assert odd["attributes"]["sql"] == "'; DROP TABLE events; --"
    assert "raw" not in odd


def test_an_export_resumes_at_its_cursor_and_sends_each_event_once(db: Path, tmp_path: Path) -> None:
    out, cursors = tmp_path / "trail.ocsf.jsonl", Cursors(tmp_path / "cursors.json")
    assert run(db, out, cursors=cursors, cursor="siem") == 5
    assert run(db, out, cursors=cursors, cursor="siem") == 0, "nothing new, nothing sent"
    con = open_store(db)
    store_events(con, varied_events("b"))
    con.close()
    assert run(db, out, cursors=cursors, cursor="siem") == 5
    uids = [r["metadata"]["uid"] for r in lines(out)]
    assert uids == [f"{t}-{k}" for t in "ab" for k in ("llm", "buy", "issue", "use", "odd")]
    print(f"\nexport: 10 stored / {len(uids)} exported / {len(uids) - len(set(uids))} duplicates over three runs")


def test_a_refused_chunk_leaves_the_cursor_so_the_next_run_sends_it(db: Path, tmp_path: Path,
                                                                      receiver: Receiver) -> None:
    client, cursors = QueryClient(load_settings(db=db)), Cursors(tmp_path / "cursors.json")
    receiver.statuses = [503]
    with pytest.raises(ExportError, match="answered 503"):
        export(client, WebhookSink(receiver.url, token="siem-token"), fmt="ocsf", cursors=cursors, cursor="hook")
    assert cursors.get("hook") is None
    assert export(client, WebhookSink(receiver.url, token="siem-token"), fmt="ocsf", cursors=cursors,
                  cursor="hook") == 5
    headers, body = receiver.received[-1]
    assert headers["content-type"] == "application/x-ndjson" and headers["authorization"] == "Bearer siem-token"
    assert [json.loads(line)["metadata"]["uid"] for line in body.decode().splitlines()] == [
        f"a-{k}" for k in ("llm", "buy", "issue", "use", "odd")]


def test_export_command_appends_resumes_and_reports(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = agenttrail("--db", str(db), "export", "--cursor", "nightly", "-o", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Exported 5 events; cursor 'nightly' is past them." in " ".join(first.stderr.split())
    again = agenttrail("--db", str(db), "export", "--cursor", "nightly", "-o", str(out), cwd=tmp_path)
    assert again.returncode == 0 and len(lines(out)) == 5
    bad = agenttrail("--db", str(db), "export", "--since", "yesterday-ish", cwd=tmp_path)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr


def test_rows_are_read_in_store_order_in_chunks(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agenttrail.export.CHUNK", 2)
    out = tmp_path / "chunked.jsonl"
    assert run(db, out, fmt="jsonl") == 5
    assert [r["store_seq"] for r in lines(out)] == sorted(r["store_seq"] for r in lines(out))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(5,)]
