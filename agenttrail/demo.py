"""`agenttrail demo`: the whole pipeline on one machine, no Kafka installed.

A private embedded broker, a fleet of simulated agents driving the real SDK,
the real materializer writing the DuckDB file, and a short report at the end.
The demo makes its own fingerprint key (it is the only command allowed to).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail._exceptions import AgentTrailError
from agenttrail.blast_radius import blast_radius
from agenttrail.broker import EmbeddedBroker
from agenttrail.chaintree import chain_tree
from agenttrail.config import Settings, load_settings
from agenttrail.kafka import ensure_topics
from agenttrail.leak import LeakReport, run_leak
from agenttrail.output import inert, render
from agenttrail.producers.control import publish_control
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.trail import connect
from agenttrail.queries import run_query
from agenttrail.rogue import RogueReport, run_rogue
from agenttrail.schemas.control import BudgetSet, ControlPayload, TenantRegionsSet
from agenttrail.service import Pipeline, migrated_store

STORE_TIMEOUT_S = 120.0
FLEET_MINUTES = 40  # of a fleet's simulated life, however many events: the detectors' baselines need time


@dataclass
class DemoReport:
    produced: int
    stored: int
    duplicates: int
    quarantined: int
    seconds: float


def run_demo(db: Path, events: int, *, seed: int, console: Console) -> DemoReport:
    """Produce ``events`` through the SDK and wait until the materializer stored them all."""
    with ExitStack() as stack:
        spool_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agenttrail-spool-")))
        broker = stack.enter_context(EmbeddedBroker())
        settings = load_settings(bootstrap=broker.bootstrap, db=db, spool_dir=spool_dir,
                                 fingerprint_key=secrets.token_hex(32))
        ensure_topics(settings, broker.bootstrap)
        con = migrated_store(settings, console.print)  # a demo store from an older release: migrated first
        stack.callback(con.close)
        [(first_seq,)] = con.execute("SELECT coalesce(max(store_seq), 0) FROM events").fetchall()
        pipeline = Pipeline(settings, broker.bootstrap, con).start()
        stack.callback(pipeline.stop)
        changes = _declare_governance(settings, broker.bootstrap)
        if not pipeline.wait_until_stored(changes, STORE_TIMEOUT_S):
            raise AgentTrailError("The demo's budgets and region rules were not stored in time.")
        trail = connect(tenant="demo", agent_id="fleet-simulator", agent_version="0.1.0",
                        region="local", principal="service:demo", settings=settings)
        started = time.perf_counter()
        with Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=False) as progress:
            produced_bar = progress.add_task("produced", total=events)
            stored_bar = progress.add_task("stored", total=events)

            def tick(submitted: int) -> None:
                progress.update(produced_bar, completed=submitted)
                progress.update(stored_bar, completed=pipeline.stats.stored - changes)

            fleet = Fleet(trail, seed=seed, pace=events / (FLEET_MINUTES * 60))
            fleet_report = fleet.run(events, on_progress=tick)
            trail.flush()
            produced = trail.emitter.stats.acked
            progress.update(produced_bar, total=produced, completed=produced)
            progress.update(stored_bar, total=produced)
            deadline = time.monotonic() + STORE_TIMEOUT_S
            while not pipeline.wait_until_stored(produced + changes, 0.1) and time.monotonic() < deadline:
                progress.update(stored_bar, completed=pipeline.stats.stored - changes)
            progress.update(stored_bar, completed=pipeline.stats.stored - changes)
        report = DemoReport(produced, pipeline.stats.stored - changes, pipeline.stats.duplicates,
                            pipeline.stats.quarantined, time.perf_counter() - started)
        rogue = run_rogue(fleet, trail, settings, broker.bootstrap, pipeline, con.cursor())
        leak = run_leak(trail, settings, broker.bootstrap, pipeline, con.cursor())
        trail.close()
        pipeline.stop()  # seals the last checkpoint before the report reads it
        _print_report(console, con, report, first_seq, fleet_report.sample_root_event_id)
        _print_rogue(console, rogue)
        _print_leak(console, leak, con, settings)
        return report


def _declare_governance(settings: Settings, bootstrap: str) -> int:
    """The budgets and region rule the demo's fleet runs under, as audited control events; returns how many.

    Every agent starts capped (``agent:*``), one tenant has a monthly budget its fleet
    overruns, and one tenant keeps its data in the EU while its agents call US models.
    """
    changes: list[tuple[str, ControlPayload]] = [
        *((tenant, BudgetSet(scope="agent:*", limit="2.00", currency=currency, period="day", on_exceed="suspend"))
          for tenant, currency in (("acme", "EUR"), ("globex", "USD"), ("initech", "USD"), ("umbrella", "USD"))),
        ("umbrella", BudgetSet(scope="tenant:umbrella", limit="100.00", currency="USD", period="month")),
        ("acme", TenantRegionsSet(regions=["eu-west-1", "eu-central-1"])),
    ]
    for tenant, payload in changes:
        publish_control(settings, bootstrap, tenant, payload, actor="service:demo", via="demo",
                        reason="the demo's governance")
    return len(changes)


def _print_report(console: Console, con: duckdb.DuckDBPyConnection, report: DemoReport, first_seq: int,
                  sample: str | None) -> None:
    console.print(
        f"\n[bold]{report.produced:,}[/bold] events produced, [bold]{report.stored:,}[/bold] stored, "
        f"{report.duplicates} duplicates, {report.quarantined} quarantined, in {report.seconds:.1f} s "
        f"({report.stored / max(report.seconds, 1e-9):,.0f} events/s)."
    )
    console.print("[bold]This run, per tenant[/bold]")
    render(run_query(con, "events_by_tenant", {"after_seq": str(first_seq)}), "table", console=console)
    console.print("[bold]Governance[/bold] (agenttrail alerts, query locality-violations, verify)")
    render(run_query(con, "governance_summary", {"after_seq": str(first_seq)}), "table", console=console)
    newest_per_scope: dict[str, str] = {}  # one charge often crosses several thresholds: show distinct scopes
    for alert in run_query(con, "alerts", {"limit": "100"}).select(["scope", "summary"]).to_pylist():
        newest_per_scope.setdefault(alert["scope"], alert["summary"])
    for summary in list(newest_per_scope.values())[:3]:
        console.print(f"  {inert(summary)}")
    if sample:
        console.print("[bold]A sample operation chain[/bold] (agenttrail query chain --param event_id=" + sample + "):")
        console.print(chain_tree(run_query(con, "chain", {"event_id": sample})))


def _print_rogue(console: Console, rogue: RogueReport) -> None:
    console.print(f"[bold]A rogue agent[/bold] (agenttrail anomalies --open): {rogue.agent_id} of {rogue.tenant} "
                  f"resent one paid model call {rogue.calls} times ({rogue.spent} USD) in {rogue.emit_seconds:.2f} s.")
    flagged = (f"flagged ({', '.join(rogue.flag_kinds)}) {rogue.flagged_after_s:.2f} s after its first call"
               if rogue.flagged_after_s is not None else "not flagged in time")
    budget = (f"its budget alert fired after {rogue.budget_alert_after_s:.2f} s"
              if rogue.budget_alert_after_s is not None else "no budget alert in time")
    console.print(f"  It was {flagged}; {budget}.")
    if rogue.suspended_after_s is not None:
        console.print(f"  Its budget suspended it: the SDK guard refused call {rogue.calls}, "
                      f"{rogue.suspended_after_s:.2f} s after the first.")


def _print_leak(console: Console, leak: LeakReport, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    console.print(f"[bold]A leaked token[/bold] (agenttrail revocations): a root token, delegated twice, was used "
                  f"from a region it never came from. Rule {leak.rule_id} revoked its tree of {leak.revoked} tokens.")
    stored = f"{leak.stored_after_s * 1000:.0f} ms" if leak.stored_after_s is not None else "not in time"
    guard = f"{leak.guard_after_s * 1000:.0f} ms" if leak.guard_after_s is not None else "not in time"
    refused = "refused" if leak.refused else "NOT refused"
    console.print(f"  After the offending event left the SDK: revocations stored in {stored}, the SDK guard knew in "
                  f"{guard}; the grandchild token's next use was {refused}.")
    radius = blast_radius(con, leak.root, sensitive_actions=settings.anomalies.new_behaviour.sensitive_actions).summary
    console.print(f"  Its blast radius (agenttrail blast-radius {leak.root[:32]}…): {radius['events']} events of "
                  f"{radius['tokens']} tokens by {radius['agents']} agents, {radius['used_after_revocation']} after "
                  "the revocation.")
