"""--since / --until values: relative durations and ISO 8601, always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agenttrail._exceptions import QueryParameterError
from agenttrail.timeparse import parse_time

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "ago"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 2H ", timedelta(hours=2)),
        ("now", timedelta(0)),
    ],
)
def test_relative_durations_count_back_from_now(value: str, ago: timedelta) -> None:
    assert parse_time(value, now=NOW) == NOW - ago


def test_relative_durations_default_to_the_current_time() -> None:
    before = datetime.now(UTC)
    parsed = parse_time("1h")
    assert before - timedelta(hours=1, seconds=5) <= parsed <= datetime.now(UTC)
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01 12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
    ],
)
def test_iso_values_are_read_as_utc_when_naive(value: str, expected: datetime) -> None:
    parsed = parse_time(value, now=NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_offsets_are_converted_to_utc() -> None:
    parsed = parse_time("2026-11-01T05:00:00-05:00")
    assert parsed.tzinfo is UTC
    assert parsed == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)  # noqa: UP017


def test_a_naive_now_is_taken_as_utc() -> None:
    assert parse_time("1h", now=datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 11, tzinfo=UTC)


@pytest.mark.parametrize("value", ["3 parsecs", "", "-2h", "2 hours", "2026-13-01", "99999999999d"])
def test_bad_values_raise_one_sentence_naming_the_flag(value: str) -> None:
    with pytest.raises(QueryParameterError) as caught:
        parse_time(value, now=NOW, label="--since")
    assert str(caught.value) == (
        f"--since {value!r} is not a time: use 30m, 2h, 7d or an ISO date like 2026-11-01."
    )
