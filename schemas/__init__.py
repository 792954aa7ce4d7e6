"""The event contract: Avro schemas (the source of truth), their codec and pydantic mirrors."""

from agenttrail.schemas.codec import Codec, default_codec, schema_fingerprint, shipped_schemas
from agenttrail.schemas.models import AgentAction

__all__ = ["AgentAction", "Codec", "default_codec", "schema_fingerprint", "shipped_schemas"]
