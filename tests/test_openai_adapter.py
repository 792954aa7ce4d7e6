"""The OpenAI adapter with the real `openai` client against a stand-in model API on 127.0.0.1.

The stand-in speaks the OpenAI REST API (chat completions, streamed with a usage chunk
when asked, embeddings, a 429), so the client builds, sends, retries and parses for real.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import duckdb
import openai
import pytest

from agenttrail import Settings
from agenttrail.producers.adapters.openai import instrument
from tests.fixtures import TrailFactory, materialize

API_KEY = "sk-proj-" + "k" * 40
SNAPSHOT = "gpt-4o-mini-2024-07-18"


@dataclass
class ModelApi:
    url: str
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def model_api() -> Iterator[ModelApi]:
    api = ModelApi(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            api.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if body.get("model") == "overloaded":
                self._json(429, {"error": {"message": "Rate limit reached", "type": "requests",
                                           "code": "rate_limit_exceeded"}})
            elif self.path.endswith("/embeddings"):
                self._json(200, {"object": "list", "model": "text-embedding-3-small",
                                 "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                                 "usage": {"prompt_tokens": 1000, "total_tokens": 1000}})
            elif body.get("stream"):
                self._stream(body)
            else:
                self._json(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1764892800,
                                 "model": SNAPSHOT, "choices": [{"index": 0, "finish_reason": "stop",
                                                                 "message": {"role": "assistant", "content": "Hello"}}],
                                 "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500}})

        def _json(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, body: dict[str, Any]) -> None:
            chunk = {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1764892800, "model": SNAPSHOT}
            events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"},
                                             "finish_reason": None}]},
                      {**chunk, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}]
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append({**chunk, "choices": [],
                               "usage": {"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42}})
            data = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield api
    server.shutdown()
    server.server_close()


MESSAGES = [{"role": "user", "content": "Say hello"}]


def stored_calls(store: duckdb.DuckDBPyConnection) -> dict[tuple[str, int | None], dict[str, Any]]:
    """The stored events by action name and input tokens."""
    cursor = store.execute("SELECT action_type, action_name, parent_event_id, resource_id, outcome, error_code, "
                           "cost_amount, cost_currency, input_tokens, output_tokens, attributes FROM events")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(row["action_name"], row["input_tokens"]): row for row in rows}


def test_client_calls_are_recorded_with_usage_exact_cost_and_their_errors(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection, model_api: ModelApi
) -> None:
    trail = trail_factory(model="gpt-4o-mini")
    client = instrument(openai.OpenAI(api_key=API_KEY, base_url=model_api.url, max_retries=0), trail,
                        provider="openai")
    with trail.action("agent.run", "answer-ticket") as root:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert reply.choices[0].message.content == "Hello", "the agent gets the client's own response"
        with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as stream:
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
        abandoned = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        for _ in abandoned:
            break  # a reader that stops early: the call is done, its usage never came
        abandoned.close()
        client.embeddings.create(model="text-embedding-3-small", input="hello")
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="overloaded", messages=MESSAGES)
    assert trail.flush(10)
    assert materialize(settings, store, until=6) == 6

    calls = stored_calls(store)
    chat = calls["chat gpt-4o-mini", 1200]
    assert chat["action_type"] == "llm.call" and chat["parent_event_id"] == root.event_id
    assert chat["resource_id"] == SNAPSHOT and chat["attributes"]["gen_ai.response.model"] == SNAPSHOT
    assert (chat["input_tokens"], chat["output_tokens"]) == (1200, 300)
    assert chat["cost_amount"] == Decimal("0.000360000") and chat["cost_currency"] == "USD"
    assert chat["attributes"]["agenttrail.priced_as"] == "openai/gpt-4o-mini@2024-07-18"
    assert chat["attributes"]["server.address"] == "127.0.0.1"
    streamed = calls["chat gpt-4o-mini", 40]  # the stream's usage chunk, which the adapter asked for
    assert (streamed["output_tokens"], streamed["cost_amount"]) == (2, Decimal("0.000007200"))
    assert streamed["parent_event_id"] == root.event_id
    early = calls["chat gpt-4o-mini", None]
    assert (early["outcome"], early["cost_amount"], early["parent_event_id"]) == ("success", None, root.event_id)
    stream_request = next(body for path, _, body in model_api.requests if body.get("stream"))
    assert stream_request["stream_options"] == {"include_usage": True}

    embed = calls["embeddings text-embedding-3-small", 1000]
    assert embed["action_type"] == "llm.embed" and embed["cost_amount"] == Decimal("0.000020000")
    failed = calls["chat overloaded", None]
    assert failed["outcome"] == "failure" and failed["error_code"] == "RateLimitError"
    assert failed["cost_amount"] is None and failed["parent_event_id"] == root.event_id

    assert all(headers["authorization"] == f"Bearer {API_KEY}" for _, headers, _ in model_api.requests)
    everything = json.dumps(store.execute("SELECT * EXCLUDE (raw) FROM events").fetchall(), default=str)
    assert API_KEY not in everything and "Say hello" not in everything, "no key, no prompt in the trail"


def test_the_async_client_is_recorded_the_same_way(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection, model_api: ModelApi
) -> None:
    trail = trail_factory(model="gpt-4o-mini")
    client = instrument(openai.AsyncOpenAI(api_key=API_KEY, base_url=model_api.url, max_retries=0), trail,
                        provider="openai")

    async def agent() -> str:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                      stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(agent()) == "Hello"
    assert trail.flush(10)
    assert materialize(settings, store, until=2) == 2
    usage = sorted(store.execute("SELECT input_tokens, output_tokens, cost_amount FROM events").fetchall())
    assert usage == [(40, 2, Decimal("0.000007200")), (1200, 300, Decimal("0.000360000"))]
