"""The OpenAI Python client (and every OpenAI-compatible server it talks to) recorded as AgentActions.

    client = instrument(OpenAI(), trail)

From then on each ``client.chat.completions.create``, ``client.responses.create`` and
``client.embeddings.create`` call is an ``llm.call`` (``llm.embed``) action of ``trail``:
a child of the action open where it is called, named as the GenAI conventions name
spans (``chat gpt-4o-mini``), with the response's model as its resource, the token usage
the API reported and its exact cost from the shipped price table, and an error (a 429,
a timeout) as its outcome. A streamed chat completion asks the server to include usage
in its last chunk (``stream_options.include_usage``) and is recorded when the stream ends
or is closed. Prompts, completions and the API key are never recorded. Works with
``OpenAI`` and ``AsyncOpenAI``: only the instance given is changed, by wrapping its
methods, so the client's own types, retries and errors are what the agent sees.

``provider`` is the OpenTelemetry ``gen_ai.provider.name`` the prices are looked up
under: by default ``openai`` for api.openai.com, and none elsewhere (an OpenAI-compatible
server hosts models of its own; prices are then matched by model name alone).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from agenttrail.producers.trail import ActionScope, Trail

C = TypeVar("C")
# (path to the resource on the client, action type, GenAI operation name)
ENDPOINTS = (("chat.completions", "llm.call", "chat"), ("responses", "llm.call", "chat"),
             ("embeddings", "llm.embed", "embeddings"))


def instrument(client: C, trail: Trail, *, provider: str | None = None) -> C:
    """Record every model call ``client`` makes as an action of ``trail``; returns ``client`` itself."""
    host = str(getattr(getattr(client, "base_url", None), "host", "") or "")
    provider = provider or ("openai" if host.endswith("openai.com") else None)
    for path, action_type, operation in ENDPOINTS:
        resource: Any = client
        for part in path.split("."):
            resource = getattr(resource, part)
        record = _Recorder(trail, action_type, operation, provider, host)
        resource.create = record.wrap(resource.create)
    return client


class _Recorder:
    def __init__(self, trail: Trail, action_type: str, operation: str, provider: str | None, host: str) -> None:
        self.trail, self.action_type, self.operation = trail, action_type, operation
        self.attributes = {"gen_ai.operation.name": operation, "server.address": host,
                           **({"gen_ai.provider.name": provider} if provider else {})}
        self.provider = provider

    def wrap(self, create: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(inspect.unwrap(create)):  # the client wraps some of its own methods
            @functools.wraps(create)
            async def create_async(*args: Any, **kwargs: Any) -> Any:
                scope = self._begin(kwargs)
                try:
                    result = await create(*args, **kwargs)
                except BaseException as exc:
                    scope.end(exc)
                    raise
                return _AsyncStream(result, self, scope) if kwargs.get("stream") else self.done(scope, result)
            return create_async

        @functools.wraps(create)
        def create_sync(*args: Any, **kwargs: Any) -> Any:
            scope = self._begin(kwargs)
            try:
                result = create(*args, **kwargs)
            except BaseException as exc:
                scope.end(exc)
                raise
            return _Stream(result, self, scope) if kwargs.get("stream") else self.done(scope, result)
        return create_sync

    def _begin(self, kwargs: dict[str, Any]) -> ActionScope:
        model = str(kwargs.get("model", ""))
        if kwargs.get("stream") and self.operation == "chat" and "messages" in kwargs:
            kwargs["stream_options"] = {**(kwargs.get("stream_options") or {}), "include_usage": True}
        return self.trail.begin(self.action_type, f"{self.operation} {model}".strip(),
                                resource=("model", model) if model else None,
                                attributes={**self.attributes, "gen_ai.request.model": model})

    def done(self, scope: ActionScope, result: Any) -> Any:
        """Record a finished call from its response (or its last stream chunk); returns ``result``."""
        model = getattr(result, "model", None)
        if model:
            scope.set_resource("model", str(model))
            scope.set_attribute("gen_ai.response.model", str(model))
        usage = getattr(result, "usage", None)
        if usage is not None:
            tokens_in = _first(usage, "input_tokens", "prompt_tokens")
            tokens_out = _first(usage, "output_tokens", "completion_tokens")
            scope.set_usage(tokens_in, tokens_out, model=str(model) if model else None, provider=self.provider)
        scope.end()
        return result


class _Recording:
    """A stream that records its action once it ends, from its last chunk (which carries the usage)."""

    def __init__(self, stream: Any, recorder: _Recorder, scope: ActionScope) -> None:
        self._stream, self._recorder, self._scope = stream, recorder, scope
        self._last: Any = None
        self._open = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Around the iteration: a failure ends the action failed; the end, or a reader that stops early, done."""
        try:
            yield
        except GeneratorExit:
            self._finish(None)
            raise
        except BaseException as exc:
            self._finish(exc)
            raise
        self._finish(None)

    def _finish(self, error: BaseException | None) -> None:
        if self._open:
            self._open = False
            if error is not None:
                self._scope.end(error)
            else:
                self._recorder.done(self._scope, self._last)


class _Stream(_Recording):
    def __iter__(self) -> Iterator[Any]:
        with self._reading():
            for chunk in self._stream:
                self._last = chunk
                yield chunk

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._stream.close()
        self._finish(None)


class _AsyncStream(_Recording):
    async def __aiter__(self) -> AsyncIterator[Any]:
        with self._reading():
            async for chunk in self._stream:
                self._last = chunk
                yield chunk

    async def __aenter__(self) -> _AsyncStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._stream.close()
        self._finish(None)


def _first(usage: Any, *names: str) -> int | None:
    for name in names:
        value = getattr(usage, name, None)
        if isinstance(value, int):
            return value
    return None
