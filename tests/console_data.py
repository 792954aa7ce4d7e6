"""Trail data for the console's tests: two tenants' chains, delegations, costs, a token lineage, an anomaly
flag per tenant, and stored values that try to run script in a browser. Emitted through the real SDK."""

from __future__ import annotations

from dataclasses import dataclass, field

from agenttrail.config import Settings
from agenttrail.producers.trail import connect

SCRIPT_NAME = "<script>window.__pwned = 1</script>"
ATTRIBUTE_ESCAPE = '"><img src=x onerror="window.__pwned = 2">'
ISSUER = "https://idp.example"


@dataclass
class Seeded:
    """What was emitted for one tenant: a chain's event ids (root first), its token fingerprints (root first)."""

    chain: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    payload_event: str = ""


def seed_tenant(settings: Settings, tenant: str) -> Seeded:
    """A planner and its delegate doing costed work in a chain, minting a child token; the root token then used
    from a region it never came from (a token_origin flag); and an action whose stored values are markup."""
    seeded = Seeded()
    planner = connect(tenant=tenant, agent_id=f"planner-{tenant}", agent_version="1.0.0", region="eu-west-1",
                      principal=f"human:{tenant}-bob", settings=settings)
    worker = planner.delegate(f"worker-{tenant}", "2.0.0")
    root_token, child_token = f"at_{tenant}_root_" + "r" * 24, f"at_{tenant}_child_" + "c" * 24
    with planner.action("agent.run", f"{tenant}-ticket") as run:
        seeded.chain.append(run.event_id)
        with planner.action("token.issue", "github-app") as act:
            seeded.tokens.append(act.use_token(root_token, issuer=ISSUER))
            seeded.chain.append(act.event_id)
        with planner.action("llm.call", "draft") as act:
            act.set_cost("0.25", "USD", input_tokens=1000, output_tokens=200)
            seeded.chain.append(act.event_id)
        with worker.action("token.issue", "exchange") as act:
            seeded.tokens.append(act.use_token(child_token, issuer=ISSUER, parent_token=root_token))
            seeded.chain.append(act.event_id)
        with worker.action("tool.call", SCRIPT_NAME, attributes={"note": ATTRIBUTE_ESCAPE}) as act:
            act.set_cost("0.10", "USD")
            seeded.payload_event = act.event_id
            seeded.chain.append(act.event_id)
    planner.close()
    abroad = connect(tenant=tenant, agent_id=f"planner-{tenant}", agent_version="1.0.0", region="ap-south-1",
                     principal=f"human:{tenant}-bob", settings=settings)
    with abroad.action("api.call", "list_buckets") as act:
        act.use_token(root_token, issuer=ISSUER)
    abroad.close()
    return seeded
