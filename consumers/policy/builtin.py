"""The built-in policy rules: what AgentTrail decides without a rule file, recorded like any rule's decisions.

=================  =======  ====================================================================
rule               version  decides
=================  =======  ====================================================================
leaked-token       1        a leak report (control event ``leak.reported``) of a token the lineage
                            knows at the report's place: revoke the token and its whole tree
revoked-lineage    1        a token minted from a lineage with a revoked token at any depth (its
                            first event names its parent, and that parent or a token above it is
                            revoked then): an incident; revoke the new token at its own place
=================  =======  ====================================================================

Both are in force for every tenant, always, in ``enforce`` mode, with severity ``critical``,
and their decisions land in ``policy_decisions`` under the set name ``builtin`` (``agenttrail
policy decisions --rule revoked-lineage`` lists the incidents). They are judged by the
enforcement projection, not by the rule-set evaluator, because their conditions are facts of
the token lineage and of revocations as they stood at each place in the store order, which
only the enforcement loop knows exactly (a revocation earlier in the same batch included).
``rules_sha256`` on their decisions is the SHA-256 of the definitions below, so a decision
cites the exact text that made it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

SET_NAME = "builtin"


@dataclass(frozen=True)
class BuiltinRule:
    id: str
    version: int
    action: str  # as a rule file's: revoke_token | revoke_token_tree
    description: str
    severity: str = "critical"
    mode: str = "enforce"

    def params(self) -> dict[str, Any]:
        """The bound parameters a built-in rule's SQL records its decisions with."""
        return {"rule_id": self.id, "rule_version": self.version, "action": self.action, "mode": self.mode,
                "severity": self.severity, "set_name": SET_NAME, "rules_sha256": RULES_SHA256}


LEAKED_TOKEN = BuiltinRule(
    "leaked-token", 1, "revoke_token_tree",
    "A token reported leaked (GitHub secret scanning, or a person through `agenttrail leak report`) that the "
    "lineage knows is revoked with every token minted from it, then or later.")
REVOKED_LINEAGE = BuiltinRule(
    "revoked-lineage", 1, "revoke_token",
    "A token minted from a token that is revoked, or that descends from a revoked token at any depth, extends a "
    "revoked lineage: an incident; the new token is revoked at its own place.")

RULES_SHA256 = hashlib.sha256(json.dumps([asdict(rule) for rule in (LEAKED_TOKEN, REVOKED_LINEAGE)],
                                         sort_keys=True).encode("utf-8")).hexdigest()
