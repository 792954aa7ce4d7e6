"""Delivering queued alerts to webhooks: signed, retried with backoff, every attempt logged.

One sender serves every kind of alert (budgets now; anomalies, revocations and
token issuers later). Deliveries are queued by the materializer in the same
transaction as the alert, so an alert is never lost between "raised" and
"queued". Each POST is signed the Standard Webhooks way (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``: HMAC-SHA256, via the
``standardwebhooks`` library that receivers can verify with too). The
``webhook-id`` is the stable delivery id: after a graceful stop nothing is sent
again, after a SIGKILL between the POST and its log entry a receiver may see
the same id twice, never a second distinct alert.

A 2xx marks it delivered. A timeout, a refused connection, 408, 429 or 5xx is
retried after 1, 2, 4 … seconds (at most five minutes) until
``webhook_max_attempts``; any other 4xx means the receiver rejected it, and it
fails at once. The log (``webhook_deliveries``) never holds the secret.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
from standardwebhooks import Webhook

from agenttrail import __version__
from agenttrail.config import Settings
from agenttrail.consumers.store import sql

log = logging.getLogger("agenttrail.webhooks")

_RETRYABLE = {408, 429}
_MAX_BACKOFF_S = 300


class WebhookSender:
    """Sends due deliveries from ``webhook_deliveries`` on its own thread (``start``/``stop``)."""

    def __init__(self, settings: Settings, con: duckdb.DuckDBPyConnection, *, poll_s: float = 0.2) -> None:
        self.settings = settings
        self.con = con
        self.poll_s = poll_s
        self._endpoints = {e.name: (e.url.get_secret_value(), Webhook(e.secret.get_secret_value()))
                           for e in settings.webhooks}
        self._client = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agenttrail-webhooks", daemon=True)

    def start(self) -> WebhookSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.settings.webhook_timeout_s + 5)
        self._client.close()

    def deliver_due(self, limit: int = 100) -> int:
        """One pass: attempt every delivery whose time has come; returns how many were attempted."""
        now = datetime.now(UTC)
        due = self.con.execute(sql("due_webhook_deliveries"), {"now": now, "limit": limit}).fetchall()
        for delivery_id, endpoint, body, attempts in due:
            if self._stop.is_set():
                break  # a graceful stop does not start an attempt it may not get to record
            try:
                self._attempt(delivery_id, endpoint, body, attempts)
            except Exception as exc:  # one bad delivery must not stop the others
                self._record(delivery_id, "failed", attempts, None, f"{type(exc).__name__} while sending")
        return len(due)

    def _attempt(self, delivery_id: str, endpoint: str, body: str, attempts: int) -> None:
        """One POST; the URL comes from the settings (never stored: a Slack webhook URL is a secret)."""
        configured = self._endpoints.get(endpoint)
        if configured is None:
            self._record(delivery_id, "failed", attempts, None, f"endpoint {endpoint} is no longer configured")
            return
        url, signer = configured
        sent_at = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": f"agenttrail/{__version__}",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(msg_id=delivery_id, timestamp=sent_at, data=body),
        }
        try:
            response = self._client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            self._record(delivery_id, "pending", attempts, None,
                         f"{type(exc).__name__} from {urlsplit(url).hostname} ({endpoint})")
            return
        if response.is_success:
            self._record(delivery_id, "delivered", attempts, response.status_code, None)
        elif response.status_code in _RETRYABLE or response.status_code >= 500:
            self._record(delivery_id, "pending", attempts, response.status_code, f"HTTP {response.status_code}")
        else:
            self._record(delivery_id, "failed", attempts, response.status_code,
                         f"HTTP {response.status_code}: the receiver rejected the delivery")

    def _record(self, delivery_id: str, status: str, attempts: int, http_status: int | None,
                error: str | None) -> None:
        now = datetime.now(UTC)
        if status == "pending" and attempts + 1 >= self.settings.webhook_max_attempts:
            status = "failed"
            log.warning("webhook delivery %s failed after %d attempts: %s", delivery_id, attempts + 1, error)
        retry_in = timedelta(seconds=min(2 ** attempts, _MAX_BACKOFF_S))
        params: dict[str, Any] = {"delivery_id": delivery_id, "status": status, "now": now,
                                  "next_attempt_at": now + retry_in, "last_status": http_status,
                                  "last_error": error}
        self.con.execute(sql("record_webhook_attempt"), params).fetchall()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                attempted = self.deliver_due()
            except duckdb.Error as exc:
                log.warning("webhook sender paused: %s", exc)
                attempted = 0
            if not attempted:
                self._stop.wait(self.poll_s)
