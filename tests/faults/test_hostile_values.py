"""Attacker-controlled values (OWASP's logging guidance: log data is input): stored verbatim, shown inert.

An agent can put anything in an action name, a resource id or an attribute: SQL, terminal escape
sequences (colours, a window title, a screen clear by C1 CSI), bidi overrides, HTML and script,
rich markup, NUL, line breaks, and a value as long as the event size limit allows. Each must come
back byte for byte from the store, and no view may let it act: a terminal (the CLI's table, CSV
and chain tree, read through a real pseudo-terminal) shows visible escapes, JSON (the CLI's and
the HTTP API's) escapes them so it still decodes to the exact value. The project renders no HTML
of stored values yet (the console of issue 8 will); FastAPI's /docs page holds none.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys

import httpx

from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import Served, ServeFactory, client_settings, wait_for

HOSTILE = {
    "sql": "x'); DROP TABLE events; --",
    "colour": "\x1b[31mred\x1b[0m",
    "title": "\x1b]0;pwned\x07",
    "c1-clear": "\x9b2J\x9bH",
    "bidi": "\u202egnp.exe",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "markup": "[bold red]boom[/]",
    "lines": "one\ntwo\rthree\u2028four",
    "nul": "a\x00b",
    "long": "y" * 200_000,  # near max_event_bytes (256 KiB) with the rest of the event
}
NAME = "\x1b[2J\x1b[31m<script>alert('name')</script>"
RESOURCE = "\x9b31m'; DELETE FROM events; --"
# What must never reach a terminal alive: each hostile control sequence, as the bytes it is.
LIVE = ("\x1b[31m", "\x1b]0;", "\x1b[2J", "\x9b", "\u202e", "\x00", "\u2028")
# Anything a terminal would act on, except the line breaks between rows of the JSON array.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def test_hostile_values_are_stored_verbatim_and_shown_inert_everywhere(
    serve_factory: ServeFactory, figure: Figure
) -> None:
    server = serve_factory()
    trail = connect(tenant="acme", agent_id="hostile-agent", agent_version="1", region="eu-west-1",
                    principal="human:mallory", settings=client_settings(server))
    with trail.action("agent.run", "root") as root, trail.action("tool.call", NAME, resource=("api", RESOURCE),
                                                                   attributes=HOSTILE) as act:
        pass
    trail.close()
    wait_for(lambda: len(_http(server, "/v1/queries/trail", agent="hostile-agent").json()) == 2,
             "the events to be stored")

    exact = json.loads(_cli(server, "sql", f"SELECT action_name, resource_id, attributes FROM events "
                                           f"WHERE event_id = '{act.event_id}'", "--json"))
    assert exact == [{"action_name": NAME, "resource_id": RESOURCE, "attributes": HOSTILE}], "stored verbatim"

    views = {
        "trail table": _terminal(server, "trail", "--agent", "hostile-agent"),
        "trail csv": _terminal(server, "trail", "--agent", "hostile-agent", "--csv"),
        "chain tree": _terminal(server, "chain", root.event_id),
        "sql table": _terminal(server, "sql", "SELECT action_name, " + ", ".join(
            f"attributes['{key}'] AS \"{key}\"" for key in HOSTILE) + " FROM events"),
    }
    alive = {view: [s for s in LIVE if s in text] for view, text in views.items()}
    assert "\\x1b[2J" in views["trail table"] and "\\x9b31m" in views["trail table"], "shown, visibly escaped"
    assert "[bold red]boom[/]" in views["sql table"], "markup printed as written"
    assert "y" * 200 not in views["sql table"] and "…" in views["sql table"], "a long value is cut in a table"

    cli_json = _cli(server, "trail", "--agent", "hostile-agent", "--json")
    http_json = _http(server, "/v1/sql", q=f"SELECT action_name, attributes FROM events WHERE event_id = "
                                          f"'{act.event_id}'")
    http_csv = _http(server, "/v1/sql", q=f"SELECT attributes FROM events WHERE event_id = '{act.event_id}'",
                     format="csv")
    docs = _http(server, "/docs")
    json_controls = {"CLI": CONTROL.findall(cli_json), "HTTP": CONTROL.findall(http_json.text)}
    figure(f"{len(HOSTILE) + 2} hostile values (SQL, colour, window-title and C1 escapes, bidi override, "
           f"HTML/script, rich markup, NUL, line breaks, {len(HOSTILE['long']):,} characters) stored byte for "
           f"byte; live control sequences in {len(views)} terminal views: {sum(map(len, alive.values()))}, in "
           f"the CLI's and the API's JSON: {sum(map(len, json_controls.values()))}")
    assert not any(alive.values()), alive
    assert not any(json_controls.values()), json_controls
    assert [r["action_name"] for r in json.loads(cli_json) if r["action_type"] == "tool.call"] == [NAME]
    assert http_json.json() == [{"action_name": NAME, "attributes": HOSTILE}], "JSON decodes to the exact value"
    csv.field_size_limit(len(http_csv.text))  # the long value is one field
    assert [json.loads(row["attributes"]) for row in csv.DictReader(io.StringIO(http_csv.text))] == [HOSTILE], (
        "CSV for programs is exact")
    assert "hostile-agent" not in docs.text and "<script>alert(1)" not in docs.text


def _cli(server: Served, *args: str) -> str:
    """The CLI's stdout through a pipe (as a script reads it); it asks the server, which holds the store."""
    result = subprocess.run([sys.executable, "-m", "agenttrail.cli", *args], cwd=server.workdir, env=server.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _terminal(server: Served, *args: str) -> str:
    """What a person's terminal receives from the CLI: its output through a real pseudo-terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "agenttrail.cli", *args], cwd=server.workdir,
                               env=server.env | {"COLUMNS": "200", "TERM": "xterm-256color"},
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    received = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(controller)
    assert process.wait(60) == 0, received
    return received.decode("utf-8", "replace")


def _http(server: Served, path: str, **params: str) -> httpx.Response:
    response = httpx.get(server.url + path, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response

