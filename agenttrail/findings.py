"""What ``agenttrail verify`` and ``restore`` report: findings with a status, and one sentence for all of them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

PROBLEM, WARNING, OK = "problem", "warning", "ok"


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    where: str
    detail: str


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, status: str, where: str, detail: str) -> None:
        self.findings.append(Finding(check, status, where, detail))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == PROBLEM]

    def summary(self) -> str:
        """One sentence: what failed and where (the first three), or that everything holds."""
        problems = self.problems
        if not problems:
            return f"The trail verifies: {self.events} events, {self.checkpoints} signed checkpoints."
        named = "; ".join(f"{f.where}: {f.detail}" for f in problems[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        return f"Verification found {len(problems)} problem(s): {named}{more}."

    def table(self) -> pa.Table:
        rows = [vars(f) for f in self.findings] or [
            {"check": "all", "status": OK, "where": "store", "detail": self.summary()}]
        return pa.Table.from_pylist(rows)
