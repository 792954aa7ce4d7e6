"""The trail of the trail: reads through `serve` are recorded, and withheld when they cannot be.

`agenttrail serve` runs in its own process on a real broker; reads go over HTTP
and through the CLI, and the record of each is read back from the store.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from agenttrail.broker import EmbeddedBroker
from tests.fixtures import Served, ServeFactory, wait_for
from tests.test_cli import agenttrail

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def access_log(server: Served) -> list[dict[str, Any]]:
    """The recorded reads, read through the CLI (a recorded read itself)."""
    result = agenttrail("query", "access_log", "--json", cwd=server.workdir, env=server.env)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_every_read_of_trail_data_is_recorded_with_who_what_and_how_many_rows(serve_factory: ServeFactory) -> None:
    server = serve_factory()
    trail = httpx.get(f"{server.url}/v1/queries/trail", params={"agent": "nobody", "tenant": "acme"})
    assert trail.status_code == 200 and trail.json() == []
    sql = httpx.get(f"{server.url}/v1/sql", params={"q": "SELECT 1 AS one UNION ALL SELECT 2"},
                    headers=server.admin)
    assert sql.status_code == 200 and len(sql.json()) == 2
    assert httpx.get(f"{server.url}/v1/tokens/hmac-sha256:k1:{'ab' * 32}").status_code == 200, "from memory"
    assert httpx.get(f"{server.url}/healthz").status_code == 200

    reads = wait_for(lambda: len(log := access_log(server)) >= 2 and log, "the two reads to be stored")
    by_path = {r["path"]: r for r in reads}
    assert set(by_path) == {"/v1/queries/trail", "/v1/sql"}, "probes and token status from memory are not reads"
    assert by_path["/v1/queries/trail"]["actor"] == "service:anonymous"
    assert by_path["/v1/queries/trail"]["tenant"] == "acme" and by_path["/v1/queries/trail"]["rows"] == 0
    assert by_path["/v1/sql"]["actor"] == "service:token-admin" and by_path["/v1/sql"]["rows"] == 2
    assert json.loads(by_path["/v1/sql"]["params"]) == {"q": "SELECT 1 AS one UNION ALL SELECT 2"}
    assert by_path["/v1/sql"]["status"] == 200 and by_path["/v1/sql"]["client"] == "127.0.0.1"

    wait_for(lambda: any(r["path"] == "/v1/queries/access_log" for r in access_log(server)),
             "reading the access log to be recorded too")
    forged = httpx.post(f"{server.url}/v1/control/access.read", headers=server.admin, json={
        "tenant": "acme", "actor": "human:mallory", "payload": {"method": "GET", "route": "/x", "path": "/x",
                                                                "status": 200}})
    assert forged.status_code == 400, "nobody posts a read into the record"
    governance = agenttrail("control", "--json", cwd=server.workdir, env=server.env)
    assert governance.returncode == 0 and json.loads(governance.stdout) == [], "reads stay out of the governance trail"


def test_a_credential_in_a_read_is_recorded_redacted(serve_factory: ServeFactory) -> None:
    server = serve_factory()
    response = httpx.get(f"{server.url}/v1/sql", params={"q": f"SELECT '{GITHUB_TOKEN}' AS oops"})
    assert response.status_code == 200
    reads = wait_for(lambda: access_log(server), "the read to be stored")
    assert GITHUB_TOKEN not in json.dumps(reads) and "[REDACTED]" in reads[-1]["params"]


def test_a_read_that_cannot_be_recorded_is_refused(serve_factory: ServeFactory,
                                                   pausable_broker: EmbeddedBroker) -> None:
    server = serve_factory(AGENTTRAIL_BOOTSTRAP=pausable_broker.bootstrap, AGENTTRAIL_DELIVERY_TIMEOUT_MS="1000")
    assert httpx.get(f"{server.url}/v1/queries/trail", params={"agent": "a"}).status_code == 200
    pausable_broker.pause()
    try:
        refused = httpx.get(f"{server.url}/v1/queries/trail", params={"agent": "a"}, timeout=30)
        assert refused.status_code == 503 and refused.json()["error"] == "AuditUnavailableError"
        assert "answer is withheld" in refused.json()["detail"] and "[]" not in refused.text
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200, "the process still answers"
    finally:
        pausable_broker.resume()
    wait_for(lambda: httpx.get(f"{server.url}/v1/queries/trail", params={"agent": "a"}, timeout=30)
             .status_code == 200, "reads to be answered once the broker is back")
