"""Erasure end to end through `agenttrail serve`: a person's fields read [erased] in every view, verify stays clean.

Everything is real: the server process with its embedded broker and materializer, the
SDK sealing two people's actions, the CLI and the HTTP API asking before and after
`POST /v1/erase`, a plain Kafka consumer reading the bytes on the topic, and after the
server stops, verify, prove, verify-proof and rebuild --check on the store file.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb
import httpx

from agenttrail.config import Settings
from agenttrail.kafka import make_consumer, partitions_for
from agenttrail.producers.trail import Trail, connect
from tests.fixtures import Served, ServeFactory, client_settings, wait_for
from tests.test_cli import agenttrail

ALICE, BOB = "alice@acme.example", "bob@acme.example"
ALICE_ADDRESS, BOB_ADDRESS = "203.0.113.7", "198.51.100.9"
ALICE_TOKEN = "at_alice_" + "a" * 24
PLAINTEXT = [value.encode() for value in (ALICE, BOB, ALICE_ADDRESS, BOB_ADDRESS)]


def person(settings: Settings, agent_id: str, who: str) -> Trail:
    return connect(tenant="acme", agent_id=agent_id, agent_version="1.0.0", region="eu-west-1",
                   principal=f"human:{who}", settings=settings)


def act(trail: Trail, count: int, cost: str, address: str, *, token: str | None = None) -> list[str]:
    """``count`` charged actions from ``address``; returns their event ids."""
    ids = []
    for i in range(count):
        with trail.action("tool.call", f"invoice-{i}", source_address=address) as scope:
            scope.set_cost(cost, "USD")
            if token:
                scope.use_token(token, issuer="https://idp.acme.example")
            ids.append(scope.event_id)
    assert trail.flush(10)
    return ids


def get(server: Served, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def stored(server: Served) -> int:
    return int(get(server, "/v1/sql", q="SELECT count(*) AS n FROM events")[0]["n"])


def cli(server: Served, *args: str) -> str:
    done = agenttrail("--db", str(server.workdir / "agenttrail.duckdb"), *args, cwd=server.workdir, env=server.env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def principals(server: Served, agent: str) -> list[str]:
    return sorted({row["principal"] for row in json.loads(cli(server, "trail", "--agent", agent, "--json"))})


def topic_values(settings: Settings) -> list[bytes]:
    consumer = make_consumer(settings, settings.bootstrap or "")
    consumer.assign(partitions_for(consumer, settings.topic("actions")))
    consumer.seek_to_beginning()
    values: list[bytes] = []
    for _ in range(20):
        values.extend(r.value or b"" for records in consumer.poll(timeout_ms=300).values() for r in records)
    consumer.close()
    return values


def test_an_erased_person_reads_erased_in_every_view_while_verify_and_their_proofs_hold(
        serve_factory: ServeFactory) -> None:
    server = serve_factory(AGENTTRAIL_CHECKPOINT_IDLE_S="0.5")
    settings = client_settings(server)
    budget = {"tenant": "acme", "actor": "human:carol", "reason": "cap per person",
              "payload": {"scope": f"principal:{ALICE}", "limit": "100", "currency": "USD", "period": "month"}}
    assert httpx.post(f"{server.url}/v1/control/budget.set", json=budget, headers=server.admin).status_code == 202
    alice, bob = person(settings, "billing-acme", ALICE), person(settings, "support-acme", BOB)
    alice_ids = act(alice, 3, "0.10", ALICE_ADDRESS, token=ALICE_TOKEN)
    act(bob, 2, "0.05", BOB_ADDRESS)
    wait_for(lambda: stored(server) == 5, "five events stored")
    assert principals(server, "billing-acme") == [f"human:{ALICE}"], "readable before the erasure"
    values = topic_values(settings)
    assert len(values) >= 5 and not [v for v in values if any(text in v for text in PLAINTEXT)], \
        "no id or address in the clear on the topic"

    erase = {"subject": f"human:{ALICE}", "reason": "GDPR art. 17, request 4711"}
    assert httpx.post(f"{server.url}/v1/erase", json=erase).status_code == 401, "the admin token only"
    for kind, payload in (("retention.set", {"days": 30}), ("retention.run", {})):
        change = {"tenant": "globex", "actor": "human:dpo", "reason": "DPA", "payload": payload}
        assert httpx.post(f"{server.url}/v1/control/{kind}", json=change).status_code == 401, kind
        assert httpx.post(f"{server.url}/v1/control/{kind}", json=change, headers=server.admin).status_code == 202
    naming = httpx.post(f"{server.url}/v1/erase", json={**erase, "reason": f"{ALICE} asked"}, headers=server.admin)
    assert naming.status_code == 400 and "names the person" in naming.text
    accepted = httpx.post(f"{server.url}/v1/erase", json=erase, headers=server.admin)
    assert accepted.status_code == 202, accepted.text
    wait_for(lambda: get(server, "/v1/queries/erasures") and get(server, "/v1/queries/erasures")[0]["keys_destroyed"],
             "the erasure to be applied")

    assert principals(server, "billing-acme") == ["human:[erased]"], "the CLI, through serve"
    assert principals(server, "support-acme") == [f"human:{BOB}"], "others are unaffected"
    assert get(server, "/v1/queries/trail_search", principal=f"human:{ALICE}") == [], "not found by the id"
    assert len(get(server, "/v1/queries/trail_search", principal=f"human:{BOB}")) == 2
    page = get(server, f"/ui/events/{alice_ids[0]}", format="json")["sections"]["event"][0]
    assert (page["principal_id"], page["source_address"]) == ("[erased]", "[erased]"), "the console"
    fingerprint = page["token_fingerprint"]
    radius = get(server, f"/v1/tokens/{fingerprint}/blast-radius")
    assert {row["principal_id"] for row in radius["principals"]} == {"[erased]"}, "the blast radius"
    assert {row["source_address"] for row in radius["places"]} == {"[erased]"}
    ocsf = [json.loads(line) for line in cli(server, "export", "--format", "ocsf").splitlines() if line]
    users = {(r["actor"]["app_name"], r["actor"]["user"]["uid"], r["src_endpoint"].get("hostname",
             r["src_endpoint"].get("ip"))) for r in ocsf}
    assert users == {("billing-acme", "[erased]", "[erased]"), ("support-acme", BOB, BOB_ADDRESS)}, "the export"

    wait_for(lambda: not alice.emitter.keyring.knows("acme", f"human:{ALICE}"), "the SDK to drop the erased key")
    after = act(alice, 1, "0.10", ALICE_ADDRESS)  # new data: a new key
    wait_for(lambda: stored(server) == 6, "the event after the erasure")
    assert principals(server, "billing-acme") == ["human:[erased]", f"human:{ALICE}"]
    [standing] = [row for row in get(server, "/v1/queries/budget_forecast") if row["scope"] == f"principal:{ALICE}"]
    assert Decimal(standing["spent"]) == Decimal("0.40"), "the person's budget keeps counting across the erasure"
    alice.close()
    bob.close()
    server.stop()

    assert "The trail verifies: 6 events" in cli(server, "verify"), "verify is clean"
    public_key = server.workdir / "pub.pem"
    public_key.write_text(cli(server, "keys", "export"))
    for event_id in (alice_ids[0], after[0]):
        proof = cli(server, "prove", event_id)
        assert not [text for text in PLAINTEXT if text.decode() in proof], "a proof carries sealed values only"
        (server.workdir / "proof.json").write_text(proof)
        cli(server, "verify-proof", str(server.workdir / "proof.json"), "--public-key", str(public_key))
    cli(server, "rebuild", "--check")
    with duckdb.connect(str(server.workdir / "agenttrail.duckdb"), read_only=True) as con:
        raws = [raw for (raw,) in con.execute("SELECT raw FROM events").fetchall()]
        kept = con.execute("SELECT count(*) FROM sealed_values WHERE value IN (?, ?)",
                           [ALICE, ALICE_ADDRESS]).fetchall()
    assert len(raws) == 6 and not [r for r in raws if any(text in r for text in PLAINTEXT)], "nor in the store"
    assert kept == [(2,)], "only the new key's id and address are readable"
