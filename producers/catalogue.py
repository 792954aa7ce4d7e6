"""What the simulated fleet is made of: tenants, regions, models and prices, roles, tools, plans.

Kept apart from the fleet's behaviour so the anomaly scenarios price and address their events
exactly as normal traffic does. Changing a value here changes every seeded run.
"""

from __future__ import annotations

import random
from decimal import Decimal

# tenant, home region (where its data lives), billing currency, people who start agents
TENANTS = (
    ("acme", "eu-west-1", "EUR", ("alice", "bob", "carol")),
    ("globex", "us-east-1", "USD", ("dave", "erin")),
    ("initech", "ap-southeast-2", "USD", ("frank", "grace", "heidi")),
    ("umbrella", "us-east-1", "USD", ("ivan", "judy")),
    ("hooli", "eu-west-1", "EUR", ("mallory", "niaj")),
    ("stark", "us-east-1", "USD", ("tony", "pepper")),
    ("wonka", "eu-west-1", "EUR", ("charlie", "violet")),
    ("oscorp", "us-east-1", "USD", ("norman", "harry")),
)
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")
# model: USD per input token, USD per output token, provider region (None: hosted by the agent)
MODELS = {
    "claude-sonnet-4": (Decimal("0.000003"), Decimal("0.000015"), "us-east-1"),
    "gpt-4.1": (Decimal("0.000002"), Decimal("0.000008"), "us-east-1"),
    "gpt-4.1-mini": (Decimal("0.0000004"), Decimal("0.0000016"), "us-east-1"),
    "llama-3.1-70b": (Decimal("0.00000088"), Decimal("0.00000088"), None),
}
RUNTIMES = ("python-3.12/langgraph-0.4", "node-22/openai-agents-0.1", "python-3.11/crewai-0.120")
# role, principal kind, task, weights of the steps its plan takes. The fail_closed actions
# (subscription, domain, token.issue) wait for the broker's ack, so they stay a small minority.
ROLES = (
    ("onboarding", "human", "onboard-customer", {"account.create": 20, "tool.call": 30,
                                                 "llm.call": 25, "subscription.activate": 3,
                                                 "domain.register": 2}),
    ("billing", "service", "reconcile-invoices", {"tool.call": 40, "llm.call": 20,
                                                  "token.use": 25}),
    ("devops", "human", "ship-release", {"deploy.release": 20, "tool.call": 40, "llm.call": 20,
                                         "token.use": 20}),
    ("support", "human", "resolve-ticket", {"tool.call": 45, "llm.call": 40, "token.use": 10}),
    ("research", "human", "write-brief", {"llm.call": 60, "tool.call": 40}),
    ("growth", "service", "launch-campaign", {"llm.call": 35, "tool.call": 35, "account.create": 10,
                                              "domain.register": 2}),
)
# sub-agent, its model, its version
SUBAGENTS = (("researcher", "gpt-4.1-mini", "0.9.2"), ("coder", "claude-sonnet-4", "1.2.0"),
             ("browser", "gpt-4.1", "0.4.1"), ("verifier", "llama-3.1-70b", "2.0.0"))
# tool, resource kind, resource id ({t}: the tenant), USD per call, touches the tenant's data
TOOLS = (
    ("search_web", "api", "search.example.com", Decimal("0.005"), False),
    ("read_file", "bucket", "{t}-documents", None, True),
    ("sql_query", "database", "{t}-crm", None, True),
    ("send_email", "api", "mail.example.com", Decimal("0.0001"), False),
    ("run_tests", "repo", "{t}/platform", None, False),
    ("http_get", "api", "partner.example.com", None, False),
)
PLANS = (("starter", Decimal("20.00")), ("team", Decimal("99.00")),
         ("enterprise", Decimal("499.00")))
DOMAIN_PRICE = Decimal("12.99")
SERVICES = ("api-gateway", "checkout", "search", "notifications")
SCOPES = ("crm:read", "crm:write", "billing:read", "deploy:write", "mail:send")
TOKEN_USES = 400  # a token is reissued after this many uses
TOKEN_PREFIX = "atk_sim_"  # synthetic raw tokens: only their fingerprints may leave the process
NANO = Decimal("0.000000001")


# Each region's hosts get addresses from one documentation range (RFC 5737), so an address
# also says where it is; past 254 hosts in a region they come from 2001:db8::/32 (RFC 3849).
ADDRESS_RANGES = {"eu-west-1": "192.0.2", "us-east-1": "198.51.100", "ap-southeast-2": "203.0.113"}


def host_address(region: str, host: int) -> str:
    """The ``host``-th (from 0) source address in ``region``; KeyError for a region not in REGIONS."""
    if host < 254:
        return f"{ADDRESS_RANGES[region]}.{host + 1}"
    return f"2001:db8:{REGIONS.index(region) + 1:x}::{host + 1:x}"


def llm_price(rng: random.Random, model: str) -> tuple[Decimal, int, int]:
    """A model call's exact cost and its input and output tokens, drawn as the fleet draws them."""
    in_price, out_price, _ = MODELS[model]
    tokens_in, tokens_out = rng.randint(200, 8000), rng.randint(50, 2000)
    return (in_price * tokens_in + out_price * tokens_out).quantize(NANO), tokens_in, tokens_out
