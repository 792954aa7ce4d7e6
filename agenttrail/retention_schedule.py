"""``agenttrail serve`` runs retention by itself: a ``retention.run`` whenever some tenant has events past its period.

Every ``AGENTTRAIL_RETENTION_INTERVAL_S`` (0: never) a thread asks the store, on its own
read cursor, whether any tenant with a retention period has sealed events received
longer ago than it; only then does it publish a run, as ``service:agenttrail`` with the
reason "scheduled", through the same fail-closed path as ``agenttrail retention run``.
A run the broker did not acknowledge is logged and asked again at the next interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from agenttrail import sql
from agenttrail._exceptions import AgentTrailError
from agenttrail.config import Settings
from agenttrail.producers.control import publish_control
from agenttrail.schemas.control import RetentionRun

log = logging.getLogger("agenttrail.retention")


class RetentionSchedule:
    def __init__(self, settings: Settings, bootstrap: str, cursor: Callable[[], duckdb.DuckDBPyConnection]) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self._cursor = cursor
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agenttrail-retention", daemon=True)

    def start(self) -> RetentionSchedule:
        if self.settings.retention_interval_s > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def run_if_due(self) -> bool:
        """Publish a run when one is due; True when it did."""
        with self._cursor() as cursor:
            [(due,)] = cursor.execute(sql.text("retention_pending"), {"now": datetime.now(UTC)}).fetchall()
        if due:
            publish_control(self.settings, self.bootstrap, "*", RetentionRun(), actor="service:agenttrail",
                            via="serve", reason="scheduled")
        return bool(due)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.retention_interval_s):
            try:
                self.run_if_due()
            except AgentTrailError as exc:
                log.warning("scheduled retention run not recorded: %s It is tried again in %g s.", exc,
                            self.settings.retention_interval_s)
