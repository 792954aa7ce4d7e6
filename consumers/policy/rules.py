"""Policy rule files: YAML in, validated rules out, every problem named by its line.

A file is ``rules:``, a list of rules. Each rule has an ``id``, a ``version``, a
``description`` (the reason recorded with what it does), a ``when`` condition, an
``action``, a ``severity`` and a ``mode``::

    rules:
      - id: leaked-token-new-region-after-failures
        version: 1
        description: A token used from a new place right after a burst of failures is treated as leaked.
        when: list_contains(flags, 'token_origin') AND list_contains(flags, 'failure_burst')
        action: revoke_token_tree
        severity: critical
        mode: enforce

``when`` is a DuckDB SQL boolean expression over one row of ``policy_events``
(``consumers/sql/policy_events.sql`` lists its columns: the event, the anomaly
flags raised on its agent or token in the hour before it, and whether its token
or agent was already stopped). Conditions are checked by DuckDB's own parser
and binder (``consumers/policy/conditions.py``), not by a language of ours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agenttrail._exceptions import PolicyError

Action = Literal["alert", "revoke_token", "revoke_token_tree", "suspend_agent"]


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    version: int = Field(ge=1)
    description: str = Field(min_length=1, max_length=500)
    when: str = Field(min_length=1, max_length=4000)
    action: Action
    severity: Literal["info", "warning", "critical"] = "warning"
    mode: Literal["enforce", "dry_run"] = "dry_run"
    line: int = Field(default=0, exclude=True)  # where the rule starts in its file, for error messages


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    sha256: str  # of the file's exact bytes: what the control event records and decisions cite


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers where each mapping starts (as ``__line__``)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    return {**mapping, "__line__": node.start_mark.line + 1}


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def parse_rules(text: str) -> RuleSet:
    """The rules of one file; PolicyError names the line and what is wrong (conditions are checked apart)."""
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the file"
        raise PolicyError(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}).") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise PolicyError("line 1: a policy file is a mapping with a `rules:` list.")
    unknown = sorted(set(document) - {"rules", "__line__"})
    if unknown:
        raise PolicyError(f"line 1: unknown top-level key {unknown[0]!r}; a policy file has only `rules:`.")
    rules: list[Rule] = []
    for item in document["rules"]:
        line = item.get("__line__", 0) if isinstance(item, dict) else document["__line__"]
        if not isinstance(item, dict):
            raise PolicyError(f"line {line}: each rule is a mapping (id, version, description, when, action, ...).")
        fields = {k: v for k, v in item.items() if k != "__line__"}
        try:
            rule = Rule(**fields, line=line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "rule"
            raise PolicyError(f"line {line}: rule {fields.get('id', '?')!r}: {where}: {first['msg']}.") from None
        if any(r.id == rule.id for r in rules):
            raise PolicyError(f"line {line}: rule id {rule.id!r} appears twice; decisions cite it, so make it unique.")
        rules.append(rule)
    if not rules:
        raise PolicyError("line 1: the file has no rules; to stop enforcing a set, remove it.")
    return RuleSet(tuple(rules), hashlib.sha256(text.encode("utf-8")).hexdigest())
