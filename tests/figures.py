"""The fault matrix's figures: each fault test states what it did and what it found, and the run ends with them.

A test takes the ``figure`` fixture and calls it with one line, e.g. ``figure("5,000 produced /
5,000 stored / 0 duplicates with the broker paused 3 times")``. The lines are printed under
"fault matrix" in the terminal summary of every run (they need no ``-s`` or ``-ra``), so CI's log
shows the whole matrix with the numbers of that run, at that ``AGENTTRAIL_TEST_SCALE``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

_FIGURES = pytest.StashKey[list[tuple[str, str]]]()

Figure = Callable[[str], None]


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    """Record one line for the fault matrix, under this test's name."""
    lines = request.config.stash.setdefault(_FIGURES, [])

    def record(line: str) -> None:
        lines.append((request.node.nodeid, line))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if not lines:
        return
    terminalreporter.section("fault matrix")
    for nodeid, line in lines:
        terminalreporter.write_line(f"{line}  ({nodeid.removeprefix('tests/')})")
