"""Token usage to exact cost, from the versioned price table shipped with the package.

Pricing happens where the event is made (the SDK's ``set_usage``, the OTLP ingest, the
OpenAI adapter), never in the materializer: the cost is then part of the event's bytes,
hash-chained and sealed like the rest, so a rebuild replays the very cost that was
recorded live whatever table the rebuilding release ships, and the recorded
``agenttrail.price_table`` attribute says which table made it. Usage the table does not
price keeps its token counts in the OpenTelemetry attribute names and says why it has no
cost (``agenttrail.unpriced``): an invented price would be worse than none.

The table (``agenttrail/prices/model_prices.yaml``) lists, per provider and model, the
price per million input and output tokens in force from a date. A model name matches its
row exactly, or once a snapshot suffix (``-2024-08-06``, ``-20250514``, ``-latest``) and a
``provider/`` prefix are taken off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from agenttrail._exceptions import ConfigError

# Reserved attribute keys: only AgentTrail sets keys under ``agenttrail.`` (the SDK refuses them).
RESERVED_PREFIX = "agenttrail."
PRICE_TABLE_ATTRIBUTE = "agenttrail.price_table"  # the table version that priced (or failed to price) the usage
PRICED_AS_ATTRIBUTE = "agenttrail.priced_as"  # provider/model@effective_from: the row that was used
UNPRICED_ATTRIBUTE = "agenttrail.unpriced"  # why usage has no cost
INPUT_TOKENS_ATTRIBUTE = "gen_ai.usage.input_tokens"  # where unpriced usage keeps its counts
OUTPUT_TOKENS_ATTRIBUTE = "gen_ai.usage.output_tokens"

_PER_MILLION = Decimal(1_000_000)
_NANO = Decimal("0.000000001")
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")
# Values older GenAI conventions used for what gen_ai.provider.name now calls them.
_PROVIDER_ALIASES = {"gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "az.ai.openai": "azure.ai.openai",
                     "az.ai.inference": "azure.ai.inference", "xai": "x_ai"}


def _exact(value: Any) -> Decimal:
    """A price as written: a string with at most 3 decimal places (floats are refused: YAML reads 2.50 as one)."""
    if not isinstance(value, str):
        raise ValueError("must be a quoted decimal string, e.g. \"2.50\"")
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value[:20]!r} is not a decimal number") from None
    exponent = price.as_tuple().exponent
    if not price.is_finite() or price < 0 or not isinstance(exponent, int) or exponent < -3:
        raise ValueError("must be a non-negative decimal with at most 3 places")
    return price


Price = Annotated[Decimal, BeforeValidator(_exact)]


class ModelPrice(BaseModel):
    """One row: a model's price per million tokens, in force from ``effective_from`` (UTC) until the next row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    effective_from: date
    input_per_mtok: Price
    output_per_mtok: Price
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}@{self.effective_from.isoformat()}"


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    checked: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    prices: list[ModelPrice]

    @field_validator("version", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return str(value)

    def find(self, provider: str | None, model: str, at: datetime) -> ModelPrice | None:
        """The row in force at ``at`` for ``model`` (and ``provider``, when given), or None."""
        day = at.astimezone(UTC).date()
        wanted = _PROVIDER_ALIASES.get(provider, provider) if provider else None
        for name in _names(model):
            rows = [p for p in self.prices if p.model == name and (wanted is None or p.provider == wanted)
                    and p.effective_from <= day]
            if rows:
                return max(rows, key=lambda p: p.effective_from)
        return None


@dataclass(frozen=True)
class PricedUsage:
    """The event's cost record (None when unpriced) and the attributes that say how it was priced."""

    cost: dict[str, Any] | None
    attributes: dict[str, str]


def price_usage(input_tokens: int | None, output_tokens: int | None, *, model: str | None, provider: str | None,
                at: datetime, table: PriceTable | None = None) -> PricedUsage:
    """What ``input_tokens`` and ``output_tokens`` of ``model`` cost at ``at``, exactly, from the price table."""
    table = table or shipped_price_table()
    found = table.find(provider, model, at) if model else None
    if found is None:
        what = f"{provider or 'any provider'}/{model}" if model else "a call that names no model"
        attributes = {PRICE_TABLE_ATTRIBUTE: table.version,
                      UNPRICED_ATTRIBUTE: f"no price for {what} on {at.astimezone(UTC).date()}"[:300]}
        for key, count in ((INPUT_TOKENS_ATTRIBUTE, input_tokens), (OUTPUT_TOKENS_ATTRIBUTE, output_tokens)):
            if count is not None:
                attributes[key] = str(count)
        return PricedUsage(None, attributes)
    amount = ((input_tokens or 0) * found.input_per_mtok + (output_tokens or 0) * found.output_per_mtok)
    cost = {"amount": (amount / _PER_MILLION).quantize(_NANO), "currency": table.currency,
            "input_tokens": input_tokens, "output_tokens": output_tokens}
    return PricedUsage(cost, {PRICE_TABLE_ATTRIBUTE: table.version, PRICED_AS_ATTRIBUTE: found.key})


@cache
def shipped_price_table() -> PriceTable:
    """The table in this package; ConfigError names what is wrong with it (a release bug, caught by the tests)."""
    text = resources.files("agenttrail").joinpath("prices/model_prices.yaml").read_text("utf-8")
    return parse_price_table(text)


def parse_price_table(text: str) -> PriceTable:
    try:
        return PriceTable.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"The model price table is malformed: {str(exc).splitlines()[0]}.") from None


def _names(model: str) -> list[str]:
    """The names ``model`` may be listed under: as given, without a ``provider/`` prefix and snapshot suffix."""
    bare = model.rsplit("/", 1)[-1]
    return list(dict.fromkeys([model, bare, _SNAPSHOT.sub("", bare)]))
