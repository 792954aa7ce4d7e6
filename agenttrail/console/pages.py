"""What each console page shows, as named sections of rows: the HTML, the JSON and the CSV are all made from it.

A page runs named queries (``queries/*.sql``) through ``Ask.query``, which pins
a tenant-scoped caller's tenant exactly as the API does (``Caller.scope_params``),
so a page can show no more than that caller could read with the API. Sections
are Arrow tables, the same values the API exports. This module holds the trail
search and the event page; ``governance_pages`` and ``people_pages`` hold the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import EventNotFoundError, QueryParameterError
from agenttrail.callers import Caller
from agenttrail.chaintree import chain_nested
from agenttrail.console.integrity import event_integrity, overall
from agenttrail.output import to_records
from agenttrail.queries import get_query, run_query

PAGE_SIZE = 50
TRAIL_FILTERS = ("tenant", "agent", "principal", "fingerprint", "action", "outcome", "region", "since", "until")


@dataclass
class Page:
    """A page: its template, title, sections (the first is the CSV default) and what else the template needs."""

    name: str
    title: str
    sections: dict[str, pa.Table]
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(table.num_rows for table in self.sections.values())

    def records(self, section: str) -> list[dict[str, Any]]:
        return to_records(self.sections[section])


@dataclass
class Ask:
    """One page request: a read cursor, who asks, and the query string (empty values dropped)."""

    cursor: duckdb.DuckDBPyConnection
    caller: Caller
    params: Mapping[str, str]
    public_key: Callable[[], Ed25519PublicKey]

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name, "").strip()
        return value or default

    def query(self, name: str, **params: str | None) -> pa.Table:
        """The named query with ``params`` (None and "" mean not given), the caller's tenant pinned."""
        declared = {p.name for p in get_query(name).params}
        given = {key: value for key, value in params.items() if value not in (None, "")}
        return run_query(self.cursor, name, self.caller.scope_params(name, declared, given))


def trail(ask: Ask) -> Page:
    """The trail search: every filter of ``TRAIL_FILTERS``, newest first, ``PAGE_SIZE`` rows a page by keyset."""
    filters = {name: ask.get(name) for name in TRAIL_FILTERS}
    before_at, before_seq = _keyset(ask.get("before"))
    rows = ask.query("trail_search", **filters, before_at=before_at, before_seq=before_seq,
                     limit=str(PAGE_SIZE + 1))
    page = Page("trail", "Trail", {"events": rows.slice(0, PAGE_SIZE)}, {"filters": filters})
    if rows.num_rows > PAGE_SIZE:
        last = rows.slice(PAGE_SIZE - 1, 1).to_pylist()[0]
        page.context["next_before"] = f"{last['occurred_at'].isoformat()},{last['store_seq']}"
    return page


def event(ask: Ask, event_id: str) -> Page:
    """One event's fields, its chain as a tree with a timing bar per node, and its integrity."""
    tenant = ask.get("tenant")
    fields = ask.query("event", event_id=event_id, tenant=tenant)
    if not fields.num_rows:
        raise EventNotFoundError(f"There is no event {event_id} in the trail you can see.")
    tenant = fields["tenant"][0].as_py()
    chain = ask.query("chain", event_id=event_id, tenant=tenant)
    rollup = ask.query("chain_summary", event_id=event_id, tenant=tenant)
    integrity = event_integrity(ask.cursor, event_id, ask.query("event_stream", event_id=event_id, tenant=tenant),
                                ask.public_key)
    record = to_records(fields)[0]
    return Page("event", f"Event {event_id}", {"event": fields, "chain": chain, "chain_summary": rollup,
                                               "integrity": integrity},
                {"event": record, "tree": chain_rows(chain), "rollup": to_records(rollup)[:1],
                 "integrity_status": overall(integrity)})


def chain_rows(chain: pa.Table) -> list[dict[str, Any]]:
    """The chain in tree order (the ``chain`` query's), each row with its timing bar on a 0..1000 axis.

    The bar runs from the action's start to its end (its occurred_at), against the whole chain's
    span; a node with no duration gets a sliver so it still shows where it happened.
    """
    nodes = _flatten(chain_nested(chain))
    starts = [_start(node) for node in nodes]
    ends = [_ts(node["occurred_at"]) for node in nodes]
    first, span = min(starts, default=0.0), max(max(ends, default=0.0) - min(starts, default=0.0), 1e-6)
    for node, start, end in zip(nodes, starts, ends, strict=True):
        node["bar_x"] = round((start - first) / span * 1000, 1)
        node["bar_width"] = max(round((end - start) / span * 1000, 1), 3.0)
    return nodes


def _flatten(roots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nested nodes as rows in tree order, each with its ``level`` and whether it has children (no recursion)."""
    rows: list[dict[str, Any]] = []
    pending = [(root, 0) for root in reversed(roots)]
    while pending:
        node, level = pending.pop()
        children = node.pop("children")
        rows.append({**node, "level": level, "has_children": bool(children)})
        pending.extend((child, level + 1) for child in reversed(children))
    return rows


def _start(node: dict[str, Any]) -> float:
    return _ts(node.get("started_at") or node["occurred_at"])


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _keyset(before: str | None) -> tuple[str | None, str | None]:
    """``before=<occurred_at ISO>,<store_seq>`` (the previous page's last row) as the two query parameters."""
    if before is None:
        return None, None
    at, _, seq = before.rpartition(",")
    if not at or not seq.isdigit():
        raise QueryParameterError("The page cursor 'before' is not one this console made; start from the first page.")
    return at, seq
