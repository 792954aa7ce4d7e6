"""SQL the library runs outside the consumer (benchmarks, the demo), one statement per file."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def text(name: str) -> str:
    """The text of ``agenttrail/sql/<name>.sql``."""
    return resources.files("agenttrail.sql").joinpath(f"{name}.sql").read_text("utf-8")
