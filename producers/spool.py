"""A bounded, crash-safe, append-only disk spool of encoded events waiting for the broker.

Records are framed as ``length (4 bytes) | crc32 (4 bytes) | key length (2) | key | value``
in ``spool.log``; ``spool.pos`` holds how many bytes were delivered. A torn
final record (the process died mid-append) is cut off when the spool opens, so
a crash never produces a corrupt resend. One process owns a spool directory at
a time (an exclusive ``flock``), because two writers would interleave frames.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import zlib
from contextlib import suppress
from pathlib import Path

from agenttrail._exceptions import SpoolError, SpoolFullError

_FRAME = struct.Struct(">II")
_KEYLEN = struct.Struct(">H")

Record = tuple[bytes, bytes]


class Spool:
    def __init__(self, directory: Path, max_bytes: int, *, fsync: bool = False) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._fsync = fsync
        self._mutex = threading.Lock()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(directory / "spool.lock", "a+b")  # noqa: SIM115 - held for our lifetime
            self._log = open(directory / "spool.log", "a+b", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise SpoolError(
                f"The spool directory {directory} cannot be written ({exc.strerror}); "
                "set AGENTTRAIL_SPOOL_DIR to a writable directory."
            ) from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SpoolError(
                f"The spool directory {directory} is used by another process; "
                "give each emitting process its own AGENTTRAIL_SPOOL_DIR."
            ) from None
        self._pos_path = directory / "spool.pos"
        self._delivered = self._read_pos()
        self._size = self._cut_torn_tail()

    # -- writing ---------------------------------------------------------------------------------

    def append(self, records: list[Record]) -> None:
        """Append all ``records`` or none; raises SpoolFullError when over ``max_bytes``."""
        frames = b"".join(_frame(key, value) for key, value in records)
        with self._mutex:
            if self._size - self._delivered + len(frames) > self.max_bytes:
                raise SpoolFullError(
                    f"The spool at {self.directory} is full ({self.max_bytes} bytes) while the "
                    "broker is unreachable; raise AGENTTRAIL_SPOOL_MAX_BYTES or restore the broker."
                )
            try:
                self._write_all(frames)
                if self._fsync:
                    os.fsync(self._log.fileno())
            except OSError as exc:
                # A frame written in part (a full disk: ENOSPC, EFBIG) would misalign every frame after it.
                with suppress(OSError):
                    self._log.truncate(self._size)
                raise SpoolError(f"Writing the spool at {self.directory} failed: {exc.strerror}; "
                                 "free space there or set AGENTTRAIL_SPOOL_DIR elsewhere.") from None
            self._size += len(frames)

    def _write_all(self, frames: bytes) -> None:
        """The log is unbuffered, so a failed write leaves nothing behind to be flushed later."""
        view = memoryview(frames)
        while view:
            view = view[self._log.write(view):]

    # -- delivering ------------------------------------------------------------------------------

    @property
    def pending_bytes(self) -> int:
        return self._size - self._delivered

    def is_empty(self) -> bool:
        return self._size == self._delivered

    def read_pending(self, max_records: int) -> tuple[list[Record], int]:
        """Up to ``max_records`` undelivered records in order, and the position after them."""
        with self._mutex:
            start, end = self._delivered, self._size
        records: list[Record] = []
        with open(self.directory / "spool.log", "rb") as reader:
            reader.seek(start)
            position = start
            while position < end and len(records) < max_records:
                header = reader.read(_FRAME.size)
                length, crc = _FRAME.unpack(header)
                payload = reader.read(length)
                if zlib.crc32(payload) != crc:
                    raise SpoolError(f"The spool at {self.directory} is corrupt at byte {position}.")
                (key_length,) = _KEYLEN.unpack_from(payload)
                key_end = _KEYLEN.size + key_length
                records.append((payload[_KEYLEN.size:key_end], payload[key_end:]))
                position += _FRAME.size + length
        return records, position

    def mark_delivered(self, position: int) -> None:
        """Everything before ``position`` is acked; an emptied spool is truncated to zero."""
        with self._mutex:
            if position >= self._size:
                self._log.truncate(0)
                self._size = self._delivered = 0
                self._pos_path.unlink(missing_ok=True)
                return
            self._delivered = position
            tmp = self._pos_path.with_suffix(".tmp")
            tmp.write_text(str(position))
            os.replace(tmp, self._pos_path)

    def close(self) -> None:
        self._log.close()
        self._lock_file.close()

    # -- recovery --------------------------------------------------------------------------------

    def _read_pos(self) -> int:
        try:
            return int(self._pos_path.read_text())
        except (OSError, ValueError):
            return 0

    def _cut_torn_tail(self) -> int:
        """Length of the whole frames in the log; a partial last frame is truncated away."""
        size = os.fstat(self._log.fileno()).st_size
        good = 0
        with open(self.directory / "spool.log", "rb") as reader:
            while good + _FRAME.size <= size:
                reader.seek(good)
                length, crc = _FRAME.unpack(reader.read(_FRAME.size))
                payload = reader.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    break
                good += _FRAME.size + length
        if good != size:
            self._log.truncate(good)
        self._delivered = min(self._delivered, good)
        return good


def _frame(key: bytes, value: bytes) -> bytes:
    payload = _KEYLEN.pack(len(key)) + key + value
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
