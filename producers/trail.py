"""The SDK agent code uses: ``trail = agenttrail.connect(...)``, then ``with trail.action(...)``.

Actions nest through a context variable, so a child opened inside a parent's
``with`` block links to it (parent_event_id, parent span, shared trace) in
threads and asyncio tasks alike. Each Trail is one hash-chained stream; sibling
and delegated Trails share the process's Emitter.
"""

from __future__ import annotations

import functools
import inspect
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from agenttrail._exceptions import (
    AuditUnavailableError,
    InvalidEventError,
    RevokedError,
    SecretInPayloadError,
    TokenRevokedError,
)
from agenttrail.broker import resolve_bootstrap
from agenttrail.config import Settings, load_settings
from agenttrail.pricing import RESERVED_PREFIX, price_usage
from agenttrail.producers.emitter import Emitter, Mode, Refusal
from agenttrail.producers.guard import Guard
from agenttrail.producers.ids import new_event_id, new_span_id, new_trace_id
from agenttrail.producers.spool import Spool
from agenttrail.schemas.fingerprints import Fingerprinter, looks_like_secret, redact_secrets
from agenttrail.schemas.models import AgentAction
from agenttrail.schemas.sealing import SUBJECT_KINDS

P = ParamSpec("P")
R = TypeVar("R")

# Actions that spend money or grant access wait for the broker's ack (DESIGN.md).
_FAIL_CLOSED_ACTIONS = re.compile(r"^(purchase|payment|subscription|domain\.register|token\.(issue|grant))")

_current: ContextVar[ActionScope | None] = ContextVar("agenttrail_current_action", default=None)


def connect(
    *,
    tenant: str,
    agent_id: str,
    agent_version: str,
    region: str,
    principal: str,
    model: str | None = None,
    runtime: str | None = None,
    mode: Mode = "async",
    session_id: str | None = None,
    settings: Settings | None = None,
    spool_dir: Path | None = None,
    on_refused: Callable[[Refusal], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Trail:
    """Open the emitter for this process and return the agent's Trail.

    ``principal`` is ``"human:alice"``, ``"service:billing"`` or ``"agent:planner"``.
    Without a bootstrap setting the embedded broker recorded by ``agenttrail
    serve`` is used; with neither, BrokerUnavailableError says how to start one.

    ``clock`` stamps ``occurred_at`` instead of the wall clock; it is what replays, importers
    and simulators use to record when something happened rather than when it was recorded.
    It must return timezone-aware UTC datetimes (the consumer quarantines an ``occurred_at``
    more than five minutes in its future). Durations are still measured with the process's
    monotonic counter.

    Unless ``settings.guard`` is off (AGENTTRAIL_GUARD=false), a revocation guard starts
    here and follows the revocations topic in the background: an action by a suspended
    agent (or a delegate of one) and ``use_token`` with a revoked token (or one minted from
    a revoked token) are recorded as ``denied`` and raise a RevokedError. It enforces what
    it has read so far; ``trail.guard.wait_caught_up(timeout)`` waits for the backlog.
    It also hears erasures, and drops the erased subject's data keys.

    A human principal's id (and a human's in the actor chain, and the source address of
    an action for a human) is sealed under keys derived from AGENTTRAIL_FINGERPRINT_KEY
    (``schemas/sealing.py``): without that key, ConfigError says so here.
    """
    settings = settings or load_settings()
    bootstrap = resolve_bootstrap(settings)
    spool = Spool(spool_dir or settings.spool_dir / _safe(f"{tenant}-{agent_id}"), settings.spool_max_bytes)
    emitter = Emitter(settings, bootstrap, spool=spool, on_refused=on_refused)
    guard = Guard(settings, bootstrap, on_erased=emitter.keyring.forget) if settings.guard else None
    if guard is not None:
        guard.start()
    identity = {"id": agent_id, "version": agent_version, "model": model, "runtime": runtime, "region": region}
    return Trail(emitter, settings, tenant=tenant, agent=identity, principal=_principal(principal),
                 actor_chain=[{"kind": "agent", "id": agent_id}], mode=mode, session_id=session_id,
                 clock=clock, guard=guard)


class Trail:
    """One agent's audit stream. Cheap to create; ``close()`` the root to flush the emitter.

    Trails made from one another share the emitter and the revocation guard (``guard``,
    None when disabled).
    """

    def __init__(
        self,
        emitter: Emitter,
        settings: Settings,
        *,
        tenant: str,
        agent: dict[str, Any],
        principal: dict[str, str],
        actor_chain: list[dict[str, str]],
        mode: Mode,
        session_id: str | None,
        clock: Callable[[], datetime] | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.emitter = emitter
        self.guard = guard
        self.settings = settings
        self.tenant = tenant
        self.agent = agent
        self.principal = principal
        self.actor_chain = actor_chain
        self.mode = mode
        self.session_id = session_id
        self.stream_id = f"{agent['id']}/{new_span_id()}"
        self._fingerprinter: Fingerprinter | None = None
        self._clock = clock  # None: the wall clock (see connect)
        if any(who["kind"] in SUBJECT_KINDS for who in (principal, *actor_chain)):
            _ = emitter.keyring.keys  # a person's id is sealed: ConfigError now, not on the sender thread later

    # -- identities sharing this process's emitter ------------------------------------------------

    def for_agent(self, *, tenant: str, agent_id: str, agent_version: str, region: str, principal: str,
                  model: str | None = None, runtime: str | None = None,
                  session_id: str | None = None, clock: Callable[[], datetime] | None = None) -> Trail:
        """Another agent's Trail on the same emitter (a fleet in one process); ``clock`` defaults to
        this trail's."""
        identity = {"id": agent_id, "version": agent_version, "model": model, "runtime": runtime, "region": region}
        return Trail(self.emitter, self.settings, tenant=tenant, agent=identity,
                     principal=_principal(principal), actor_chain=[{"kind": "agent", "id": agent_id}],
                     mode=self.mode, session_id=session_id, clock=clock or self._clock, guard=self.guard)

    def delegate(self, agent_id: str, agent_version: str, *, model: str | None = None,
                 region: str | None = None) -> Trail:
        """A sub-agent acting for the same principal; its actor chain records who delegated.
        It keeps this trail's clock."""
        identity = {**self.agent, "id": agent_id, "version": agent_version,
                    "model": model or self.agent["model"], "region": region or self.agent["region"]}
        return Trail(self.emitter, self.settings, tenant=self.tenant, agent=identity,
                     principal=self.principal, actor_chain=[{"kind": "agent", "id": agent_id}, *self.actor_chain],
                     mode=self.mode, session_id=self.session_id, clock=self._clock, guard=self.guard)

    # -- recording -------------------------------------------------------------------------------

    @contextmanager
    def action(self, action_type: str, name: str, *, resource: tuple[str, str] | None = None,
               resource_region: str | None = None, attributes: Mapping[str, str] | None = None,
               mode: Mode | None = None, data_region: str | None = None,
               source_address: str | None = None) -> Iterator[ActionScope]:
        """Record one action around the block: outcome, error, duration; children nest inside.

        When the action cannot be recorded (fail_closed) or the guard refuses the agent, it is
        recorded as ``denied``, the block does not run, and the error is raised.
        """
        scope = self._started(action_type, name, resource, resource_region, attributes, mode,
                              data_region=data_region, source_address=source_address)
        token = _current.set(scope)
        try:
            yield scope
        except BaseException as exc:
            scope.fail(exc)
            raise
        finally:
            _current.reset(token)
            scope.finish()

    def begin(self, action_type: str, name: str, *, resource: tuple[str, str] | None = None,
              attributes: Mapping[str, str] | None = None) -> ActionScope:
        """An action that ends elsewhere than it starts (a stream read later, a callback): call ``scope.end()``.

        It is the child of the action open here, but opens no block of its own: actions
        started while it runs do not nest under it. Like ``action``, a refusal by the guard
        or an unrecordable fail_closed start is recorded as ``denied`` and raised.
        """
        return self._started(action_type, name, resource, None, attributes, None)

    def _started(self, action_type: str, name: str, resource: tuple[str, str] | None, resource_region: str | None,
                 attributes: Mapping[str, str] | None, mode: Mode | None, *, data_region: str | None = None,
                 source_address: str | None = None) -> ActionScope:
        """A started child of the action open now; a start that must not run is recorded as denied and raised."""
        scope = ActionScope(self, action_type, name, _current.get(), mode or self._mode_for(action_type))
        scope.data_region, scope.source_address = data_region, source_address
        if resource is not None:
            scope.set_resource(*resource, region=resource_region)
        for key, value in (attributes or {}).items():
            scope.set_attribute(key, value)
        try:
            scope.start()
        except (AuditUnavailableError, RevokedError) as exc:
            scope.set_outcome("denied", code=type(exc).__name__, message=str(exc))
            scope.finish()  # the trail says it was not run, instead of a forever-pending start or a silence
            raise
        return scope

    def traced(
        self, action_type: str, name: str | None = None, **options: Any
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator form of ``action`` for plain and ``async def`` functions."""
        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            label = name or func.__qualname__
            if inspect.iscoroutinefunction(func):
                @functools.wraps(func)
                async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                    with self.action(action_type, label, **options):
                        return await func(*args, **kwargs)
                return run_async  # type: ignore[return-value]

            @functools.wraps(func)
            def run(*args: P.args, **kwargs: P.kwargs) -> R:
                with self.action(action_type, label, **options):
                    return func(*args, **kwargs)
            return run
        return decorate

    def emit(self, event: AgentAction | dict[str, Any], mode: Mode | None = None) -> None:
        """Send a fully built event (its integrity fields are filled in by the emitter)."""
        record = event.to_avro() if isinstance(event, AgentAction) else dict(event)
        record["integrity"] = {"stream_id": self.stream_id, "seq": 0, "prev_hash": None}
        self._submit(record, mode or self.mode)

    def fingerprint(self, raw_token: str) -> str:
        if self._fingerprinter is None:
            self._fingerprinter = Fingerprinter(self.settings.fingerprint_key, self.settings.fingerprint_key_id)
        return self._fingerprinter.fingerprint(raw_token)

    def flush(self, timeout: float = 30.0) -> bool:
        return self.emitter.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.emitter.close(timeout)
        if self.guard is not None:
            self.guard.close()

    def __enter__(self) -> Trail:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _now(self) -> datetime:
        return datetime.now(UTC) if self._clock is None else self._clock()

    def _check_actors(self) -> None:
        """The guard refuses a suspended agent, and every delegate of one (its actor chain)."""
        if self.guard is not None and self.guard.in_force:
            me = self.agent["id"]
            self.guard.check_agent(me, delegated_by=[
                actor["id"] for actor in self.actor_chain if actor["kind"] == "agent" and actor["id"] != me])

    def _mode_for(self, action_type: str) -> Mode:
        return "fail_closed" if _FAIL_CLOSED_ACTIONS.match(action_type) else self.mode

    def _submit(self, record: dict[str, Any], mode: Mode) -> None:
        if mode == "async":
            self.emitter.submit(record)
        elif mode == "durable":
            self.emitter.submit_durable(record)
        else:
            self.emitter.submit_fail_closed(record)


class ActionScope:
    """The action being recorded; set cost, credential, attributes or outcome on it."""

    def __init__(self, trail: Trail, action_type: str, name: str, parent: ActionScope | None, mode: Mode) -> None:
        self.trail = trail
        self.event_id = new_event_id()
        self.span_id = new_span_id()
        self.parent = parent
        self.trace_id: str = parent.trace_id if parent else new_trace_id()
        self.action: dict[str, Any] = {"type": action_type, "name": name, "phase": "completed", "resource": None}
        self.mode = mode
        self.outcome = "success"
        self.error: dict[str, str] | None = None
        self.cost: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None  # tokens set_usage recorded, priced when the action completes
        self.credential: dict[str, Any] | None = None
        self.attributes: dict[str, str] = {}
        self.data_region: str | None = None
        self.source_address: str | None = None
        self.started_event_id: str | None = None
        self._refusal: TokenRevokedError | None = None  # the guard's refusal of a credential, kept "denied"
        self._started_at = trail._now()
        self._t0 = 0

    def set_resource(self, kind: str, resource_id: str, *, region: str | None = None) -> None:
        _refuse_secret("resource id", resource_id)
        self.action["resource"] = {"kind": kind, "id": resource_id, "region": region}

    def set_attribute(self, key: str, value: str) -> None:
        if key.startswith(RESERVED_PREFIX):
            raise InvalidEventError(f"Attribute keys under {RESERVED_PREFIX!r} are AgentTrail's own; rename {key!r}.")
        _refuse_secret(f"attribute {key!r}", value)
        self.attributes[key] = str(value)

    def set_cost(self, amount: Decimal | str, currency: str, *, input_tokens: int | None = None,
                 output_tokens: int | None = None) -> None:
        if isinstance(amount, float):
            raise InvalidEventError("Cost amounts must be Decimal or str, never float (floats lose cents).")
        self.cost = {"amount": Decimal(amount), "currency": currency,
                     "input_tokens": input_tokens, "output_tokens": output_tokens}

    def set_usage(self, input_tokens: int | None, output_tokens: int | None = None, *, model: str | None = None,
                  provider: str | None = None) -> None:
        """Token usage without a cost: priced from the shipped price table when the action completes.

        ``model`` defaults to the agent's; ``provider`` is the OpenTelemetry gen_ai.provider.name
        (``openai``, ``anthropic``…). The event records which table priced it
        (``agenttrail.price_table``); usage the table does not know keeps its token counts as
        attributes and no cost. A cost set with ``set_cost`` wins.
        """
        if any(n is not None and (not isinstance(n, int) or n < 0) for n in (input_tokens, output_tokens)):
            raise InvalidEventError("Token counts must be whole numbers, 0 or more.")
        self.usage = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "model": model or self.trail.agent["model"], "provider": provider}

    def use_token(self, raw_token: str | None = None, *, fingerprint: str | None = None,
                  token_id: str | None = None, issuer: str | None = None, scopes: list[str] | None = None,
                  parent_token: str | None = None, parent_fingerprint: str | None = None) -> str:
        """Attach a credential; a raw token is fingerprinted here and never leaves the process.

        Raises TokenRevokedError when the guard knows the token, or the token it was minted
        from, is revoked; the action is then recorded as ``denied`` with that error.
        """
        if token_id is not None:
            _refuse_secret("token id", token_id)
        fp = fingerprint or self.trail.fingerprint(raw_token or "")
        parent_fp = parent_fingerprint or (self.trail.fingerprint(parent_token) if parent_token else None)
        self.credential = {"token_id": token_id, "fingerprint": fp, "issuer": issuer,
                           "scopes": list(scopes or []), "parent_fingerprint": parent_fp}
        if self.trail.guard is not None:
            try:
                self.trail.guard.check_token(fp, parent=parent_fp)
            except TokenRevokedError as exc:
                self._refusal = exc
                self.set_outcome("denied", code=type(exc).__name__, message=str(exc))
                raise
        return fp

    def set_outcome(self, outcome: str, *, code: str | None = None, message: str | None = None) -> None:
        self.outcome = outcome
        if code is not None:
            self.error = {"code": code, "message": redact_secrets(message or "")}

    def fail(self, exc: BaseException) -> None:
        if exc is self._refusal:
            return  # already recorded as denied, which is what happened
        self.outcome = "failure"
        self.error = {"code": type(exc).__name__, "message": redact_secrets(str(exc))[:2000]}

    def end(self, error: BaseException | None = None) -> None:
        """Record an action from ``Trail.begin``: done, or failed with ``error``."""
        if error is not None:
            self.fail(error)
        self.finish()

    def start(self) -> None:
        """Raises AgentSuspendedError (the guard) or AuditUnavailableError (fail_closed): do not run."""
        self._t0 = time.perf_counter_ns()
        self.trail._check_actors()
        if self.mode == "fail_closed":
            started = self._record(phase="started", outcome="pending", duration_us=None)
            self.trail._submit(started, "fail_closed")

    def finish(self) -> None:
        duration_us = (time.perf_counter_ns() - self._t0) // 1000
        mode = "durable" if self.mode == "fail_closed" else self.mode
        self.trail._submit(self._record(phase="completed", outcome=self.outcome, duration_us=duration_us), mode)

    def _record(self, *, phase: str, outcome: str, duration_us: int | None) -> dict[str, Any]:
        trail = self.trail
        cost = None
        if phase == "started":
            self.started_event_id = event_id = new_event_id()
            attributes, occurred_at = self.attributes, self._started_at
        else:
            event_id, occurred_at, cost = self.event_id, trail._now(), self.cost
            attributes = {**self.attributes, "started_event_id": self.started_event_id} \
                if self.started_event_id else self.attributes
            if cost is None and self.usage is not None:
                priced = price_usage(self.usage["input_tokens"], self.usage["output_tokens"], at=occurred_at,
                                     model=self.usage["model"], provider=self.usage["provider"])
                cost, attributes = priced.cost, {**attributes, **priced.attributes}
        return {
            "event_id": event_id,
            "occurred_at": occurred_at,
            "tenant": trail.tenant,
            "agent": trail.agent,
            "principal": trail.principal,
            "actor_chain": trail.actor_chain,
            "session_id": trail.session_id,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent.span_id if self.parent else None,
            "parent_event_id": self.parent.event_id if self.parent else None,
            "action": {**self.action, "phase": phase},
            "outcome": outcome,
            "error": self.error if phase == "completed" else None,
            "duration_us": duration_us,
            "credential": self.credential,
            "cost": cost,
            "data_region": self.data_region,
            "source_address": self.source_address,
            "attributes": attributes,
            "integrity": {"stream_id": trail.stream_id, "seq": 0, "prev_hash": None},
        }


def _principal(spec: str) -> dict[str, str]:
    kind, _, ident = spec.partition(":")
    if kind not in ("human", "agent", "service") or not ident:
        raise InvalidEventError(f"principal {spec!r} must look like human:ID, agent:ID or service:ID.")
    return {"kind": kind, "id": ident}


def _refuse_secret(what: str, value: str) -> None:
    if looks_like_secret(value):
        raise SecretInPayloadError(
            f"The {what} looks like a raw credential; pass tokens through use_token() so only "
            "their fingerprint is recorded."
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120]
