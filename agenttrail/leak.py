"""The demo's leaked token: a delegated token lineage, the root token used from abroad, and how fast it stops.

A rule set (``agenttrail/policies/leaked_token.yaml``) is loaded as a control
event. A planner gets a token and delegates twice, each delegate minting a child.
Then the root token is used from a region it never came from: the token_origin
detector flags it, the rule revokes the whole tree, the notice reaches the SDK
guard, and the scraper's next use of its grandchild token is refused. The demo
reports each step's wall time after the offending event left the SDK, and the
leaked token's blast radius.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources

import duckdb

from agenttrail import sql
from agenttrail._exceptions import TokenRevokedError
from agenttrail.config import Settings
from agenttrail.consumers.policy import RuleSet, parse_rules
from agenttrail.producers.control import publish_control
from agenttrail.producers.trail import Trail
from agenttrail.schemas.control import PolicySetLoaded
from agenttrail.service import Pipeline

ISSUER = "https://idp.acme.example"
WATCH_S = 30.0


@dataclass
class LeakReport:
    root: str  # the leaked root token's fingerprint
    rule_id: str
    revoked: int  # tokens in the tree the rule revoked
    stored_after_s: float | None  # the revocation of the whole tree committed (what the status endpoint reads)
    guard_after_s: float | None  # the SDK guard knew the grandchild was revoked
    refused: bool  # the scraper's next use of its token was refused


def run_leak(trail: Trail, settings: Settings, bootstrap: str, pipeline: Pipeline,
             reader: duckdb.DuckDBPyConnection) -> LeakReport:
    """Play the leaked-token story through ``trail``'s emitter and guard, against ``pipeline``'s store."""
    rules = load_leaked_token_rules(settings, bootstrap, name="leaked-token", via="demo",
                                    reason="the demo's leaked-token response")
    planner = trail.for_agent(tenant="acme", agent_id="release-planner", agent_version="3.1.0", region="eu-west-1",
                              principal="human:dana")
    researcher = planner.delegate("release-researcher", "3.1.0")
    scraper = researcher.delegate("release-scraper", "3.1.0")
    raw = {"root": "at_demo_root_" + "r" * 24, "child": "at_demo_child_" + "c" * 24,
           "grandchild": "at_demo_grand_" + "g" * 24}
    fingerprints = [_issue(planner, raw["root"], None), _issue(researcher, raw["child"], raw["root"]),
                    _issue(scraper, raw["grandchild"], raw["child"])]
    trail.flush()
    _wait_until_ready(reader, rules.sha256, fingerprints[2])

    abroad = trail.for_agent(tenant="acme", agent_id="release-planner", agent_version="3.1.0",
                             region="ap-south-1", principal="human:dana")
    started = time.time()
    with abroad.action("api.call", "list_buckets") as act:
        act.use_token(raw["root"], issuer=ISSUER)
    report = LeakReport(fingerprints[0], rules.rules[0].id, 0, None, None, False)
    guard = trail.guard
    while time.time() - started < WATCH_S and (report.stored_after_s is None
                                                  or (guard is not None and report.guard_after_s is None)):
        if report.stored_after_s is None:
            [(revoked,)] = reader.execute(sql.text("leak_revoked"), dict(zip(raw, fingerprints, strict=True))) \
                .fetchall()
            if revoked == len(fingerprints):
                report.stored_after_s, report.revoked = time.time() - started, revoked
        if guard is not None and report.guard_after_s is None and guard.revoked(fingerprints[2]) is not None:
            report.guard_after_s = time.time() - started
        time.sleep(0.002)
    stored = pipeline.stats.stored + pipeline.stats.duplicates
    try:
        with scraper.action("api.call", "scrape") as act:
            act.use_token(raw["grandchild"], issuer=ISSUER)
    except TokenRevokedError:
        report.refused = True
    trail.flush()
    pipeline.wait_until_stored(stored + 1, WATCH_S)  # the refused attempt, which the blast radius lists
    return report


def load_leaked_token_rules(settings: Settings, bootstrap: str, *, name: str, via: str, reason: str) -> RuleSet:
    """Load the shipped ``token-from-new-region`` rule set for every tenant, as a control event; fail-closed."""
    text = resources.files("agenttrail").joinpath("policies", "leaked_token.yaml").read_text("utf-8")
    rules = parse_rules(text)
    publish_control(settings, bootstrap, "*", PolicySetLoaded(name=name, sha256=rules.sha256, text=text),
                    actor=f"service:{via}", via=via, reason=reason)
    return rules


def _wait_until_ready(reader: duckdb.DuckDBPyConnection, sha256: str, grandchild: str) -> None:
    """Until the rule set is in force and the lineage stored: counting stored events instead let the leak
    outrun the rule set on a busy machine, when the fleet's last events filled the count."""
    deadline = time.monotonic() + WATCH_S
    while time.monotonic() < deadline:
        [(ready,)] = reader.execute(sql.text("leak_ready"), {"sha256": sha256, "grandchild": grandchild}).fetchall()
        if ready:
            return
        time.sleep(0.01)


def _issue(trail: Trail, raw: str, parent: str | None) -> str:
    with trail.action("token.issue", "issue_token", resource=("principal", str(trail.agent["id"]))) as act:
        return act.use_token(raw, issuer=ISSUER, parent_token=parent)
