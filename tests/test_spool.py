"""The producer's disk spool: bounded, ordered, crash-safe, and clear when it cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrail import SpoolError, SpoolFullError
from agenttrail.producers.spool import Spool


def test_records_come_back_in_order_and_delivery_is_remembered(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    spool.append([(b"k", b"one"), (b"k", b"two")])
    spool.append([(b"k", b"three")])
    records, position = spool.read_pending(2)
    assert [v for _, v in records] == [b"one", b"two"]
    spool.mark_delivered(position)
    spool.close()
    reopened = Spool(tmp_path, max_bytes=10_000)
    assert [v for _, v in reopened.read_pending(10)[0]] == [b"three"]


def test_a_full_spool_refuses_with_the_setting_to_raise(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    spool.append([(b"k", b"x" * 50)])
    with pytest.raises(SpoolFullError, match="AGENTTRAIL_SPOOL_MAX_BYTES"):
        spool.append([(b"k", b"x" * 50)])
    assert len(spool.read_pending(10)[0]) == 1, "a refused append writes nothing"


def test_an_unwritable_spool_directory_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("tests run as root, so 'unwritable' is a path under a regular file")
    with pytest.raises(SpoolError, match="AGENTTRAIL_SPOOL_DIR"):
        Spool(blocker / "spool", max_bytes=1000)


def test_a_torn_final_record_from_a_crash_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000)
    spool.append([(b"k", b"whole")])
    spool.close()
    with open(tmp_path / "spool.log", "ab") as log:
        log.write(b"\x00\x00\x00\x40\x12")  # a frame header promising 64 bytes, then the crash
    reopened = Spool(tmp_path, max_bytes=10_000)
    assert [v for _, v in reopened.read_pending(10)[0]] == [b"whole"]
    reopened.append([(b"k", b"after")])
    assert [v for _, v in reopened.read_pending(10)[0]] == [b"whole", b"after"]


def test_two_processes_cannot_share_a_spool(tmp_path: Path) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from agenttrail.producers.spool import Spool; "
        f"s = Spool(Path({str(tmp_path)!r}), 1000); print('ready', flush=True); time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(SpoolError, match="another process"):
            Spool(tmp_path, max_bytes=1000)
    finally:
        holder.kill()
        holder.wait()


def test_a_write_the_disk_refuses_part_way_leaves_no_torn_frame(tmp_path: Path) -> None:
    """A full disk fails a write part way through (here EFBIG, past RLIMIT_FSIZE, in a process of its own);
    once there is room again, the spool goes on with whole frames only."""
    import subprocess
    import sys

    script = (
        "import resource, sys; from pathlib import Path; from agenttrail import SpoolError; "
        "from agenttrail.producers.spool import Spool; "
        "spool = Spool(Path(sys.argv[1]), max_bytes=10**9); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY)); "
        "spool.append([(b'k', b'a' * 1000)] * 3)\n"
        "try:\n    spool.append([(b'k', b'b' * 1000)] * 3)\n"
        "except SpoolError as exc:\n    print(exc)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)); "
        "spool.append([(b'k', b'c' * 1000)]); "
        "print(b''.join(v[:1] for _, v in spool.read_pending(10)[0]).decode())")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60)
    refused, records = result.stdout.splitlines()
    assert "File too large" in refused and "AGENTTRAIL_SPOOL_DIR" in refused, result.stderr
    assert records == "aaac", "the refused append left nothing behind"
