"""Leak intake: each reported token becomes an audited ``leak.reported`` control event, labelled by what we know.

The library behind every way in: GitHub's secret scanning partner program
(``POST /v1/leaks/github``, ``agenttrail.github_secret_scanning``), a person over HTTP
(``POST /v1/leaks``) and the CLI (``agenttrail leak report``). A raw token is
fingerprinted by the caller on arrival and never reaches this module. A token is
labelled ``true_positive`` when stored events carried it (as an action's credential, a
token.issue's included, or as the parent of one: the lineage has a row for it), and its
report is recorded under that token's tenant; otherwise ``false_positive``, recorded
under tenant ``*``, and nothing of ours is revoked. The revocation is the built-in rule
leaked-token's (``consumers/policy/builtin.py``), made when the materializer stores the
report: the token and its whole tree, each revocation its own row and notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
from pydantic import ValidationError

from agenttrail import sql
from agenttrail._exceptions import LeakReportError
from agenttrail.schemas.control import ControlEvent, ControlPayload, LeakReported
from agenttrail.schemas.fingerprints import redact_secrets

# The reporter's clock may run a little ahead of ours; an exposure later than this is a mistake.
FUTURE_SKEW = timedelta(minutes=5)

Known = Callable[[Sequence[str]], dict[str, str]]  # fingerprints -> tenant, for the tokens stored events carried
PublishMany = Callable[[Sequence[tuple[str, ControlPayload]]], list[ControlEvent]]  # fail-closed, in order


@dataclass(frozen=True)
class Leak:
    """One reported token, by fingerprint, and what the reporter says about where and when it was exposed."""

    fingerprint: str
    source_url: str = ""
    exposed_at: datetime | None = None
    token_type: str | None = None
    found_in: str | None = None


@dataclass(frozen=True)
class RecordedLeak:
    fingerprint: str
    label: str  # true_positive | false_positive
    tenant: str  # the token's, or '*'
    event_id: str  # the leak.reported control event


def record_leaks(leaks: Sequence[Leak], *, reporter: str, known: Known, publish: PublishMany) -> list[RecordedLeak]:
    """Label and record every leak, in order; LeakReportError names the first one that cannot be.

    ``publish`` raises AuditUnavailableError when the broker did not acknowledge them: then
    they were not recorded (a retry of the same report is safe: the tree is revoked once).
    """
    tenants = known([leak.fingerprint for leak in leaks])
    changes: list[tuple[str, LeakReported]] = [
        (tenants.get(leak.fingerprint, "*"), _payload(leak, reporter, leak.fingerprint in tenants)) for leak in leaks]
    events = publish(changes)
    return [RecordedLeak(leak.fingerprint, payload.label, tenant, event.event_id)
            for leak, (tenant, payload), event in zip(leaks, changes, events, strict=True)]


def known_tokens(con: duckdb.DuckDBPyConnection, fingerprints: Sequence[str]) -> dict[str, str]:
    """The ``Known`` lookup on a store: fingerprint -> tenant for the tokens stored events carried."""
    rows = con.execute(sql.text("leak_known_tokens"), {"fingerprints": list(fingerprints)}).fetchall()
    return {str(fingerprint): str(tenant) for fingerprint, tenant in rows}


def _payload(leak: Leak, reporter: str, known: bool) -> LeakReported:
    if leak.exposed_at is not None and leak.exposed_at.utcoffset() is not None \
            and leak.exposed_at > datetime.now(UTC) + FUTURE_SKEW:
        raise LeakReportError(f"The exposure time {leak.exposed_at.isoformat()} is in the future; give when the "
                              "token became public.")
    try:
        return LeakReported(
            fingerprint=leak.fingerprint, source_url=redact_secrets(leak.source_url), exposed_at=leak.exposed_at,
            reporter=reporter, token_type=leak.token_type and redact_secrets(leak.token_type),
            found_in=leak.found_in and redact_secrets(leak.found_in),
            label="true_positive" if known else "false_positive")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "report"
        raise LeakReportError(f"The leak report's {where} is not accepted: "
                              f"{str(first['msg']).removeprefix('Value error, ')}.") from None
