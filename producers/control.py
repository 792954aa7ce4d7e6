"""Publishing governance changes to the control topic, fail-closed.

A change that the broker did not acknowledge was not recorded, so it must not
be treated as made: ``publish_control`` raises instead of spooling. The
materializer applies the change when it stores the event, in the same total
order as agent actions.
"""

from __future__ import annotations

from collections.abc import Sequence

from agenttrail._exceptions import AuditUnavailableError, BrokerUnavailableError
from agenttrail.config import Settings
from agenttrail.kafka import abandon_producer, make_producer, send_and_wait
from agenttrail.producers.ids import new_event_id
from agenttrail.schemas.codec import control_codec
from agenttrail.schemas.control import ControlEvent, ControlPayload, envelope


def publish_control(settings: Settings, bootstrap: str, tenant: str, payload: ControlPayload, *,
                    actor: str, via: str, reason: str | None = None) -> ControlEvent:
    """Record one change on ``<prefix>.control`` and wait for the ack; returns the event sent."""
    return publish_controls(settings, bootstrap, [(tenant, payload)], actor=actor, via=via, reason=reason)[0]


def publish_controls(settings: Settings, bootstrap: str, changes: Sequence[tuple[str, ControlPayload]], *,
                     actor: str, via: str, reason: str | None = None) -> list[ControlEvent]:
    """Record several (tenant, payload) changes in one round trip, and wait for every ack.

    AuditUnavailableError when any was not acknowledged: those were not recorded and not
    applied (the others were, and stand), so the caller retries the whole set.
    """
    events = [envelope(tenant, payload, actor=actor, via=via, reason=reason, event_id=new_event_id())
              for tenant, payload in changes]
    kinds = " and ".join(sorted({payload.kind for _, payload in changes}))
    try:
        producer = make_producer(settings, bootstrap, linger_ms=0)
    except BrokerUnavailableError:
        raise AuditUnavailableError(
            f"Kafka at {bootstrap} did not answer, so the {kinds} change was not recorded and not "
            "applied; check that the broker is running and retry."
        ) from None
    timeout = settings.delivery_timeout_ms / 1000
    codec = control_codec()
    acked = send_and_wait(producer, settings.topic("control"),
                          [(event.tenant.encode("utf-8"), codec.encode(event.to_avro())) for event in events], timeout)
    if all(acked):
        producer.close(timeout=1)
    else:
        abandon_producer(producer)
        missing = f"the {kinds} change" if len(events) == 1 else f"{acked.count(False)} of the {len(events)} changes"
        raise AuditUnavailableError(
            f"Kafka at {bootstrap} did not acknowledge {missing} within {timeout:g} s, so it was not recorded "
            "and not applied; retry when the broker answers."
        )
    return events
