"""The decode worker: ``decoding.decode_records`` in a second process, one batch at a time, in order.

Why a process: decoding, checking and flattening are per-record Python (fastavro)
and the GIL kept the materializer on ~1.15 cores; in a worker they overlap with
the materializer's polling and DuckDB commits. Batches go over a socket pair as
pickles (the Arrow table pickles as IPC buffers) and come back in the order sent;
the materializer keeps at most one batch in the worker and takes its result before
sending the next.

The worker is a fresh interpreter (``python -m agenttrail.consumers.worker``),
never a fork: the materializer's process has Kafka threads. It is started with
subprocess rather than multiprocessing's spawn so that it does not re-import
the caller's ``__main__`` (a script without a main guard would start itself
again). It needs about a second to import; until it says it is ``ready``, the
materializer decodes in its own process.

The worker holds no state that matters: it never sees DuckDB or Kafka offsets,
so killing it (or the materializer) loses nothing that the stored offsets do not
bring back. What fails: if the worker dies or raises, ``result`` raises
``DecodeWorkerError`` instead of returning, and the materializer drops every
batch in flight and rewinds to its committed offsets; records are never skipped.
The worker exits by itself when the materializer's end of the socket closes,
including when the materializer was SIGKILLed.
"""

from __future__ import annotations

import gc
import pickle
import socket
import subprocess
import sys
import time
from contextlib import suppress
from datetime import timedelta
from multiprocessing.connection import Connection

from agenttrail._exceptions import DecodeWorkerError
from agenttrail.consumers.decoding import Decoded, RawRecords, decode_records
from agenttrail.schemas.codec import Codec

_LIVENESS_S = 0.5  # how often a wait for a result checks that the worker is still alive
_READY = b"ready"


class DecodeWorker:
    """One worker process; ``submit`` batches, then take their ``result``s in the same order."""

    def __init__(self, codec: Codec, future_skew: timedelta) -> None:
        self._setup = pickle.dumps((codec, future_skew), protocol=pickle.HIGHEST_PROTOCOL)
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._ready = False

    def start(self) -> None:
        """Start the process, unless it runs; it says when it is ``ready``."""
        if self._process is not None:
            return
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen([sys.executable, "-m", "agenttrail.consumers.worker", str(theirs.fileno())],
                                       pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        self._process, self._conn, self._ready = process, Connection(ours.detach()), False
        self._conn.send_bytes(self._setup)

    @property
    def ready(self) -> bool:
        """True once the process has imported everything and takes batches."""
        if not self._ready and self._conn is not None and self._conn.poll(0):
            try:
                self._ready = self._conn.recv_bytes() == _READY
            except (EOFError, OSError):
                raise self._died("exited while starting") from None
        return self._ready

    def submit(self, records: RawRecords) -> None:
        assert self._conn is not None and self._ready, "submit only to a ready worker"
        try:
            self._conn.send_bytes(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            raise self._died(f"could not take a batch ({exc})") from None

    def result(self) -> Decoded:
        """The oldest submitted batch, decoded; waits for it, and raises if the worker is gone."""
        assert self._conn is not None and self._process is not None, "submit a batch first"
        while not self._conn.poll(_LIVENESS_S):
            if self._process.poll() is not None:
                raise self._died(f"exited with code {self._process.returncode}")
        try:
            outcome = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError):
            raise self._died(f"exited with code {self._process.poll()}") from None
        if isinstance(outcome, str):
            raise self._died(f"failed: {outcome}")
        assert isinstance(outcome, Decoded)
        return outcome

    def close(self) -> None:
        """Stop the process; batches still in it are dropped (their offsets were never committed)."""
        process, conn = self._process, self._conn
        self._process, self._conn, self._ready = None, None, False
        if conn is not None:
            conn.close()  # the worker reads EOF and exits
        if process is not None:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=2)

    def _died(self, what: str) -> DecodeWorkerError:
        self.close()
        return DecodeWorkerError(f"The materializer's decode worker {what}; the batches in flight were "
                                 "dropped and are read again from the committed offsets.")


def serve(conn: Connection) -> None:
    """The worker's loop: one batch in, one ``Decoded`` (or an error string) out, until the socket closes.

    The materializer reads each result before it sends the next batch, so this loop
    never has a batch arriving while it writes. The collector runs once per batch instead
    of every few hundred allocations: a batch's garbage is acyclic decoded records, freed
    by reference counting, and the imported modules are frozen out of its sight.
    """
    codec, future_skew = pickle.loads(conn.recv_bytes())
    gc.freeze()
    gc.disable()
    conn.send_bytes(_READY)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the materializer is gone
        cpu = time.process_time()
        outcome: Decoded | str
        try:
            outcome = decode_records(pickle.loads(data), codec, future_skew)
            outcome.timings["cpu"] = time.process_time() - cpu
        except Exception as exc:  # reported to the materializer, which raises it there
            outcome = f"{type(exc).__name__}: {exc}"
        try:
            conn.send_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            return
        del data, outcome
        gc.collect()


if __name__ == "__main__":
    try:
        with suppress(KeyboardInterrupt, BrokenPipeError, EOFError, ConnectionError):
            serve(Connection(int(sys.argv[1])))
    finally:
        # Frozen objects are never freed: unfreeze, so the interpreter's teardown releases
        # DuckDB's objects and its bindings do not report them as leaked.
        gc.unfreeze()
        gc.enable()
