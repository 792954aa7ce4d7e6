"""`agenttrail import cloudtrail` on a fixture tree of realistic CloudTrail log files, malformed ones included.

tests/cloudtrail/ is laid out as CloudTrail delivers to S3 (AWSLogs/<account>/CloudTrail/<region>/
<date>/<account>_CloudTrail_<region>_<time>_<unique>.json.gz, digests beside): an agent's role
session with a person's source identity, denials, a domain registration, a deploy, a root console
login failure, an AWS service acting, an access key created, the same global STS event in two
regions' files, and records and files that cannot be imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from agenttrail import Settings
from agenttrail.cloudtrail_import import import_cloudtrail
from agenttrail.consumers.store import open_store
from agenttrail.producers.ids import derived_event_id
from agenttrail.schemas.fingerprints import Fingerprinter
from tests.fixtures import FINGERPRINT_KEY, Served, ServeFactory, SettingsFactory, materialize

FIXTURES = Path(__file__).parent / "cloudtrail"
ROLE = "arn:aws:iam::111122223333:role/billing-agent"
KEYS = {"alice": "AKIAIOSFODNN7EXAMPLE", "session": "ASIAQ3EGQCYTKMPLBZ6X", "bob": "AKIAI44QH8DHBEXAMPLE",
        "created": "AKIAJ7XJN7QHJ3EXAMPL"}
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr"
fingerprint = Fingerprinter(SecretStr(FINGERPRINT_KEY), "k1").fingerprint


def run_import(server: Served) -> subprocess.CompletedProcess[str]:
    env = os.environ | server.env | {"AGENTTRAIL_SPOOL_DIR": str(server.workdir / "import-spool")}
    return subprocess.run([sys.executable, "-m", "agenttrail.cli", "import", "cloudtrail", str(FIXTURES),
                           "--tenant", "acme", "--json"], cwd=server.workdir, env=env, capture_output=True,
                          text=True, timeout=120)


def sql(server: Served, query: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/sql", params={"q": query}, headers=server.admin, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def by_event(server: Served) -> dict[str, dict[str, Any]]:
    rows = sql(server, "SELECT * EXCLUDE (raw) REPLACE (unseal(principal_id) AS principal_id, "
                       "unseal(source_address) AS source_address) FROM events")
    return {row["attributes"]["cloudtrail.event_id"]: row for row in rows}


def test_a_cloudtrail_tree_becomes_agent_actions_reports_bad_records_and_imports_once(
        serve_factory: ServeFactory) -> None:
    server = serve_factory()
    first = run_import(server)
    assert first.returncode == 0, first.stderr
    assert "Imported 11 new events from 17 records in 4 files (1 already in the trail, 7 bad); all stored" in \
        " ".join(first.stderr.split())
    bad = json.loads(first.stdout)
    reasons = {(Path(b["file"]).name.rsplit("_", 1)[-1], b["record"]): b["reason"] for b in bad}  # by unique name
    assert reasons[("truncated00000.json", None)].startswith("cannot be read as JSON")
    assert reasons[("notalogfile0000.json", None)] == 'not a CloudTrail log file: no "Records" list'
    assert reasons[("hfVDbWZm3p4N8cXk.json", 4)] == "missing eventTime"
    assert reasons[("hfVDbWZm3p4N8cXk.json", 5)] == "eventTime 'yesterday' is not an ISO 8601 time"
    assert reasons[("hfVDbWZm3p4N8cXk.json", 6)] == "the record is not a JSON object"
    assert reasons[("hfVDbWZm3p4N8cXk.json", 7)] == "missing userIdentity.type"
    assert "in the future" in reasons[("hfVDbWZm3p4N8cXk.json", 8)]
    assert len(bad) == 7 and all("CloudTrail-Digest" not in b["file"] for b in bad), "digest files are passed over"

    events = by_event(server)
    assert len(events) == 11 and {e["tenant"] for e in events.values()} == {"acme"}
    assume = events["3b8c4f9e-0c9d-4a6e-9d55-2b1f0b7e1a01"]
    assert assume["event_id"] == derived_event_id("cloudtrail", "acme", "3b8c4f9e-0c9d-4a6e-9d55-2b1f0b7e1a01")
    assert (assume["action_type"], assume["action_name"], assume["agent_id"]) == ("token.issue", "AssumeRole", "alice")
    assert assume["principal_kind"] == "human" and assume["principal_id"] == "arn:aws:iam::111122223333:user/alice"
    assert assume["token_fingerprint"] == fingerprint(KEYS["session"]), "the issued session key"
    assert assume["parent_token_fingerprint"] == fingerprint(KEYS["alice"]), "minted from alice's key"
    assert assume["token_issuer"] == "aws:sts" and assume["token_scopes"] == [ROLE]

    put = events["8f1d2e3c-4b5a-4e6f-8a9b-0c1d2e3f4a02"]
    assert (put["agent_id"], put["agent_region"], put["action_type"]) == ("billing-bot", "eu-west-1", "aws.s3")
    assert put["principal_kind"] == "human" and put["principal_id"] == "alice@acme.example", "the source identity"
    assert put["actor_chain"] == [{"kind": "agent", "id": "billing-bot"}, {"kind": "service", "id": ROLE}]
    assert put["resource_kind"] == "AWS::S3::Object"
    assert put["resource_id"] == "arn:aws:s3:::acme-invoices/2026/12/inv-1.pdf"
    assert put["resource_region"] == "eu-west-1" and put["source_address"] == "192.0.2.10"
    assert put["token_fingerprint"] == fingerprint(KEYS["session"]) and put["agent_runtime"].startswith("Boto3/")
    assert put["attributes"]["aws.role_arn"] == ROLE and put["attributes"]["cloudtrail.resource_count"] == "2"
    session = {e["trace_id"] for e in events.values() if e["agent_id"] == "billing-bot"}
    assert len(session) == 1, "one role session, one trace"
    denied = events["8f1d2e3c-4b5a-4e6f-8a9b-0c1d2e3f4a03"]
    assert (denied["outcome"], denied["error_code"]) == ("denied", "AccessDenied")
    assert events["8f1d2e3c-4b5a-4e6f-8a9b-0c1d2e3f4a06"]["outcome"] == "denied"  # Client.UnauthorizedOperation
    domain = events["8f1d2e3c-4b5a-4e6f-8a9b-0c1d2e3f4a04"]
    assert (domain["action_type"], domain["agent_region"]) == ("domain.register", "us-east-1")
    deploy = events["8f1d2e3c-4b5a-4e6f-8a9b-0c1d2e3f4a05"]
    assert deploy["action_type"] == "deploy.release" and deploy["resource_region"] == "eu-west-1"

    research = events["5d2a7b8c-9e0f-4a1b-8c2d-3e4f5a6b7c01"]
    assert research["agent_id"] == "research-bot" and research["action_type"] == "aws.bedrock"
    assert (research["principal_kind"], research["principal_id"]) == ("service", "arn:aws:iam::111122223333:role/"
                                                                                  "research-agent")
    login = events["5d2a7b8c-9e0f-4a1b-8c2d-3e4f5a6b7c02"]
    assert (login["action_type"], login["agent_id"], login["outcome"]) == ("auth.login", "root@111122223333", "failure")
    assert login["error_code"] == "ConsoleLoginFailure" and login["source_address"] == "203.0.113.77"
    by_service = events["5d2a7b8c-9e0f-4a1b-8c2d-3e4f5a6b7c03"]
    assert by_service["agent_id"] == by_service["principal_id"] == "cloudformation.amazonaws.com"
    created = events["5d2a7b8c-9e0f-4a1b-8c2d-3e4f5a6b7c10"]
    assert created["action_type"] == "token.issue" and created["token_issuer"] == "aws:iam"
    assert created["token_fingerprint"] == fingerprint(KEYS["created"])
    assert created["parent_token_fingerprint"] == fingerprint(KEYS["bob"])
    invalid = events["5d2a7b8c-9e0f-4a1b-8c2d-3e4f5a6b7c11"]
    assert invalid["outcome"] == "failure" and "[REDACTED]" in invalid["error_message"]

    stored_text = json.dumps(list(events.values()), default=str)
    for key in KEYS.values():
        assert key not in stored_text, "access key ids are kept as fingerprints only"
    assert SESSION_TOKEN not in stored_text
    [lineage] = sql(server, f"SELECT parent_fingerprint FROM token_lineage "
                            f"WHERE fingerprint = '{fingerprint(KEYS['session'])}'")
    assert lineage["parent_fingerprint"] == fingerprint(KEYS["alice"]), "revoking alice's key tree reaches the session"

    again = run_import(server)
    assert again.returncode == 0, again.stderr
    assert "Imported 0 new events from 17 records in 4 files (12 already in the trail, 7 bad)" in \
        " ".join(again.stderr.split())
    assert json.loads(again.stdout) == bad
    assert len(sql(server, "SELECT event_id FROM events")) == 11
    assert sql(server, "SELECT count(*) AS n FROM quarantine")[0]["n"] == 0
    assert sql(server, "SELECT count(*) AS n FROM stream_gaps")[0]["n"] == 0


def test_without_a_server_the_import_asks_the_file_and_still_imports_once(
        settings_factory: SettingsFactory, tmp_path: Path) -> None:
    settings: Settings = settings_factory(db=tmp_path / "offline.duckdb")
    first = import_cloudtrail([FIXTURES], settings, "acme")
    assert (first.emitted, first.already, len(first.bad), first.unsent) == (11, 1, 7, 0)
    assert first.waiting is None, "no server: nothing to wait for"
    store = open_store(settings.db)
    try:
        assert materialize(settings, store, until=11) == 11
    finally:
        store.close()
    again = import_cloudtrail([FIXTURES], settings, "acme")
    assert (again.emitted, again.already, len(again.bad)) == (0, 12, 7)
