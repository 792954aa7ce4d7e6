"""Policy rules: parsed from YAML, conditions checked and run by DuckDB, one engine for live and backtest."""

from agenttrail.consumers.policy.backtest import backtest
from agenttrail.consumers.policy.conditions import check_conditions
from agenttrail.consumers.policy.engine import evaluate
from agenttrail.consumers.policy.rules import Rule, RuleSet, parse_rules

__all__ = ["Rule", "RuleSet", "backtest", "check_conditions", "evaluate", "parse_rules"]
