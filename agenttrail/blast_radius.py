"""A token's blast radius: everything it and every token minted from it did since it was exposed.

``blast_radius(con, fingerprint, ...)`` is the one function behind ``agenttrail
blast-radius``, ``GET /v1/tokens/{fingerprint}/blast-radius`` and the console. It
builds two temp tables on the connection it is given (``blast_tokens.sql``: the
lineage; ``blast_events.sql``: what it did) and answers each section with one
named SQL file over them (``agenttrail/sql/blast_*.sql``), every value bound. A
connection's temp tables are its own, so concurrent reports on separate cursors
never meet, and a read-only store is enough.

``since`` defaults to the earliest exposure the token's leak reports give; when
none gives one (GitHub does not say), the report covers the lineage's whole
history. ``as_of`` answers as AgentTrail knew it at that moment, from the
history rows: tokens first received and parents named by then, revocations in
force then (``valid_from``/``valid_to``), budgets in force then with the spend
received by then (the ``budget_standing`` macro that ``queries/budget_status.sql``
also answers with), events received by then. No replay, whatever the moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail import sql
from agenttrail._exceptions import EventNotFoundError
from agenttrail.chaintree import nested
from agenttrail.consumers.policy.builtin import REVOKED_LINEAGE
from agenttrail.output import inert, to_records

TIMELINE_LIMIT = 1_000  # timeline events a report lists by default (the summary counts them all)
TIMELINE_MAX = 100_000
# Each section: a blast_<name>.sql over the temp tables, and the parameters it binds.
_SECTIONS = {"actions": (), "resources": ("sensitive_actions",), "places": (), "principals": (), "spend": (),
             "used_after_revocation": ("limit",), "budgets": ("tenant", "as_of"), "leak_reports": ("as_of",)}


@dataclass(frozen=True)
class BlastRadius:
    """The report; ``to_dict`` is its JSON (exact decimals as text, times in ISO 8601 UTC)."""

    fingerprint: str
    tenant: str
    since: datetime | None  # None: the lineage's whole history
    exposure: str  # how ``since`` was chosen: given, leak report, or unknown
    as_of: datetime
    summary: dict[str, Any]
    lineage: pa.Table  # one row per token: parent, depth, holder, status as of as_of
    sections: dict[str, pa.Table]  # actions, resources, places, principals, spend, used_after_revocation, ...
    timeline: pa.Table
    timeline_limit: int

    def to_dict(self) -> dict[str, Any]:
        [summary] = to_records(pa.Table.from_pylist([self.summary]))
        return {
            "fingerprint": self.fingerprint, "tenant": self.tenant,
            "since": self.since.isoformat() if self.since else None, "exposure": self.exposure,
            "as_of": self.as_of.isoformat(), "summary": summary,
            "lineage": to_records(self.lineage),
            "tree": nested(to_records(self.lineage), key="fingerprint", parent="parent"),
            **{name: to_records(table) for name, table in self.sections.items()},
            "timeline": to_records(self.timeline),
            "timeline_limit": self.timeline_limit,
        }


def blast_radius(con: duckdb.DuckDBPyConnection, fingerprint: str, *, since: datetime | None = None,
                 as_of: datetime | None = None, tenant: str | None = None, sensitive_actions: Sequence[str] = (),
                 limit: int = TIMELINE_LIMIT) -> BlastRadius:
    """The blast radius of ``fingerprint`` (EventNotFoundError when no stored event carried it by ``as_of``).

    ``tenant``: answer only about that tenant's tokens (a tenant-scoped reader); another
    tenant's token reads as one never seen. ``sensitive_actions``: the action types whose
    resources come first (purchases, registrations, deployments: the anomaly settings' list).
    """
    as_of = as_of or datetime.now(UTC)
    con.execute(sql.text("blast_tokens"), {"fingerprint": fingerprint, "as_of": as_of}).fetchall()
    lineage = con.sql("SELECT * FROM blast_tokens").to_arrow_table()
    root_tenant = lineage["tenant"][0].as_py() if lineage.num_rows else None
    if root_tenant is None or (tenant is not None and root_tenant != tenant):
        raise EventNotFoundError(f"No stored event carried token {inert(fingerprint)} by {as_of.isoformat()}; "
                                 "`agenttrail token FP` says what is known of a token.")
    exposure = "given"
    if since is None:
        [(since,)] = con.execute(sql.text("blast_exposure"), {"fingerprint": fingerprint, "as_of": as_of}).fetchall()
        exposure = "leak report" if since is not None else "unknown"
    con.execute(sql.text("blast_events"), {"since": since, "as_of": as_of, "lineage_rule": REVOKED_LINEAGE.id}) \
        .fetchall()
    params = {"sensitive_actions": list(sensitive_actions), "limit": limit, "as_of": as_of, "tenant": root_tenant}
    sections = {name: _table(con, f"blast_{name}", {key: params[key] for key in keys})
                for name, keys in _SECTIONS.items()}
    [summary] = _table(con, "blast_summary", {}).to_pylist()
    return BlastRadius(fingerprint, root_tenant, since, exposure, as_of, summary, lineage, sections,
                       _table(con, "blast_timeline", {"limit": limit}), limit)


def _table(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> pa.Table:
    result: pa.Table = con.sql(sql.text(name), params=params).to_arrow_table()
    return result
