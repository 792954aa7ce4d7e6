"""The `agenttrail` command as a person uses it: real processes, real files, one-sentence errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from agenttrail.cli import cli
from agenttrail.consumers.store import open_store
from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import FINGERPRINT_KEY, SettingsFactory, materialize

README = Path(__file__).resolve().parents[1] / "README.md"


def agenttrail(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenttrail.cli", *args], cwd=cwd, env=env or os.environ.copy(),
                          capture_output=True, text=True, timeout=timeout)


def test_every_command_is_documented_in_the_readme_and_its_help_has_examples() -> None:
    readme = README.read_text()
    for name, command in cli.commands.items():
        assert f"agenttrail {name}" in readme, f"README does not document `agenttrail {name}`"
        assert "Example" in (command.help or ""), f"`agenttrail {name} --help` has no examples"


def test_bad_since_value_is_one_sentence_with_a_nonzero_exit(tmp_path: Path) -> None:
    result = agenttrail("trail", "--agent", "a", "--since", "3 parsecs", cwd=tmp_path)
    assert result.returncode == 1
    assert "--since '3 parsecs' is not a time" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_query_on_a_missing_database_says_how_to_create_one(tmp_path: Path) -> None:
    result = agenttrail("sql", "SELECT 1", cwd=tmp_path)
    assert result.returncode == 1 and "agenttrail demo" in result.stderr and "Traceback" not in result.stderr


def test_consume_without_a_broker_says_how_to_start_one(tmp_path: Path) -> None:
    env = os.environ | {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY}
    env.pop("AGENTTRAIL_BOOTSTRAP", None)
    result = agenttrail("consume", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "agenttrail serve" in result.stderr and "--bootstrap" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_broker_is_one_sentence(tmp_path: Path) -> None:
    env = os.environ | {"AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY}
    result = agenttrail("consume", "--bootstrap", "127.0.0.1:9", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "127.0.0.1:9 did not answer" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_to_start_without_a_fingerprint_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AGENTTRAIL_FINGERPRINT_KEY"}
    result = agenttrail("serve", "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1 and "AGENTTRAIL_FINGERPRINT_KEY" in result.stderr


def test_query_list_shows_every_named_query_with_its_parameters() -> None:
    result = CliRunner().invoke(cli, ["query", "--list", "--json"])
    assert result.exit_code == 0
    names = {row["query"]: row["params"] for row in json.loads(result.output)}
    assert {"trail", "chain", "quarantine", "spend_by_agent"} <= set(names)
    assert names["chain"] == "event_id, tenant?"


HOLDERS = {  # what holds the file, and its arguments to python given the file's path
    "agenttrail consume": lambda db: ["-m", "agenttrail.cli", "--db", db, "consume"],
    "a python process": lambda db: ["-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                                          "time.sleep(60)", db],
}


@pytest.mark.parametrize("holder", list(HOLDERS))
def test_a_locked_database_is_refused_with_the_process_that_holds_it_and_nothing_is_lost(
    holder: str, settings_factory: SettingsFactory, tmp_path: Path, figure: Figure
) -> None:
    """Another process holds the DuckDB file (ours, or an analyst's script): every command that needs it
    says who holds it in one sentence, and once it is free the materializer stores every event once."""
    settings = settings_factory()
    env = os.environ | {"AGENTTRAIL_BOOTSTRAP": settings.bootstrap or "", "AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY,
                        "AGENTTRAIL_TOPIC_PREFIX": settings.topic_prefix}
    db = ["--db", str(settings.db)]
    holding = subprocess.Popen([sys.executable, *HOLDERS[holder](str(settings.db))], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trail = connect(tenant="acme", agent_id="a", agent_version="1", region="eu-west-1", principal="human:alice",
                    settings=settings)
    try:
        deadline = time.monotonic() + 30
        while not settings.db.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        for i in range(20):
            with trail.action("tool.call", f"call-{i}"):
                pass
        assert trail.flush(10)
        refused = [agenttrail(*db, *command, cwd=tmp_path, env=env)
                   for command in (["trail", "--agent", "a"], ["consume"], ["rebuild", "--check"])]
    finally:
        trail.close()
        holding.terminate()
        holding.wait(10)
    held_by = f"agenttrail consume (PID {holding.pid})" if holder == "agenttrail consume" else f"(PID {holding.pid})"
    con = open_store(settings.db)
    stored = materialize(settings, con, until=20)
    [(distinct,)] = con.execute("SELECT count(DISTINCT event_id) FROM events").fetchall()
    con.close()
    figure(f"the DuckDB file held by {holder}: {sum(r.returncode == 1 for r in refused)} of {len(refused)} "
           f"commands (trail, consume, rebuild) refused in one sentence naming it; once free, 20 produced / "
           f"{stored} stored / {stored - distinct} duplicates")
    for result in refused:
        assert result.returncode == 1, result.stderr
        assert held_by in result.stderr and "is in use by" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert stored == distinct == 20


def test_serve_owns_broker_and_database_and_cli_queries_go_through_it(
    served: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir, env = served
    monkeypatch.chdir(workdir)
    for key in ("AGENTTRAIL_FINGERPRINT_KEY", "AGENTTRAIL_TOPIC_PREFIX"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.delenv("AGENTTRAIL_BOOTSTRAP", raising=False)
    trail = connect(tenant="acme", agent_id="served-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice", spool_dir=workdir / "spool")  # finds the broker serve recorded
    for i in range(25):
        with trail.action("tool.call", f"call-{i}"):
            pass
    trail.close()

    rows: list[dict[str, str]] = []
    deadline = time.monotonic() + 30
    while len(rows) < 25 and time.monotonic() < deadline:
        result = agenttrail("trail", "--agent", "served-agent", "--json", cwd=workdir, env=env)
        assert result.returncode == 0, result.stderr
        rows = json.loads(result.stdout)
        time.sleep(0.2)
    assert len(rows) == 25 and rows[0]["action_type"] == "tool.call"

    refused = agenttrail("sql", "DELETE FROM events", cwd=workdir, env=env)
    assert refused.returncode == 1 and "Only a SELECT" in refused.stderr
    no_files = agenttrail("sql", "SELECT * FROM read_csv('/etc/passwd')", cwd=workdir, env=env)
    assert no_files.returncode == 1 and "Traceback" not in no_files.stderr

    url = json.loads((workdir / "agenttrail.server.json").read_text())["url"]
    assert url.startswith("http://127.0.0.1:"), "binds loopback unless told otherwise"
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    csv = httpx.get(f"{url}/v1/queries/trail", params={"agent": "served-agent", "format": "csv"})
    assert csv.status_code == 200 and csv.text.count("\n") == 26


def test_a_budget_set_over_http_needs_the_token_and_becomes_an_audited_control_event(
    served: tuple[Path, dict[str, str]]
) -> None:
    workdir, env = served
    url = json.loads((workdir / "agenttrail.server.json").read_text())["url"]
    change = {"tenant": "acme", "actor": "human:alice", "reason": "Q4 cap",
              "payload": {"scope": "agent:billing-bot", "limit": "50.00", "currency": "USD", "period": "week"}}
    assert httpx.post(f"{url}/v1/control/budget.set", json=change).status_code == 401
    assert httpx.post(f"{url}/v1/control/budget.set", json=change,
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    admin = {"Authorization": f"Bearer {env['AGENTTRAIL_API_TOKEN']}"}
    bad = httpx.post(f"{url}/v1/control/budget.set", json={**change, "payload": {"scope": "agent:x"}}, headers=admin)
    assert bad.status_code == 400 and "limit" in bad.json()["detail"]
    accepted = httpx.post(f"{url}/v1/control/budget.set", json=change, headers=admin)
    assert accepted.status_code == 202, accepted.text
    event_id = accepted.json()["event_id"]

    budgets: list[dict[str, str]] = []
    deadline = time.monotonic() + 30
    while not budgets and time.monotonic() < deadline:
        result = agenttrail("budget", "list", "--json", cwd=workdir, env=env)
        budgets = json.loads(result.stdout) if result.returncode == 0 else []
        time.sleep(0.2)
    assert [(b["budget_id"], b["limit"], b["set_by"]) for b in budgets] == [
        ("agent:billing-bot", "50.000000000", "human:alice")]
    [logged] = json.loads(agenttrail("control", "--json", cwd=workdir, env=env).stdout)
    assert (logged["event_id"], logged["via"], logged["reason"]) == (event_id, "http", "Q4 cap")


def test_demo_runs_end_to_end_and_reports(tmp_path: Path) -> None:
    result = agenttrail("demo", "--events", "400", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "stored" in result.stdout and "A sample operation chain" in result.stdout
    assert "budget alerts" in result.stdout and "signed checkpoints" in result.stdout
    words = " ".join(result.stdout.split())  # rich wraps lines at the terminal's width
    assert "A rogue agent" in words and "It was flagged (" in words and "its budget alert fired after" in words
    assert "A leaked token" in words and "next use was refused" in words
    assert "Its blast radius" in words and "1 after the revocation" in words
    assert "leaked" not in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "agenttrail.duckdb").exists()
    again = agenttrail("query", "events_by_tenant", "--json", cwd=tmp_path)
    assert sum(row["events"] for row in json.loads(again.stdout)) >= 400


def test_http_csv_export_holds_maps_and_lists_like_the_cli(
    served: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir, env = served
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AGENTTRAIL_FINGERPRINT_KEY", env["AGENTTRAIL_FINGERPRINT_KEY"])
    monkeypatch.setenv("AGENTTRAIL_TOPIC_PREFIX", env["AGENTTRAIL_TOPIC_PREFIX"])
    monkeypatch.delenv("AGENTTRAIL_BOOTSTRAP", raising=False)
    trail = connect(tenant="acme", agent_id="csv-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice", spool_dir=workdir / "spool")
    with trail.action("tool.call", "x", attributes={"note": "\x1b[31mred"}):
        pass
    trail.close()
    url = json.loads((workdir / "agenttrail.server.json").read_text())["url"]
    query = "SELECT attributes, actor_chain FROM events WHERE agent_id = 'csv-agent'"
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(f"{url}/v1/sql", params={"q": query, "format": "csv"})
        if response.status_code != 200 or response.text.count("\n") > 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    import csv
    import io

    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert json.loads(row["attributes"]) == {"note": "\x1b[31mred"}, "maps as JSON objects, value exact"
    assert json.loads(row["actor_chain"]) == [{"kind": "agent", "id": "csv-agent"}]
