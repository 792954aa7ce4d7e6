"""Revocation end to end through `agenttrail serve`: HTTP and CLI in, status endpoint, topic and issuer webhook out.

Everything is real: the server process with its embedded broker and materializer,
the SDK emitting a delegated token lineage, a local HTTP server standing in for the
token issuer, and a plain Kafka consumer reading the compacted revocations topic.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from agenttrail import TokenRevokedError
from agenttrail.config import Settings
from agenttrail.kafka import make_consumer, partitions_for
from agenttrail.producers.trail import Trail, connect
from agenttrail.schemas.codec import revocation_codec
from tests.fixtures import Receiver, Served, ServeFactory, client_settings, wait_for
from tests.test_cli import agenttrail

ISSUER = "https://idp.acme.example"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROOT_TOKEN, CHILD_TOKEN, GRANDCHILD_TOKEN = ("at_root_" + "r" * 24, "at_child_" + "c" * 24, "at_grand_" + "g" * 24)


def issue(trail: Trail, raw: str, parent: str | None) -> str:
    with trail.action("token.issue", "issue_token", resource=("principal", str(trail.agent["id"]))) as act:
        return act.use_token(raw, issuer=ISSUER, parent_token=parent)


def delegated_lineage(settings: Settings) -> list[str]:
    """A planner gets a token and delegates twice, each delegate minting a down-scoped child."""
    planner = connect(tenant="acme", agent_id="planner", agent_version="1.0.0", region="eu-west-1",
                      principal="human:alice", settings=settings)
    researcher = planner.delegate("researcher", "1.0.0")
    scraper = researcher.delegate("scraper", "1.0.0")
    fingerprints = [issue(planner, ROOT_TOKEN, None), issue(researcher, CHILD_TOKEN, ROOT_TOKEN),
                    issue(scraper, GRANDCHILD_TOKEN, CHILD_TOKEN)]
    planner.close()
    return fingerprints


def token_status(server: Served, fingerprint: str, *, lineage: bool = False) -> dict[str, Any]:
    """The status endpoint's answer: from the server's in-memory state, or with ``lineage`` from the store."""
    response = httpx.get(f"{server.url}/v1/tokens/{fingerprint}", params={"lineage": str(lineage).lower()})
    assert response.status_code == 200, response.text
    return dict(response.json())


def assert_memory_equals_store(server: Served, fingerprint: str) -> None:
    """The fast answer (the state the materializer keeps) says what the stored history says."""
    fast, stored = token_status(server, fingerprint), token_status(server, fingerprint, lineage=True)
    assert fast == {key: stored[key] for key in fast}


def notices(settings: Settings, expected: int) -> list[tuple[str, dict[str, Any]]]:
    """(key, notice) pairs on the revocations topic, once ``expected`` of them are there."""
    consumer = make_consumer(settings, settings.bootstrap or "")
    consumer.assign(partitions_for(consumer, settings.topic("revocations")))
    consumer.seek_to_beginning()
    found: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + 30
    while len(found) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            found.extend(((r.key or b"").decode(), revocation_codec().decode(r.value)) for r in records)
    consumer.close()
    return found


def test_a_leaked_token_revoked_over_http_takes_its_tree_and_reaches_status_topic_and_issuer(
    serve_factory: ServeFactory, receiver: Receiver
) -> None:
    hook = {"name": "idp", "url": receiver.url, "secret": SECRET, "kinds": ["token.*"], "issuers": [ISSUER]}
    server = serve_factory(AGENTTRAIL_WEBHOOKS=json.dumps([hook]))
    settings = client_settings(server)
    root, child, grandchild = delegated_lineage(settings)
    wait_for(lambda: token_status(server, grandchild, lineage=True)["known"], "the lineage to be stored")
    assert token_status(server, child, lineage=True)["parent_fingerprint"] == root

    form = {"token": ROOT_TOKEN, "token_type_hint": "access_token", "reason": "leaked in a public gist",
            "tree": "true"}
    assert httpx.post(f"{server.url}/v1/revoke", data=form).status_code == 401
    assert httpx.post(f"{server.url}/v1/revoke", data=form, headers={"Authorization": "Bearer nope"}) \
        .status_code == 401
    malformed = httpx.post(f"{server.url}/v1/revoke", data={"reason": "no token"}, headers=server.admin)
    assert malformed.status_code == 400 and "exactly one of token" in malformed.json()["detail"]
    accepted = httpx.post(f"{server.url}/v1/revoke", data=form, headers=server.admin)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["subject"] == root, "the raw token is fingerprinted on arrival"

    wait_for(lambda: not token_status(server, grandchild)["active"], "the cascade to reach the grandchild")
    statuses = [token_status(server, fp) for fp in (root, child, grandchild)]
    assert [(s["active"], s["root"], s["decided_by"]) for s in statuses] == [(False, root, "service:http")] * 3
    assert statuses[0]["reason"] == "leaked in a public gist"
    assert statuses[2]["reason"] == f"minted from revoked token {root}: leaked in a public gist"
    for fp in (root, child, grandchild):
        assert_memory_equals_store(server, fp)

    keyed = dict(notices(settings, 3))
    assert set(keyed) == {root, child, grandchild}
    assert {n["status"] for n in keyed.values()} == {"revoked"}
    wait_for(lambda: len(receiver.received) >= 3, "the issuer's three webhooks")
    bodies = [json.loads(body) for _, body in receiver.received]
    assert sorted(b["scope"] for b in bodies) == sorted(f"token:{fp}" for fp in (root, child, grandchild))
    assert {b["kind"] for b in bodies} == {"token.revoked"} and {b["details"]["issuer"] for b in bodies} == {ISSUER}

    stored = httpx.get(f"{server.url}/v1/sql", params={"q": "SELECT payload FROM control_events"}).json()
    assert ROOT_TOKEN not in json.dumps(stored), "the raw token is never stored"

    scraper = connect(tenant="acme", agent_id="scraper", agent_version="1.0.0", region="ap-south-1",
                      principal="human:alice", settings=settings)
    assert scraper.guard is not None
    wait_for(lambda: scraper.guard.revoked(grandchild) if scraper.guard else None, "the guard to see the notice")
    ran = False
    with pytest.raises(TokenRevokedError, match="revoked"), scraper.action("api.call", "scrape") as act:
        act.use_token(GRANDCHILD_TOKEN, issuer=ISSUER)
        ran = True
    scraper.close()
    assert not ran, "the guard refuses before the agent uses the token"
    used = wait_for(lambda: httpx.get(f"{server.url}/v1/queries/used-after-revocation").json(),
                    "the refused attempt to be stored")
    assert [(u["agent_id"], u["outcome"], u["error_code"], u["token_fingerprint"]) for u in used] == [
        ("scraper", "denied", "TokenRevokedError", grandchild)]


def test_a_suspension_survives_a_restart_on_a_fresh_broker_is_announced_once_and_is_lifted_by_reinstatement(
    serve_factory: ServeFactory, receiver: Receiver
) -> None:
    hooks = json.dumps([{"name": "oncall", "url": receiver.url, "secret": SECRET, "kinds": ["agent.*"]}])
    server = serve_factory(AGENTTRAIL_WEBHOOKS=hooks)
    suspend = {"agent_id": "support-acme", "tenant": "acme", "reason": "resending a paid call in a loop"}
    assert httpx.post(f"{server.url}/v1/revoke", json=suspend, headers=server.admin).status_code == 200
    status_url = f"{server.url}/v1/agents/support-acme/status"
    wait_for(lambda: not httpx.get(status_url).json()["active"], "the suspension")
    wait_for(lambda: receiver.received, "the suspension's webhook")
    server.stop()

    again = serve_factory(AGENTTRAIL_WEBHOOKS=hooks)  # a new embedded broker: it knows nothing of the suspension
    [(key, notice)] = notices(client_settings(again), 1)
    assert (key, notice["status"], notice["reason"]) == ("agent:support-acme", "suspended", suspend["reason"])
    lifted = httpx.post(f"{again.url}/v1/reinstate", json={**suspend, "reason": "fixed in 2.4.1"},
                        headers=again.admin)
    assert lifted.status_code == 200, lifted.text
    wait_for(lambda: httpx.get(f"{again.url}/v1/agents/support-acme/status").json()["active"], "the reinstatement")
    latest = dict(notices(client_settings(again), 2))
    assert latest["agent:support-acme"]["status"] == "reinstated"
    wait_for(lambda: len(receiver.received) >= 2, "the reinstatement's webhook")
    kinds = [json.loads(body)["kind"] for _, body in receiver.received]
    assert kinds == ["agent.suspended", "agent.reinstated"], "the restart announced nothing twice"


def test_token_status_from_memory_follows_revoke_and_reinstate_and_survives_a_restart(
    serve_factory: ServeFactory
) -> None:
    server = serve_factory()
    fp = "hmac-sha256:k1:" + "ab" * 32
    ask = {"fingerprint": fp, "tenant": "acme", "reason": "pasted into a support ticket"}

    def change(url: str, verb: str, reason: str) -> None:
        response = httpx.post(f"{url}/v1/{verb}", json={**ask, "reason": reason}, headers=server.admin)
        assert response.status_code == 200, response.text

    assert token_status(server, fp) == {"fingerprint": fp, "active": True}
    change(server.url, "revoke", ask["reason"])
    wait_for(lambda: not token_status(server, fp)["active"], "the revocation")
    assert_memory_equals_store(server, fp)
    change(server.url, "reinstate", "a false alarm")
    wait_for(lambda: token_status(server, fp)["active"], "the reinstatement")
    assert_memory_equals_store(server, fp)
    change(server.url, "revoke", "leaked after all")
    wait_for(lambda: not token_status(server, fp)["active"], "the second revocation")
    server.stop()

    again = serve_factory()  # starts its in-memory state from the store
    status = token_status(again, fp)
    assert (status["active"], status["reason"], status["decided_by"]) == (False, "leaked after all", "service:http")
    assert_memory_equals_store(again, fp)


def test_cli_revokes_by_fingerprint_shows_the_token_and_lists_revocations(serve_factory: ServeFactory) -> None:
    server = serve_factory()
    root, child, _ = delegated_lineage(client_settings(server))
    wait_for(lambda: token_status(server, child, lineage=True)["known"], "the lineage")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return agenttrail(*args, cwd=server.workdir, env=server.env)

    unexplained = cli("revoke", "--token", child)
    assert unexplained.returncode == 2 and "--reason" in unexplained.stderr
    done = cli("revoke", "--token", child, "--reason", "researcher host compromised")
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not token_status(server, child)["active"], "the revocation")
    shown = json.loads(cli("token", child, "--json").stdout)
    assert (shown[0]["active"], shown[0]["holder"], shown[0]["issuer"]) == (False, "researcher", ISSUER)
    assert token_status(server, root)["active"], "without --tree the parent stays active"
    listed = json.loads(cli("revocations", "--in-force", "--json").stdout)
    assert [(r["subject"], r["reason"]) for r in listed] == [(child, "researcher host compromised")]


LEAK_RULE = """\
rules:
  - id: token-from-new-region
    version: 1
    description: A token used from a region it never came from is treated as leaked.
    when: list_contains(flags, 'token_origin')
    action: revoke_token_tree
    severity: critical
    mode: enforce
"""


def test_a_rule_revokes_a_token_used_from_a_new_region_with_its_tree_and_the_guard_refuses_the_lineage(
    serve_factory: ServeFactory, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hook = {"name": "idp", "url": receiver.url, "secret": SECRET, "kinds": ["token.*"], "issuers": [ISSUER]}
    server = serve_factory(AGENTTRAIL_WEBHOOKS=json.dumps([hook]))
    settings = client_settings(server)
    rules = tmp_path_factory.mktemp("rules") / "security.yaml"
    rules.write_text(LEAK_RULE)
    loaded = agenttrail("policy", "load", str(rules), "--name", "security", "--reason", "leak response",
                        cwd=server.workdir, env=server.env)
    assert loaded.returncode == 0, loaded.stderr
    wait_for(lambda: httpx.get(f"{server.url}/v1/queries/policy_sets").json(), "the rule set to be stored")
    root, child, grandchild = delegated_lineage(settings)
    wait_for(lambda: token_status(server, grandchild, lineage=True)["known"], "the lineage to be stored")

    elsewhere = connect(tenant="acme", agent_id="planner", agent_version="1.0.0", region="ap-south-1",
                        principal="human:alice", settings=settings)  # the leaked root token, used from abroad
    with elsewhere.action("api.call", "list_buckets") as act:
        act.use_token(ROOT_TOKEN, issuer=ISSUER)
    elsewhere.close()

    wait_for(lambda: not token_status(server, grandchild)["active"], "the rule's cascade")
    statuses = [token_status(server, fp) for fp in (root, child, grandchild)]
    assert {(s["rule_id"], s["decided_by"], s["root"]) for s in statuses} == {
        ("token-from-new-region@v1", "policy:security", root)}
    for fp in (root, child, grandchild):
        assert_memory_equals_store(server, fp)
    [decision] = httpx.get(f"{server.url}/v1/queries/policy_decisions").json()
    assert (decision["rule_id"], decision["subject"], decision["action"]) == (
        "token-from-new-region", root, "revoke_token_tree")
    tested = agenttrail("policy", "backtest", str(rules), "--since", "1d", "--json", cwd=server.workdir,
                        env=server.env)  # through the server, which holds the database
    assert tested.returncode == 0, tested.stderr
    assert [(d["rule_id"], d["subject"], d["event_id"]) for d in json.loads(tested.stdout)] == [
        ("token-from-new-region", root, decision["event_id"])], "the backtest decides what live decided"
    refused = httpx.post(f"{server.url}/v1/policy/backtest", json={"text": "rules: ["})
    assert refused.status_code == 400 and "YAML" in refused.json()["detail"]

    scraper = connect(tenant="acme", agent_id="scraper", agent_version="1.0.0", region="eu-west-1",
                      principal="human:alice", settings=settings)
    assert scraper.guard is not None
    wait_for(lambda: scraper.guard.revoked(grandchild) if scraper.guard else None, "the guard to see the notice")
    with pytest.raises(TokenRevokedError), scraper.action("api.call", "scrape") as act:
        act.use_token(GRANDCHILD_TOKEN, issuer=ISSUER)
    scraper.close()
    wait_for(lambda: len(receiver.received) >= 3, "the issuer's webhooks")
    assert {json.loads(body)["details"]["rule_id"] for _, body in receiver.received} == {"token-from-new-region@v1"}
