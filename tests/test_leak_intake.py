"""Leak intake end to end through `agenttrail serve`: GitHub's signed reports and a person's, the cascade they
start, the guard refusing a revoked lineage, and the blast radius over HTTP and the CLI.

Everything is real: the server process with its embedded broker and materializer, an
SDK emitting a delegated token lineage, and P-256 keys made here and listed in a file in
the shape of GitHub's key list, so reports are signed exactly as GitHub signs them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agenttrail import TokenRevokedError
from agenttrail._exceptions import LeakSignatureError
from agenttrail.github_secret_scanning import SigningKeys
from agenttrail.producers.trail import connect
from tests.fixtures import Served, ServeFactory, client_settings, wait_for
from tests.test_cli import agenttrail
from tests.test_revocation import (
    CHILD_TOKEN,
    GRANDCHILD_TOKEN,
    ISSUER,
    ROOT_TOKEN,
    delegated_lineage,
    notices,
    token_status,
)

NEVER_SEEN_TOKEN = "at_never_seen_" + "n" * 24
URL = "https://github.com/octocat/Hello-World/blob/12345600b9cbe38a219f39a9941c9319b600c002/foo/bar.txt"


class GitHub:
    """A signing key made here, listed in a key file beside one other (rotated) key, as GitHub publishes them."""

    def __init__(self, folder: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = hashlib.sha256(_pem(self.key).encode()).hexdigest()
        self.keys_file = folder / "github-secret-scanning-keys.json"
        rotated = ec.generate_private_key(ec.SECP256R1())
        self.keys_file.write_text(json.dumps({"public_keys": [
            {"key_identifier": "0" * 64, "key": _pem(rotated), "is_current": False},
            {"key_identifier": self.key_id, "key": _pem(self.key), "is_current": True}]}))

    def headers(self, body: bytes, *, key: ec.EllipticCurvePrivateKey | None = None) -> dict[str, str]:
        signature = (key or self.key).sign(body, ec.ECDSA(hashes.SHA256()))
        return {"Github-Public-Key-Identifier": self.key_id,
                "Github-Public-Key-Signature": base64.b64encode(signature).decode(), "Content-Type": "application/json"}

    def report(self, server: Served, matches: list[dict[str, str]]) -> httpx.Response:
        body = json.dumps(matches).encode()
        return httpx.post(f"{server.url}/v1/leaks/github", content=body, headers=self.headers(body), timeout=30)


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def match(token: str) -> dict[str, str]:
    return {"token": token, "type": "acme_api_token", "url": URL, "source": "content"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def query(server: Served, name: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/v1/queries/{name}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json())


@pytest.fixture
def github(tmp_path: Path) -> GitHub:
    return GitHub(tmp_path)


def serve_with_lineage(serve_factory: ServeFactory, **env: str) -> tuple[Served, list[str]]:
    """`agenttrail serve` (with ``env``) once it stored a root token delegated twice: the server, the fingerprints."""
    server = serve_factory(**env)
    lineage = delegated_lineage(client_settings(server))
    wait_for(lambda: token_status(server, lineage[-1], lineage=True)["known"], "the lineage to be stored")
    return server, lineage


def test_githubs_documented_test_signature_verifies_and_a_changed_byte_does_not(tmp_path: Path) -> None:
    """The sample GitHub's partner program documentation signs with its published test key."""
    pem = ("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\n"
           "HzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\n-----END PUBLIC KEY-----\n")
    key_id = "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d"
    (tmp_path / "keys.json").write_text(json.dumps({"public_keys": [{"key_identifier": key_id, "key": pem,
                                                                     "is_current": True}]}))
    body = b'[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]'
    signature = "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY="
    keys = SigningKeys(tmp_path / "keys.json")
    assert keys.verify(key_id, signature, body) == key_id
    with pytest.raises(LeakSignatureError, match="does not verify"):
        keys.verify(key_id, signature, body.replace(b"some_url", b"some_uri"))


def test_a_signed_github_report_revokes_the_tree_records_each_revocation_and_answers_a_label_per_token(
    serve_factory: ServeFactory, github: GitHub
) -> None:
    server, (root, child, grandchild) = serve_with_lineage(serve_factory,
                                                           AGENTTRAIL_LEAK_KEYS_FILE=str(github.keys_file))
    answer = github.report(server, [match(ROOT_TOKEN), match(NEVER_SEEN_TOKEN)])
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {"token_hash": sha256(ROOT_TOKEN), "token_type": "acme_api_token", "label": "true_positive"},
        {"token_hash": sha256(NEVER_SEEN_TOKEN), "token_type": "acme_api_token", "label": "false_positive"}]

    wait_for(lambda: not token_status(server, grandchild)["active"], "the cascade to reach the grandchild")
    statuses = {fp: token_status(server, fp) for fp in (root, child, grandchild)}
    assert {(s["decided_by"], s["rule_id"], s["root"]) for s in statuses.values()} == {
        ("policy:builtin", "leaked-token@v1", root)}
    assert [statuses[fp]["caused_by"] for fp in (root, child, grandchild)] == [None, root, child]
    assert statuses[root]["reason"] == f"reported leaked by github:{github.key_id} at {URL}"
    assert set(dict(notices(client_settings(server), 3))) == {root, child, grandchild}, "a notice per revocation"
    [decision] = query(server, "policy_decisions")
    assert (decision["rule_id"], decision["set_name"], decision["subject"], decision["action"]) == (
        "leaked-token", "builtin", root, "revoke_token_tree")
    reports = wait_for(lambda: len(rows := query(server, "leak_reports")) == 2 and rows, "both reports")
    assert sorted((r["label"], r["tenant"], r["found_in"], r["reported_by"]) for r in reports) == [
        ("false_positive", "*", "content", "service:github-secret-scanning"),
        ("true_positive", "acme", "content", "service:github-secret-scanning")]
    cascade = query(server, "revocations")
    assert sorted((r["subject"], r["caused_by"], r["cause_event_id"]) for r in cascade) == sorted(
        (fp, cause, decision["event_id"]) for fp, cause in ((root, None), (child, root), (grandchild, child)))

    stored = httpx.get(f"{server.url}/v1/sql", params={"q": "SELECT * FROM control_events"}, timeout=30).text
    server.stop()
    logs = (server.process.stdout.read() if server.process.stdout else "") + (
        server.process.stderr.read() if server.process.stderr else "")
    for secret in (ROOT_TOKEN, NEVER_SEEN_TOKEN, sha256(ROOT_TOKEN), sha256(NEVER_SEEN_TOKEN)):
        assert secret not in stored and secret not in logs, "no raw token (nor its plain hash) is stored or logged"


def test_a_bad_signature_or_a_malformed_report_is_refused_and_nothing_is_recorded(
    serve_factory: ServeFactory, github: GitHub
) -> None:
    server, (root, _, _) = serve_with_lineage(serve_factory, AGENTTRAIL_LEAK_KEYS_FILE=str(github.keys_file))
    url, body = f"{server.url}/v1/leaks/github", json.dumps([match(ROOT_TOKEN)]).encode()
    stranger = ec.generate_private_key(ec.SECP256R1())

    def post(content: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(url, content=content, headers=headers, timeout=30)

    refused = {
        "no signature": post(body, {}),
        "the admin token instead": post(body, server.admin),
        "a key nobody listed": post(body, {**github.headers(body), "Github-Public-Key-Identifier": "f" * 64}),
        "signed by another key": post(body, github.headers(body, key=stranger)),
        "a body changed after signing": post(body.replace(b"content", b"commit"), github.headers(body)),
        "a signature that is not base64": post(body, {**github.headers(body), "Github-Public-Key-Signature": "!"}),
    }
    assert {why: r.status_code for why, r in refused.items()} == dict.fromkeys(refused, 401)
    for malformed in (b"not json", b'{"token": "x"}', b"[]", b'[{"type": "acme_api_token"}]',
                      json.dumps([{**match(ROOT_TOKEN), "token": ""}]).encode()):
        response = post(malformed, github.headers(malformed))
        assert response.status_code == 400 and "report" in response.json()["detail"], malformed
    huge = b"[" + b" " * (1 << 20) + b"]"
    assert post(huge, github.headers(huge)).status_code == 413

    assert github.report(server, [match(NEVER_SEEN_TOKEN)]).status_code == 200  # stored after everything above
    wait_for(lambda: query(server, "leak_reports"), "the one good report")
    assert [r["label"] for r in query(server, "leak_reports")] == ["false_positive"], "the refused ones left nothing"
    assert token_status(server, root)["active"] and query(server, "revocations") == []


def test_a_revoked_lineage_that_tries_to_mint_a_child_is_refused_by_the_guard_and_flagged_as_an_incident(
    serve_factory: ServeFactory
) -> None:
    server, (root, child, grandchild) = serve_with_lineage(serve_factory)
    settings = client_settings(server)
    reported = httpx.post(f"{server.url}/v1/leaks", headers=server.admin, json={
        "token": CHILD_TOKEN, "source_url": "https://paste.example/abc", "exposed_at": "2026-01-01T00:00:00Z",
        "actor": "human:sec-oncall", "reason": "found in a paste"})
    assert reported.status_code == 200, reported.text
    assert (reported.json()["fingerprint"], reported.json()["label"]) == (child, "true_positive")
    wait_for(lambda: not token_status(server, grandchild)["active"], "the child's tree to be revoked")
    assert token_status(server, root)["active"], "the parent of a leaked token stays usable"

    scraper = connect(tenant="acme", agent_id="scraper", agent_version="1.0.0", region="eu-west-1",
                      principal="human:alice", settings=settings)
    assert scraper.guard is not None
    wait_for(lambda: scraper.guard.revoked(grandchild) if scraper.guard else None, "the guard to see the cascade")
    minted = False
    with pytest.raises(TokenRevokedError, match="the lineage is revoked"), \
            scraper.action("token.issue", "issue_token") as act:
        act.use_token("at_great_grandchild_" + "x" * 24, issuer=ISSUER, parent_token=GRANDCHILD_TOKEN)
        minted = True
    scraper.close()
    assert not minted, "the guard refuses before the issue runs"
    great = scraper.fingerprint("at_great_grandchild_" + "x" * 24)

    [incident] = wait_for(lambda: query(server, "policy_decisions", rule="revoked-lineage"), "the incident")
    assert (incident["subject"], incident["severity"], incident["set_name"], incident["reason"]) == (
        great, "critical", "builtin", f"minted from revoked token {grandchild}")
    wait_for(lambda: not token_status(server, great)["active"], "its revocation")
    status = token_status(server, great)
    assert (status["caused_by"], status["root"], status["rule_id"]) == (grandchild, child, "revoked-lineage@v1")
    sql = f"SELECT action_type, outcome, error_code FROM events WHERE token_fingerprint = '{great}'"
    stored = httpx.get(f"{server.url}/v1/sql", params={"q": sql}, timeout=30).json()
    assert stored == [{"action_type": "token.issue", "outcome": "denied", "error_code": "TokenRevokedError"}], \
        "the refused minting is stored as a denied event, and it is what the incident cites"


def test_the_cli_reports_a_leak_through_serve_and_reads_its_blast_radius_as_a_table_json_and_an_html_page(
    serve_factory: ServeFactory, tmp_path: Path
) -> None:
    globex = "globex-analyst-" + "g" * 24
    server = serve_factory(AGENTTRAIL_API_TOKENS=json.dumps([
        {"name": "globex-analyst", "sha256": sha256(globex), "tenant": "globex"}]))
    settings = client_settings(server)
    _, child, grandchild = delegated_lineage(settings)
    abroad = connect(tenant="acme", agent_id="researcher", agent_version="1.0.0", region="ap-south-1",
                     principal="human:alice", settings=settings)  # the leaked child token, used from elsewhere
    with abroad.action("domain.register", "register_domain", resource=("domain", 'acme-"><script>x</script>.example'),
                       source_address="203.0.113.9") as act:
        act.use_token(CHILD_TOKEN, issuer=ISSUER)
        act.set_cost("12.00", "USD")
    abroad.close()
    wait_for(lambda: token_status(server, grandchild, lineage=True)["known"], "the lineage to be stored")

    def cli(*args: str) -> Any:
        done = agenttrail(*args, cwd=server.workdir, env=server.env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    said = cli("leak", "report", "--token-fingerprint", child, "--source", "https://paste.example/x", "--exposed-at",
               "1h", "--reason", "found in a paste")
    assert "true_positive" in said and "leaked-token revokes it" in " ".join(said.split())
    wait_for(lambda: not token_status(server, grandchild)["active"], "the child's tree to be revoked")
    [listed] = json.loads(cli("leak", "list", "--json"))
    assert (listed["fingerprint"], listed["source_url"], listed["label"]) == (
        child, "https://paste.example/x", "true_positive") and listed["reporter"].startswith("human:")

    report = json.loads(cli("blast-radius", child, "--json"))
    assert (report["tenant"], report["exposure"], [t["fingerprint"] for t in report["lineage"]]) == (
        "acme", "leak report", [child, grandchild])
    assert [t["fingerprint"] for t in report["tree"]] == [child] and report["tree"][0]["children"][0][
        "fingerprint"] == grandchild
    [domain] = [r for r in report["resources"] if r["resource_kind"] == "domain"]
    assert domain["sensitive"] and domain["actions"] == ["domain.register"]
    assert report["spend"] == [{"currency": "USD", "amount": "12.000000000", "charged_events": 1}]
    assert {(p["agent_region"], p["source_address"]) for p in report["places"]} >= {("ap-south-1", "203.0.113.9")}
    assert report["summary"]["tokens_active"] == 0 and report["summary"]["last_use"] is not None

    page = tmp_path / "incident.html"
    cli("blast-radius", child, "--format", "html", "-o", str(page))
    html = page.read_text()
    assert "<script" not in html and "&lt;script&gt;" in html, "stored values are escaped, and the page has no script"
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html.split("<body>")[0], \
        "nothing is fetched from elsewhere"
    assert "blast radius" in cli("blast-radius", child)
    unknown = agenttrail("blast-radius", "hmac-sha256:k1:" + "0" * 64, cwd=server.workdir, env=server.env)
    assert unknown.returncode == 1 and "No stored event carried token" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    url = f"{server.url}/v1/tokens/{child}/blast-radius"
    as_globex = httpx.get(url, headers={"Authorization": f"Bearer {globex}"}, timeout=30)
    assert as_globex.status_code == 404 and "No stored event carried" in as_globex.json()["detail"]
    page_over_http = httpx.get(url, params={"format": "html"}, timeout=30)
    assert page_over_http.headers["content-security-policy"].startswith("default-src 'none'")
    expected = {"service:token-admin", "service:anonymous", "service:token-globex-analyst"}  # the CLI, curl, globex
    wait_for(lambda: {r["actor"] for r in query(server, "access_log") if r["path"] == url.removeprefix(server.url)}
             >= expected, "the blast radius reads in the access log")
