"""The console over HTTP: what its pages show, to whom, what they refuse, and that every view is recorded.

`agenttrail serve` runs in its own process (its own embedded broker and
materializer) with two tenants' trails emitted through the SDK; the pages are
read with httpx as a browser would (a sign-in cookie, then pages and exports).
The browser itself drives them in ``test_console_browser.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx
import pytest

from tests.console_data import ATTRIBUTE_ESCAPE, SCRIPT_NAME, seed_tenant
from tests.fixtures import Served, ServeFactory, client_settings, wait_for

ADMIN = "admin-token-for-tests"
ACME_TOKEN = "acme-analyst-" + "a" * 24


def page_urls(data: dict[str, Any], tenant: str) -> list[str]:
    """Every console page about ``tenant``'s things, and each page's JSON export."""
    seeded = data[tenant]
    pages = ["/ui/trail", f"/ui/trail?agent=planner-{tenant}", f"/ui/events/{seeded.chain[2]}",
             f"/ui/principals/human:{tenant}-bob", f"/ui/agents/worker-{tenant}", f"/ui/agents/planner-{tenant}",
             "/ui/spend", f"/ui/spend?tenant={tenant}&bucket=hour", "/ui/anomalies?status=all", "/ui/tokens",
             f"/ui/tokens/{seeded.tokens[1]}", f"/ui/tokens/{seeded.tokens[0]}/blast-radius"]
    return pages + [page + ("&" if "?" in page else "?") + "format=json" for page in pages]


@pytest.fixture(scope="module")
def two_tenants(serve_factory_module: ServeFactory) -> dict[str, Any]:
    server = serve_factory_module(AGENTTRAIL_API_TOKENS=json.dumps([
        {"name": "acme-analyst", "sha256": hashlib.sha256(ACME_TOKEN.encode()).hexdigest(), "tenant": "acme"}]))
    settings = client_settings(server)
    data: dict[str, Any] = {"server": server}
    for tenant in ("acme", "globex"):
        data[tenant] = seed_tenant(settings, tenant)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    wait_for(lambda: len(httpx.get(f"{server.url}/ui/anomalies?format=json", headers=admin)
                         .json()["sections"]["flags"]) >= 2, "both tenants' token_origin flags")
    return data


def signed_in(server: Served, token: str, name: str = "") -> httpx.Client:
    """A client holding a console session, as a browser would after the sign-in form."""
    client = httpx.Client(base_url=server.url, timeout=30)
    answer = client.post("/ui/login", data={"token": token, "name": name, "next": "/ui/trail"})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/trail"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and token.lower() not in cookie
    return client


def csrf_of(client: httpx.Client, path: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_a_tenant_token_sees_only_its_tenant_in_every_page_and_export(two_tenants: dict[str, Any]) -> None:
    server, globex = two_tenants["server"], two_tenants["globex"]
    acme = signed_in(server, ACME_TOKEN)
    globex_ids = [*globex.chain, *globex.tokens]
    for url in page_urls(two_tenants, "globex") + page_urls(two_tenants, "acme"):
        answer = acme.get(url)
        assert answer.status_code in (200, 403, 404), (url, answer.status_code)
        shown = [found for found in globex_ids if found in answer.text and found not in url]
        assert not shown and "<td>globex</td>" not in answer.text and '"tenant":"globex"' not in answer.text, (
            f"{url} showed acme's token something of globex")
    for url in page_urls(two_tenants, "acme"):
        assert acme.get(url).status_code == 200, url
    trail = acme.get("/ui/trail?format=json").json()["sections"]["events"]
    assert trail and {row["tenant"] for row in trail} == {"acme"}
    assert acme.get(f"/ui/events/{globex.chain[0]}").status_code == 404, "another tenant's event: not found"
    assert acme.get("/ui/trail?tenant=globex").status_code == 403
    csv = acme.get("/ui/trail?format=csv&section=events").text
    assert "planner-acme" in csv and "globex" not in csv


def test_every_page_shows_what_the_trail_holds(two_tenants: dict[str, Any]) -> None:
    server, seeded = two_tenants["server"], two_tenants["acme"]
    admin = signed_in(server, ADMIN, "dana")
    chain = admin.get(f"/ui/events/{seeded.chain[2]}?format=json").json()["sections"]
    assert [row["event_id"] for row in chain["chain"]] == seeded.chain, "the whole chain, in tree order"
    assert chain["event"][0]["cost_amount"] == "0.250000000" and chain["integrity"][0]["check"] == "seal"
    lineage = admin.get(f"/ui/tokens/{seeded.tokens[1]}?format=json").json()["sections"]["lineage"]
    assert [(row["fingerprint"], row["depth"]) for row in lineage] == [(seeded.tokens[0], 0), (seeded.tokens[1], 1)]
    token_page = admin.get(f"/ui/tokens/{seeded.tokens[0]}").text
    assert f"/ui/tokens/{seeded.tokens[0]}/blast-radius" in token_page, "the token page links its blast radius"
    report = admin.get(f"/ui/tokens/{seeded.tokens[0]}/blast-radius")
    assert report.status_code == 200 and all(token in report.text for token in seeded.tokens)
    assert report.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'", (
        "the report keeps its own policy: its inline style and nothing else")
    spend = admin.get("/ui/spend?tenant=acme&format=json").json()["sections"]
    assert {row["agent_id"]: row["spend"] for row in spend["top_spenders"]} == {
        "planner-acme": "0.250000000", "worker-acme": "0.100000000"}
    principal = admin.get("/ui/principals/human:acme-bob?format=json").json()["sections"]["agents"]
    assert {row["actor_path"] for row in principal} == {"planner-acme", "planner-acme → worker-acme"}
    versions = admin.get("/ui/agents/worker-acme?tenant=acme&format=json").json()["sections"]["versions"]
    assert [row["agent_version"] for row in versions] == ["2.0.0"]
    page_one = admin.get("/ui/trail?tenant=acme&format=json").json()
    assert "next_before" not in page_one, "one page holds this small trail"


def test_the_trail_pages_by_keyset(two_tenants: dict[str, Any]) -> None:
    admin = signed_in(two_tenants["server"], ADMIN)
    everything = admin.get("/ui/trail?format=json").json()["sections"]["events"]
    last = everything[4]
    cursor = f"{last['occurred_at']},{last['store_seq']}"
    after = admin.get("/ui/trail", params={"format": "json", "before": cursor}).json()["sections"]["events"]
    assert after == everything[5:], "the next page starts right after the cursor's row"
    bad = admin.get("/ui/trail", params={"before": "nonsense"})
    assert bad.status_code == 400 and "cursor" in bad.text


def test_stored_markup_renders_as_text(two_tenants: dict[str, Any]) -> None:
    server, seeded = two_tenants["server"], two_tenants["acme"]
    admin = signed_in(server, ADMIN)
    for url in (f"/ui/events/{seeded.payload_event}", "/ui/trail?tenant=acme"):
        page = admin.get(url)
        assert SCRIPT_NAME not in page.text and "<img src=x" not in page.text, url
        assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page.text, url
    assert "&#34;&gt;&lt;img src=x onerror=" in admin.get(f"/ui/events/{seeded.payload_event}").text
    exported = admin.get(f"/ui/events/{seeded.payload_event}?format=json").json()["sections"]["event"][0]
    assert exported["action_name"] == SCRIPT_NAME and exported["attributes"]["note"] == ATTRIBUTE_ESCAPE


def test_console_answers_carry_a_strict_content_security_policy(two_tenants: dict[str, Any]) -> None:
    admin = signed_in(two_tenants["server"], ADMIN)
    for url in ("/ui/trail", "/ui/static/console.js", "/ui/login"):
        headers = admin.get(url).headers
        assert "script-src 'self'" in headers["content-security-policy"] and "unsafe" not in headers[
            "content-security-policy"], url
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert admin.get("/ui/trail").headers["cache-control"] == "no-store"
    assert "<script>" not in admin.get("/ui/trail").text, "no inline script"


def test_changes_need_the_admin_token_the_pages_csrf_token_and_the_same_origin(two_tenants: dict[str, Any]) -> None:
    server, seeded = two_tenants["server"], two_tenants["globex"]
    revoke = {"fingerprint": seeded.tokens[1], "reason": "leaked"}
    anonymous = httpx.post(f"{server.url}/ui/tokens/revoke", data=revoke)
    assert anonymous.status_code == 401
    reader = signed_in(server, ACME_TOKEN)
    refused = reader.post("/ui/tokens/revoke", data=revoke, headers={"X-CSRF-Token": csrf_of(reader, "/ui/tokens")})
    assert refused.status_code == 401 and "admin" in refused.json()["detail"]
    admin = signed_in(server, ADMIN, "dana")
    assert admin.post("/ui/tokens/revoke", data=revoke).status_code == 403, "no CSRF token"
    csrf = csrf_of(admin, "/ui/tokens")
    forged = admin.post("/ui/tokens/revoke", data=revoke,
                        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert forged.status_code == 403
    no_reason = admin.post("/ui/tokens/revoke", data={**revoke, "reason": " "}, headers={"X-CSRF-Token": csrf})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]
    token_page = f"/ui/tokens/{seeded.tokens[1]}?format=json"
    assert admin.get(token_page).json()["sections"]["revocations"] == [], "nothing refused changed anything"

    done = admin.post("/ui/tokens/revoke", data=revoke, headers={"X-CSRF-Token": csrf, "Origin": server.url})
    assert done.status_code == 200 and done.json()["kind"] == "token.revoke"
    [revoked] = wait_for(lambda: admin.get(token_page).json()["sections"]["revocations"], "the revocation")
    assert (revoked["status"], revoked["decided_by"], revoked["reason"]) == ("revoked", "human:dana", "leaked")
    with_bearer = httpx.post(f"{server.url}/ui/anomalies/ack", headers={"Authorization": f"Bearer {ADMIN}"},
                             data={"flag_id": "no-such-flag", "note": "x"})
    assert with_bearer.status_code == 404, "a bearer token needs no CSRF token; the flag must exist"


def test_reads_need_a_token_with_auth_and_every_page_view_is_recorded(serve_factory: ServeFactory) -> None:
    server = serve_factory("--auth")
    assert httpx.get(f"{server.url}/ui/trail").headers["location"].startswith("/ui/login?next=")
    assert httpx.get(f"{server.url}/ui/trail?format=json").status_code == 401
    assert httpx.get(f"{server.url}/ui/changes").status_code == 401
    wrong = httpx.post(f"{server.url}/ui/login", data={"token": "guess", "next": "/ui/trail"})
    assert wrong.status_code == 401 and "not one this server knows" in wrong.text
    elsewhere = httpx.post(f"{server.url}/ui/login", data={"token": ADMIN}, headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403 and "set-cookie" not in elsewhere.headers, "no sign-in from another site"
    admin = signed_in(server, ADMIN, "dana")
    assert admin.get("/ui/spend?since=2h").status_code == 200
    assert admin.get("/ui/changes").status_code == 200
    reads = wait_for(lambda: len(log := [r for r in httpx.get(f"{server.url}/v1/queries/access_log",
                                                              headers={"Authorization": f"Bearer {ADMIN}"}).json()
                                         if r["path"].startswith("/ui/")]) >= 3 and log, "the page views")
    assert sorted((r["path"], r["actor"], r["status"], json.loads(r["params"])) for r in reads) == [
        ("/ui/spend", "service:token-admin", 200, {"since": "2h"}),
        ("/ui/trail", "service:anonymous", 303, {}), ("/ui/trail", "service:anonymous", 401, {"format": "json"}),
    ], "page views and refused attempts are reads; the live poll is not"
    admin.post("/ui/logout")
    assert admin.get("/ui/trail").status_code == 303, "signed out"
