"""A tenant-scoped token reads its tenant and nothing of another's, by any endpoint or parameter.

`agenttrail serve` runs in its own process with two tenants' events, tokens and
budgets; every named query, the SQL endpoint, the operators' endpoints, token
and agent status, backtests and the CLI are asked with acme's token for globex's
things, and no answer may carry any of them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from agenttrail.producers.trail import connect
from agenttrail.queries import list_queries
from tests.fixtures import Served, ServeFactory, client_settings, wait_for
from tests.test_cli import agenttrail

ACME_TOKEN, GLOBEX_TOKEN = "acme-analyst-" + "a" * 24, "globex-analyst-" + "g" * 24
GLOBEX_RAW_TOKEN = "at_globex_" + "z" * 24


def reader(name: str, token: str, tenant: str) -> dict[str, str]:
    return {"name": name, "sha256": hashlib.sha256(token.encode()).hexdigest(), "tenant": tenant}


@pytest.fixture(scope="module")
def two_tenants(serve_factory_module: ServeFactory) -> dict[str, Any]:
    server = serve_factory_module(AGENTTRAIL_API_TOKENS=json.dumps([
        reader("acme-analyst", ACME_TOKEN, "acme"), reader("globex-analyst", GLOBEX_TOKEN, "globex")]))
    settings = client_settings(server)
    ids: dict[str, list[str]] = {}
    for tenant in ("acme", "globex"):
        trail = connect(tenant=tenant, agent_id=f"billing-{tenant}", agent_version="1.0.0", region="eu-west-1",
                        principal=f"human:{tenant}-bob", settings=settings)
        ids[tenant] = []
        for i in range(12):
            with trail.action("llm.call", f"{tenant}-call-{i}") as act:
                act.set_cost("0.50", "USD")
                if tenant == "globex" and i == 0:
                    ids["globex_fp"] = [act.use_token(GLOBEX_RAW_TOKEN, issuer="https://idp.globex.example")]
                ids[tenant].append(act.event_id)
        trail.close()
        budget = {"tenant": tenant, "actor": f"human:{tenant}-admin", "payload": {
            "scope": f"tenant:{tenant}", "limit": "1.00", "currency": "USD", "period": "total"}}
        assert httpx.post(f"{server.url}/v1/control/budget.set", json=budget, headers=server.admin).status_code == 202
    wait_for(lambda: len(httpx.get(f"{server.url}/v1/queries/export_events", headers=server.admin).json()) == 24,
             "both tenants' events to be stored")
    return {"server": server, "globex_event": ids["globex"][3], "globex_fp": ids["globex_fp"][0]}


def as_acme(server: Served, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", params=params, headers={"Authorization": f"Bearer {ACME_TOKEN}"},
                     timeout=30)


def test_no_named_query_answers_acme_with_anything_of_globex(two_tenants: dict[str, Any]) -> None:
    server = two_tenants["server"]
    values = {"event_id": two_tenants["globex_event"], "fingerprint": two_tenants["globex_fp"],
              "agent": "billing-globex", "principal": "human:globex-bob", "scope": "tenant:globex",
              "version": "1.0.0", "subject": "billing-globex", "tenant": "globex"}
    answered: list[str] = []
    refused: list[str] = []
    for query in list_queries():
        params = {p.name: values.get(p.name, "billing-globex") for p in query.params if p.required}
        response = as_acme(server, f"/v1/queries/{query.name}", **params)
        assert response.status_code in (200, 403), (query.name, response.text)
        assert "globex" not in response.text, f"query {query.name} answered acme with globex's rows"
        (answered if response.status_code == 200 else refused).append(query.name)
        if any(p.name == "tenant" for p in query.params):
            asked = as_acme(server, f"/v1/queries/{query.name}", **(params | {"tenant": "globex"}))
            assert asked.status_code == 403 and "only tenant acme" in asked.json()["detail"], query.name
    assert {"trail", "chain", "budgets", "anomalies", "export_events", "spend_by_agent"} <= set(answered)
    assert {"access_log", "quarantine", "webhook_deliveries"} <= set(refused), "queries across tenants are refused"
    print(f"\ntenant isolation: {len(answered)} queries answered acme with none of globex's rows, "
          f"{len(refused)} refused as spanning tenants")


def test_acme_sees_its_own_trail(two_tenants: dict[str, Any]) -> None:
    rows = as_acme(two_tenants["server"], "/v1/queries/trail", agent="billing-acme").json()
    assert len(rows) == 12 and {r["tenant"] for r in rows} == {"acme"}
    [budget] = as_acme(two_tenants["server"], "/v1/queries/budget_status", scope="tenant:acme").json()
    assert budget["tenant"] == "acme" and budget["spent"] == "6.000000000"


def test_sql_and_the_operators_endpoints_are_refused_to_a_tenant_token(two_tenants: dict[str, Any]) -> None:
    server = two_tenants["server"]
    for path, params in (("/v1/sql", {"q": "SELECT * FROM events"}), ("/v1/stats", {}), ("/v1/status", {}),
                         ("/metrics", {})):
        response = as_acme(server, path, **params)
        assert response.status_code == 403 and "spans every tenant" in response.json()["detail"], path


def test_token_agent_status_and_backtests_answer_only_for_the_tokens_tenant(two_tenants: dict[str, Any]) -> None:
    server, fp = two_tenants["server"], two_tenants["globex_fp"]
    lineage = as_acme(server, f"/v1/tokens/{fp}", lineage="true").json()
    assert lineage == {"fingerprint": fp, "active": True, "known": False}, "another tenant's token: never seen"
    assert "globex" not in as_acme(server, f"/v1/tokens/{fp}").text
    assert as_acme(server, "/v1/agents/billing-globex/status", tenant="globex").status_code == 403
    backtest = httpx.post(f"{server.url}/v1/policy/backtest", headers={"Authorization": f"Bearer {ACME_TOKEN}"},
                          json={"text": "rules:\n  - id: any-call\n    when: action_type = 'llm.call'\n"
                                        "    then: alert\n", "tenant": "globex"})
    assert backtest.status_code == 403
    globex_own = httpx.get(f"{server.url}/v1/tokens/{fp}", params={"lineage": "true"},
                           headers={"Authorization": f"Bearer {GLOBEX_TOKEN}"}).json()
    assert globex_own["known"] is True and globex_own["tenant"] == "globex"


def test_a_tenant_token_cannot_change_anything(two_tenants: dict[str, Any]) -> None:
    server = two_tenants["server"]
    change = {"tenant": "acme", "actor": "human:acme-bob", "payload": {"scope": "tenant:acme"}}
    response = httpx.post(f"{server.url}/v1/control/budget.remove", json=change,
                          headers={"Authorization": f"Bearer {ACME_TOKEN}"})
    assert response.status_code == 401 and "admin" in response.json()["detail"]


def test_the_cli_with_a_tenant_token_reads_only_that_tenant(two_tenants: dict[str, Any]) -> None:
    server = two_tenants["server"]
    env = server.env | {"AGENTTRAIL_API_TOKEN": ACME_TOKEN}
    trail = agenttrail("trail", "--agent", "billing-globex", "--json", cwd=server.workdir, env=env)
    assert trail.returncode == 0 and json.loads(trail.stdout) == []
    exported = agenttrail("export", "--format", "jsonl", cwd=server.workdir, env=env)
    assert exported.returncode == 0, exported.stderr
    tenants = {json.loads(line)["tenant"] for line in exported.stdout.splitlines()}
    assert tenants == {"acme"}
    sql = agenttrail("sql", "SELECT count(*) FROM events", cwd=server.workdir, env=env)
    assert sql.returncode == 1 and "spans every tenant" in sql.stderr and "Traceback" not in sql.stderr
