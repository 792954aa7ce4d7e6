"""Token usage becomes exact cost from the versioned price table, at the producer, and says which table did it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import duckdb
import pytest

from agenttrail import ConfigError, InvalidEventError, Settings
from agenttrail.pricing import parse_price_table, price_usage, shipped_price_table
from tests.fixtures import TrailFactory, materialize

# Changing a price without a new version would make two tables answer to one name: pinned here.
SHIPPED = {"2026-12-04": "097b00f7e2176c6a8f05236bec4e0a96ef364b33e27f784d1ac78d3cfd19627f"}
AT = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_shipped_table_is_pinned_to_its_version_and_every_price_is_exact() -> None:
    text = resources.files("agenttrail").joinpath("prices/model_prices.yaml").read_bytes()
    table = shipped_price_table()
    assert SHIPPED.get(table.version) == hashlib.sha256(text).hexdigest(), "prices changed: give it a new version"
    assert len({(p.provider, p.model, p.effective_from) for p in table.prices}) == len(table.prices)
    for price in table.prices:
        assert price.source.startswith("https://"), price.key
        per_token = price.input_per_mtok / 1_000_000
        assert per_token == per_token.quantize(Decimal("0.000000001")), "a token's price fits the store's 9 places"


@pytest.mark.parametrize("price", ["2.50", "'2.5001'", "'-1'", "'NaN'", "'two'"])
def test_a_price_that_is_not_an_exact_decimal_is_refused_with_the_reason(price: str) -> None:
    with pytest.raises(ConfigError, match="price table is malformed"):
        parse_price_table("version: x\nchecked: 2026-01-01\ncurrency: USD\nprices:\n"
                          f"  - {{provider: p, model: m, effective_from: 2026-01-01, input_per_mtok: {price},"
                          " output_per_mtok: '1'}\n")


def test_usage_is_priced_by_the_row_in_force_for_the_model_snapshot() -> None:
    dated = price_usage(1200, 300, model="gpt-4o-2024-08-06", provider="openai", at=AT)
    assert dated.cost == {"amount": Decimal("0.006000000"), "currency": "USD", "input_tokens": 1200,
                          "output_tokens": 300}  # 1200 x 2.50 + 300 x 10.00 per million
    assert dated.attributes == {"agenttrail.price_table": shipped_price_table().version,
                                "agenttrail.priced_as": "openai/gpt-4o@2024-10-02"}
    before_the_cut = price_usage(1200, 300, model="gpt-4o", provider=None, at=datetime(2024, 6, 1, tzinfo=UTC))
    assert before_the_cut.cost is not None and before_the_cut.cost["amount"] == Decimal("0.010500000")
    assert price_usage(10, 10, model="openai/gpt-4o-mini", provider="openai", at=AT).attributes[
        "agenttrail.priced_as"] == "openai/gpt-4o-mini@2024-07-18", "the longer name wins over its prefix"
    assert price_usage(1000, None, model="text-embedding-3-small", provider="openai", at=AT).cost == {
        "amount": Decimal("0.000020000"), "currency": "USD", "input_tokens": 1000, "output_tokens": None}


def test_usage_the_table_cannot_price_keeps_its_tokens_and_says_why() -> None:
    for provider, model in (("azure.ai.openai", "gpt-4o"), ("openai", "gpt-99"), (None, None)):
        unpriced = price_usage(500, 20, model=model, provider=provider, at=AT)
        assert unpriced.cost is None
        assert unpriced.attributes["gen_ai.usage.input_tokens"] == "500"
        assert unpriced.attributes["gen_ai.usage.output_tokens"] == "20"
        assert unpriced.attributes["agenttrail.unpriced"].startswith("no price for")
    assert price_usage(1, 1, model="gpt-4o", provider="openai", at=datetime(2024, 1, 1, tzinfo=UTC)).cost is None, \
        "nothing was in force before the first row"


def test_the_sdk_prices_usage_and_an_explicit_cost_wins(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory(model="claude-sonnet-4-20250514")
    with trail.action("llm.call", "draft") as act:
        act.set_usage(2000, 500, provider="anthropic")
    with trail.action("llm.call", "local") as act:
        act.set_usage(100, 10, model="llama-3.1-70b")
    with trail.action("llm.call", "invoiced") as act:
        act.set_usage(2000, 500, provider="anthropic")
        act.set_cost("0.050000000", "EUR", input_tokens=2000, output_tokens=500)
    with pytest.raises(InvalidEventError, match="AgentTrail's own"), trail.action("tool.call", "forge") as act:
        act.set_attribute("agenttrail.price_table", "forged")
    assert trail.flush(10)
    assert materialize(settings, store, until=4) == 4
    found = store.execute("SELECT action_name, cost_amount, cost_currency, input_tokens, attributes FROM events")
    rows = {name: (amount, currency, tokens_in, attributes)
            for name, amount, currency, tokens_in, attributes in found.fetchall()}
    assert rows["draft"][:3] == (Decimal("0.013500000"), "USD", 2000)  # 2000 x 3 + 500 x 15 per million
    assert rows["draft"][3]["agenttrail.priced_as"] == "anthropic/claude-sonnet-4@2025-05-22"
    assert rows["local"][:3] == (None, None, None)
    assert rows["local"][3]["gen_ai.usage.input_tokens"] == "100" and "agenttrail.unpriced" in rows["local"][3]
    assert rows["invoiced"][:2] == (Decimal("0.05"), "EUR") and "agenttrail.price_table" not in rows["invoiced"][3]
    assert "agenttrail.price_table" not in rows["forge"][3]
