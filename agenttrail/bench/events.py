"""Realistic, schema-valid events like a fleet records, encoded and hash-chained as the SDK sends them."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agenttrail.bench.report import PROGRESS_EVERY, QUERY_AGENTS
from agenttrail.producers.ids import new_event_id
from agenttrail.schemas.codec import Codec

_TENANTS = (("acme", "eu-west-1"), ("globex", "us-east-1"), ("initech", "ap-southeast-2"),
            ("umbrella", "us-east-1"), ("hooli", "eu-west-1"))
_ROLES = ("onboarding", "billing", "devops", "support", "research", "growth", "ops", "sales", "legal", "data")
_MODELS = ("claude-sonnet-4", "gpt-4.1", "gpt-4.1-mini", "llama-3.1-70b")
_RUNTIMES = ("python-3.12/langgraph-0.4", "node-22/openai-agents-0.1", "python-3.11/crewai-0.120")
_TOOLS = (("search_web", "api", "search.example.com"), ("read_file", "bucket", "{t}-documents"),
          ("sql_query", "database", "{t}-crm"), ("send_email", "api", "mail.example.com"),
          ("http_get", "api", "partner.example.com"))
_KINDS = ("llm.call", "tool.call", "token.use", "agent.run", "agent.plan", "account.create", "deploy.release")
_WEIGHTS = (35, 33, 12, 10, 5, 3, 2)
_NANO = Decimal("0.000000001")


Tenants = Sequence[tuple[str, str]]  # (tenant, home region)


def agent_ids(count: int, tenants: Tenants = _TENANTS) -> list[tuple[str, str, str]]:
    """(agent id, tenant, home region) for ``count`` agents spread over ``tenants`` (five by default)."""
    agents = []
    for i in range(count):
        tenant, home = tenants[i % len(tenants)]
        role = _ROLES[(i // len(tenants)) % len(_ROLES)]
        generation = i // (len(tenants) * len(_ROLES)) + 1
        agents.append((f"{role}-{tenant}-{generation}", tenant, home))
    return agents


def _identities(count: int, tenants: Tenants) -> list[dict[str, Any]]:
    identities = []
    for i, (agent_id, tenant, home) in enumerate(agent_ids(count, tenants)):
        identities.append({
            "tenant": tenant, "home": home,
            "agent": {"id": agent_id, "version": f"1.{i % 7}.{i % 3}", "model": _MODELS[i % len(_MODELS)],
                      "runtime": _RUNTIMES[i % len(_RUNTIMES)], "region": home},
            "principal": {"kind": "human", "id": f"user{i % 9}@{tenant}.example"},
            "actor_chain": [{"kind": "agent", "id": agent_id}],
            "stream_id": f"{agent_id}/{i:016x}",
            "fingerprint": "hmac-sha256:k1:" + hmac.new(b"bench", agent_id.encode(), hashlib.sha256).hexdigest(),
        })
    return identities


def sample_events(count: int, *, seed: int = 7, agents: int = QUERY_AGENTS,
                  tenants: Tenants = _TENANTS) -> Iterator[dict[str, Any]]:
    """Schema-valid events like a fleet records (llm and tool calls with costs, token uses,
    failures), spread over the last day; integrity is left for the caller to chain."""
    rng = random.Random(seed)
    identities = _identities(agents, tenants)
    start = datetime.now(UTC) - timedelta(days=1)
    step = timedelta(seconds=86_000 / max(count, 1))
    for k in range(count):
        who = rng.choice(identities)
        kind = rng.choices(_KINDS, _WEIGHTS)[0]
        resource = cost = credential = error = data_region = None
        attributes: dict[str, str] = {}
        name = kind.split(".", 1)[1]
        if kind == "llm.call":
            tokens_in, tokens_out = rng.randint(200, 8000), rng.randint(50, 2000)
            resource = {"kind": "model", "id": who["agent"]["model"], "region": "us-east-1"}
            amount = (Decimal(tokens_in) * Decimal("0.000003") + Decimal(tokens_out) * Decimal("0.000015"))
            cost = {"amount": amount.quantize(_NANO), "currency": "USD",
                    "input_tokens": tokens_in, "output_tokens": tokens_out}
            name = rng.choice(("plan", "draft", "summarize", "reason"))
        elif kind == "tool.call":
            name, resource_kind, resource_id = rng.choice(_TOOLS)
            resource = {"kind": resource_kind, "id": resource_id.format(t=who["tenant"]), "region": who["home"]}
            if resource_kind == "api":
                cost = {"amount": Decimal("0.005"), "currency": "USD", "input_tokens": None, "output_tokens": None}
            else:
                data_region = who["home"]
        elif kind == "token.use":
            name = "call_api"
            resource = {"kind": "api", "id": f"api.{who['tenant']}.example", "region": None}
            credential = {"token_id": f"tok_{k % 997:06d}", "fingerprint": who["fingerprint"],
                          "issuer": f"https://idp.{who['tenant']}.example", "scopes": ["crm:read", "mail:send"],
                          "parent_fingerprint": None}
        elif kind == "agent.run":
            attributes = {"task": f"resolve-ticket-{k}"}
        roll, outcome = rng.random(), "success"
        if roll < 0.03:
            outcome, error = "failure", {"code": "ToolTimeout", "message": f"{name} timed out after 30s"}
        elif roll < 0.05:
            outcome = "denied"
        yield {
            "event_id": new_event_id(), "occurred_at": start + step * k, "tenant": who["tenant"],
            "agent": who["agent"], "principal": who["principal"], "actor_chain": who["actor_chain"],
            "session_id": None, "trace_id": f"{rng.getrandbits(128) | 1:032x}",
            "span_id": f"{rng.getrandbits(64) | 1:016x}", "parent_span_id": f"{rng.getrandbits(64) | 1:016x}",
            "parent_event_id": None,
            "action": {"type": kind, "name": name, "phase": "completed", "resource": resource},
            "outcome": outcome, "error": error, "duration_us": rng.randint(100, 3_000_000),
            "credential": credential, "cost": cost, "data_region": data_region, "source_address": None,
            "attributes": attributes, "integrity": {"stream_id": who["stream_id"], "seq": 0, "prev_hash": None},
        }


def chained_records(events: Iterable[dict[str, Any]], codec: Codec) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) records as the SDK would send them: hash-chained per stream, keyed by tenant."""
    chains: dict[str, tuple[int, str | None]] = {}
    for event in events:
        integrity = event["integrity"]
        seq, prev = chains.get(integrity["stream_id"], (0, None))
        integrity["seq"], integrity["prev_hash"] = seq, prev
        value = codec.encode(event)
        chains[integrity["stream_id"]] = (seq + 1, hashlib.sha256(value).hexdigest())
        yield event["tenant"].encode(), value


def encoded_events(count: int, codec: Codec, on_progress: Callable[[int], None], *, agents: int = QUERY_AGENTS,
                   tenants: Tenants = _TENANTS) -> list[tuple[bytes, bytes]]:
    """``count`` of ``sample_events`` as ``chained_records``, all in memory (the stages that time a topic)."""
    records: list[tuple[bytes, bytes]] = []
    for record in chained_records(sample_events(count, agents=agents, tenants=tenants), codec):
        records.append(record)
        if len(records) % PROGRESS_EVERY == 0:
            on_progress(PROGRESS_EVERY)
    on_progress(len(records) % PROGRESS_EVERY)
    return records
