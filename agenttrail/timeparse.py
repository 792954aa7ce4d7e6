"""Turn what a person types after ``--since`` / ``--until`` into an aware UTC datetime.

Two forms are accepted, because they are what people actually type:

* a relative duration meaning "that long before now": ``90s``, ``30m``, ``2h``, ``7d``, ``2w``
  (one whole number and one unit; ``now`` on its own means the current instant);
* an ISO 8601 date or datetime: ``2026-11-01``, ``2026-11-01T10:00:00Z``,
  ``2026-11-01 10:00:00+02:00``. A value without an offset is read as UTC, never as
  local time, so the same command gives the same rows on every machine.

Anything else raises ``QueryParameterError`` with one sentence that names the flag and
shows the accepted forms.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from agenttrail._exceptions import QueryParameterError

_RELATIVE = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE | re.ASCII)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_time(value: str, *, now: datetime | None = None, label: str = "The value") -> datetime:
    """The instant ``value`` names, as an aware UTC datetime.

    ``now`` anchors relative durations (default: the current time; a naive ``now`` is
    read as UTC). ``label`` is how the value is named in the error, e.g. ``"--since"``.
    Raises ``QueryParameterError`` when ``value`` is neither form, or lies outside the
    range a datetime can hold (``99999999d``).
    """
    text = value.strip()
    anchor = _as_utc(now) if now is not None else datetime.now(UTC)
    try:
        if text.lower() == "now":
            return anchor
        relative = _RELATIVE.fullmatch(text)
        if relative:
            seconds = int(relative.group(1)) * _UNIT_SECONDS[relative.group(2).lower()]
            return anchor - timedelta(seconds=seconds)
        return _as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise QueryParameterError(
            f"{label} {value!r} is not a time: use 30m, 2h, 7d or an ISO date like 2026-11-01."
        ) from None


def _as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
