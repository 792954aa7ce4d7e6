"""Publishing governance changes to the control topic, fail-closed.

A change that the broker did not acknowledge was not recorded, so it must not
be treated as made: ``publish_control`` raises instead of spooling. The
materializer applies the change when it stores the event, in the same total
order as agent actions.
"""

from __future__ import annotations

from agenttrail._exceptions import AuditUnavailableError, BrokerUnavailableError
from agenttrail.config import Settings
from agenttrail.kafka import abandon_producer, make_producer, send_and_wait
from agenttrail.producers.ids import new_event_id
from agenttrail.schemas.codec import control_codec
from agenttrail.schemas.control import ControlEvent, ControlPayload, envelope


def publish_control(settings: Settings, bootstrap: str, tenant: str, payload: ControlPayload, *,
                    actor: str, via: str, reason: str | None = None) -> ControlEvent:
    """Record one change on ``<prefix>.control`` and wait for the ack; returns the event sent."""
    event = envelope(tenant, payload, actor=actor, via=via, reason=reason, event_id=new_event_id())
    value = control_codec().encode(event.to_avro())
    try:
        producer = make_producer(settings, bootstrap, linger_ms=0)
    except BrokerUnavailableError:
        raise AuditUnavailableError(
            f"Kafka at {bootstrap} did not answer, so the {payload.kind} change was not recorded and not "
            "applied; check that the broker is running and retry."
        ) from None
    timeout = settings.delivery_timeout_ms / 1000
    acked = send_and_wait(producer, settings.topic("control"), [(tenant.encode("utf-8"), value)], timeout)[0]
    if acked:
        producer.close(timeout=1)
    else:
        abandon_producer(producer)
        raise AuditUnavailableError(
            f"Kafka at {bootstrap} did not acknowledge the {payload.kind} change within {timeout:g} s, "
            "so it was not recorded and not applied; retry when the broker answers."
        )
    return event
