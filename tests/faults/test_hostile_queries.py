"""Query input carrying SQL injection, on every path a query takes: the CLI on the file, the CLI through
`agenttrail serve`, and the HTTP API itself. Nothing may run but one SELECT that reads.

Named-query parameters are bound, never spliced, so an injected quote matches nothing; ``agenttrail
sql`` and ``/v1/sql`` take one SELECT statement, checked on DuckDB's own syntax tree (a SELECT may
hold a data-modifying CTE) and run with external access off (no file read, COPY, ATTACH or
extension). Serve's connection is writable, since its materializer writes through it: the checks
are what stands between ``/v1/sql`` and the trail.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from agenttrail.cli import cli
from agenttrail.consumers.store import SCHEMA_VERSION, open_store
from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import Served, ServeFactory, client_settings, wait_for

LEAK = Path("/tmp/agenttrail-injection-leak")
STATEMENTS = [
    "DROP TABLE events",
    "DELETE FROM events",
    "SELECT 1; DROP TABLE events",
    "WITH gone AS (DELETE FROM events RETURNING *) SELECT count(*) FROM gone",
    "WITH up AS (UPDATE store_meta SET value = 'pwned' RETURNING *) SELECT * FROM up",
    "WITH ins AS (INSERT INTO ingest_counters VALUES ('evil', 1) RETURNING *) SELECT * FROM ins",
    "SELECT * FROM events WHERE event_id IN (WITH gone AS (DELETE FROM event_keys RETURNING event_id) "
    "SELECT * FROM gone)",
    f"COPY events TO '{LEAK}.csv'",
    f"EXPORT DATABASE '{LEAK}'",
    f"ATTACH '{LEAK}.duckdb' AS evil",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT content FROM read_text('agenttrail.signing-key.pem')",
    "SELECT * FROM read_csv('/etc/hostname')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "CHECKPOINT",
    "CALL pragma_version()",
]
# (query, parameters): bound, so each answers no rows or is refused as malformed.
PARAMETERS = [
    ("trail", {"agent": "x' OR '1'='1"}),
    ("trail", {"agent": "hostile-agent", "tenant": "acme' OR tenant <> '"}),
    ("trail", {"agent": "hostile-agent", "limit": "1; DROP TABLE events"}),
    ("trail", {"agent": "hostile-agent", "since": "1d'; DROP TABLE events; --"}),
    ("chain", {"event_id": "' UNION SELECT * FROM events --"}),
    ("spend_by_agent", {"tenant": "') OR 1=1 --"}),
]


def test_sql_injection_runs_nothing_on_any_path_and_the_store_is_untouched(
    serve_factory: ServeFactory, figure: Figure
) -> None:
    server = serve_factory()
    trail = connect(tenant="acme", agent_id="hostile-agent", agent_version="1", region="eu-west-1",
                    principal="human:mallory", settings=client_settings(server))
    for i in range(5):
        with trail.action("llm.call", f"call-{i}") as act:
            act.set_cost("0.01", "USD")
    trail.close()
    wait_for(lambda: len(_http(server, "/v1/queries/trail", {"agent": "hostile-agent"}).json()) == 5,
             "the events to be stored")

    answers: dict[str, list[httpx.Response] | list[Result]] = {
        "HTTP": [_http(server, "/v1/sql", {"q": sql}) for sql in STATEMENTS] + [
            _http(server, f"/v1/queries/{name}", params) for name, params in PARAMETERS]}
    answers["CLI through serve"] = _cli_attempts(server)
    server.stop()
    answers["CLI on the file"] = _cli_attempts(server)

    con = open_store(server.workdir / "agenttrail.duckdb", read_only=True)
    [(events, keys, version, evil)] = con.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_keys), "
        "(SELECT value FROM store_meta WHERE key = 'schema_version'), "
        "(SELECT count(*) FROM ingest_counters WHERE name = 'evil')").fetchall()
    con.close()
    ran = {path: [a for a in attempts if _ran(a)] for path, attempts in answers.items()}
    leaked = sorted(str(p) for p in LEAK.parent.glob(LEAK.name + "*"))
    figure(f"{len(STATEMENTS) + len(PARAMETERS)} injection attempts (DROP, DELETE, data-modifying CTEs, COPY, "
           f"EXPORT, ATTACH, file reads, INSTALL, SET, quotes in bound parameters) on {len(answers)} paths: "
           f"{sum(map(len, ran.values()))} ran; the store still holds {events} events, {keys} keys, schema "
           f"version {version}; {len(leaked)} files written")
    assert not any(ran.values()), ran
    assert (events, keys, version, evil) == (5, 5, str(SCHEMA_VERSION), 0)
    assert not leaked


def _cli_attempts(server: Served) -> list[Result]:
    """Every attempt through the CLI's own code (in this process: fifty interpreters would take a minute)."""
    run = [["sql", sql] for sql in STATEMENTS] + [
        ["query", name, *[part for key, value in params.items() for part in ("--param", f"{key}={value}")],
         "--json"] for name, params in PARAMETERS]
    runner = CliRunner(env={k: v for k, v in server.env.items() if k.startswith("AGENTTRAIL_")})
    return [runner.invoke(cli, ["--db", str(server.workdir / "agenttrail.duckdb"), *args]) for args in run]


def _http(server: Served, path: str, params: dict[str, str]) -> httpx.Response:
    return httpx.get(server.url + path, params=params, headers=server.admin, timeout=30)


def _ran(answer: httpx.Response | Result) -> bool:
    """Whether an attempt did more than answer no rows: a refusal is one sentence (exit 1, or HTTP 400/404)."""
    if isinstance(answer, httpx.Response):
        return not (answer.status_code in (400, 404) or (answer.status_code == 200 and answer.json() == []))
    refused = answer.exit_code == 1 and isinstance(answer.exception, SystemExit) and answer.stderr.count("\n") <= 2
    return not (refused or (answer.exit_code == 0 and answer.stdout.strip() == "[]"))
