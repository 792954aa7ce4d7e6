"""Alerts reach webhooks signed, retried after a failure, logged, and never as a second distinct alert."""

from __future__ import annotations

import json
import time
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook

from agenttrail import ConfigError, Settings, Trail
from agenttrail.config import WebhookEndpoint, load_settings
from agenttrail.webhooks import WebhookSender
from tests.fixtures import Receiver, materialize
from tests.test_budgets import charge, set_budget

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _with_webhook(settings: Settings, receiver: Receiver, **endpoint: Any) -> Settings:
    hook = WebhookEndpoint(name="ops", url=SecretStr(receiver.url), secret=SecretStr(SECRET), **endpoint)
    return settings.model_copy(update={"webhooks": [hook]})


def _deliver_until(sender: WebhookSender, store: duckdb.DuckDBPyConnection, status: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sender.deliver_due()
        if store.execute("SELECT count(*) FROM webhook_deliveries WHERE status = ?", [status]).fetchall()[0][0]:
            return
        time.sleep(0.1)
    raise AssertionError(f"no delivery reached {status}")


def _alert_on_first_charge(settings: Settings, trail: Trail, store: duckdb.DuckDBPyConnection) -> None:
    set_budget(settings, scope="tenant:acme", limit="1.00", currency="USD", period="total", thresholds=[100])
    assert materialize(settings, store, until=1, table="control_events") == 1
    charge(trail, "1.50")
    assert trail.flush(10)
    assert materialize(settings, store, until=1) == 1


def test_a_delivery_is_signed_retried_after_a_500_and_logged(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    settings = _with_webhook(settings, receiver)
    receiver.statuses = [500]
    _alert_on_first_charge(settings, trail, store)
    sender = WebhookSender(settings, store)
    _deliver_until(sender, store, "delivered")

    assert len(receiver.received) == 2, "one failed attempt, one retry"
    (first_headers, first_body), (headers, body) = receiver.received
    assert first_headers["webhook-id"] == headers["webhook-id"] and first_body == body
    payload = Webhook(SECRET).verify(body, headers)  # raises unless the signature and timestamp are right
    assert payload["kind"] == "budget.threshold" and payload["scope"] == "tenant:acme"
    assert headers["webhook-id"] == f"{payload['alert_id']}:ops"
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 32).verify(body, headers)
    log = store.execute("SELECT status, attempts, last_status, last_error FROM webhook_deliveries").fetchall()
    assert log == [("delivered", 2, 200, None)]


def test_a_restarted_consumer_sends_no_second_alert(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    settings = _with_webhook(settings, receiver)
    _alert_on_first_charge(settings, trail, store)
    sender = WebhookSender(settings, store)
    _deliver_until(sender, store, "delivered")
    charge(trail, "2.00")  # still over the limit: the 100% threshold has fired already
    assert trail.flush(10)
    assert materialize(settings, store, until=2) == 2  # a new materializer: the restart
    sender.deliver_due()
    assert len(receiver.received) == 1
    assert store.execute("SELECT count(*) FROM webhook_deliveries").fetchall() == [(1,)]


def test_a_rejected_delivery_fails_at_once_and_slack_gets_text(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    settings = _with_webhook(settings, receiver, format="slack")
    receiver.statuses = [404]
    _alert_on_first_charge(settings, trail, store)
    sender = WebhookSender(settings, store)
    _deliver_until(sender, store, "failed")
    [(_, body)] = receiver.received
    assert json.loads(body)["text"].startswith("[critical] Budget tenant:acme reached 100%")
    log = store.execute("SELECT attempts, last_status, last_error FROM webhook_deliveries").fetchall()
    assert log == [(1, 404, "HTTP 404: the receiver rejected the delivery")]


def test_endpoints_only_get_the_alert_kinds_they_ask_for(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection, receiver: Receiver
) -> None:
    settings = _with_webhook(settings, receiver, kinds=["anomaly.*"])
    _alert_on_first_charge(settings, trail, store)
    assert store.execute("SELECT count(*) FROM alerts").fetchall() == [(1,)]
    assert store.execute("SELECT count(*) FROM webhook_deliveries").fetchall() == [(0,)]


def test_a_bad_webhook_setting_names_the_key_and_the_url_is_never_stored(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection, receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTTRAIL_WEBHOOKS", json.dumps([{"name": "ops", "url": receiver.url, "secret": "whsec_!!"}]))
    with pytest.raises(ConfigError, match=r"AGENTTRAIL_WEBHOOKS\[0\]\.secret: .*Standard Webhooks key"):
        load_settings()
    settings = _with_webhook(settings, receiver)
    _alert_on_first_charge(settings, trail, store)
    stored = store.execute(
        "SELECT * EXCLUDE (next_attempt_at, queued_at, delivered_at) FROM webhook_deliveries").fetchall()
    assert stored and receiver.url not in repr(stored), "a Slack webhook URL is itself a secret"
