"""Broker outages for fault tests: the broker paused, its connections cut, or (where it keeps its log) killed.

An outage must not cost the broker its log (the embedded one forgets everything when it
restarts), so on the embedded broker it is made in one of two ways: the broker *paused*
(SIGSTOP: every connection stays open and nothing answers, as with a hung host), or its
connections *cut* (``CuttableProxy`` resets every connection and every new one until
restored, as with a network partition or a crashed listener: clients learn at once, instead
of waiting out a timeout). A real kill (SIGKILL) and restart needs a broker that keeps its log
on disk: Kafka in a container, when a Docker engine answers; otherwise that outage skips.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import pytest

from agenttrail._exceptions import AgentTrailError
from agenttrail.broker import EmbeddedBroker, free_port
from agenttrail.config import load_settings
from agenttrail.kafka import admin_client
from tests.fixtures import docker_answers


class CuttableProxy:
    """Forwards 127.0.0.1:``port`` to ``target_port``; ``cut()`` resets every connection until ``restore()``."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", port or 0))
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._closed = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="cuttable-proxy", daemon=True)

    def start(self) -> CuttableProxy:
        self._thread.start()
        return self

    def cut(self) -> None:
        """Reset every open connection; new ones are reset as soon as they are accepted."""
        self._cut.set()
        self._reset_all()

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self._reset_all()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                _reset(client)
                continue
            with self._lock:  # a cut() since the check above must not miss this pair: look again, under the lock
                cut = self._cut.is_set()
                if not cut:
                    self._open.update((client, upstream))
            if cut:
                _reset(client)
                _reset(upstream)
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for sock in (source, sink):
            self._forget(sock)
            _reset(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def _reset_all(self) -> None:
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close at once with a reset (no lingering FIN handshake); wakes a thread blocked in recv on it."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


OUTAGES = ("paused", "cut", "killed")


@dataclass
class Outage:
    """A private broker, reached at ``bootstrap``, that ``begin()``/``end()`` take away and give back.

    ``end()`` returns once the broker accepts connections again (a restarted Kafka takes seconds).
    """

    kind: str  # one of OUTAGES
    bootstrap: str
    broker: EmbeddedBroker | None = None
    proxy: CuttableProxy | None = None
    container: Any = None  # a testcontainers KafkaContainer, for "killed"

    def begin(self) -> None:
        if self.kind == "paused":
            assert self.broker is not None
            self.broker.pause()
        elif self.kind == "cut":
            assert self.proxy is not None
            self.proxy.cut()
        else:
            self.container.get_wrapped_container().kill()  # SIGKILL: no clean shutdown

    def end(self) -> None:
        if self.kind == "paused":
            assert self.broker is not None
            self.broker.resume()
        elif self.kind == "cut":
            assert self.proxy is not None
            self.proxy.restore()
        else:
            self.container.get_wrapped_container().start()
            _wait_until_kafka_answers(self.bootstrap)


@contextmanager
def outage_of(kind: str) -> Iterator[Outage]:
    """A private broker for ``kind`` of outage (one of OUTAGES); "killed" skips without a Docker engine."""
    if kind == "paused":
        with EmbeddedBroker() as broker:
            yield Outage(kind, broker.bootstrap, broker=broker)
    elif kind == "cut":
        broker_port = free_port()
        proxy = CuttableProxy(broker_port).start()
        try:
            with EmbeddedBroker(broker_port, advertised_port=proxy.port) as broker:
                yield Outage(kind, broker.bootstrap, broker=broker, proxy=proxy)
        finally:
            proxy.close()
    else:
        if not docker_answers():
            pytest.skip("a kill and restart needs a broker that keeps its log on disk: Kafka in a container, and "
                        "no Docker engine answers here (the embedded broker forgets everything when it stops)")
        from testcontainers.community.kafka import KafkaContainer

        # A fixed host port, so the listener Kafka advertises is still right after the restart.
        with KafkaContainer().with_kraft().with_bind_ports(9093, free_port()) as kafka:
            yield Outage(kind, kafka.get_bootstrap_server(), container=kafka)


def _wait_until_kafka_answers(bootstrap: str, timeout: float = 120.0) -> None:
    settings = load_settings(bootstrap=bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with admin_client(settings, bootstrap) as admin:
                admin.list_topics()
            return
        except AgentTrailError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
