"""AgentTrail: a governance and audit trail for AI agents.

The public API is small on purpose (``tests/test_exported_members.py`` guards it):
``connect`` for agent code, the settings, the event model, and the error tree.
"""

from agenttrail._exceptions import (
    AgentSuspendedError,
    AgentTrailError,
    AuditUnavailableError,
    BrokerError,
    BrokerUnavailableError,
    ConfigError,
    DecodeError,
    EmbeddedBrokerError,
    EventError,
    EventTooLargeError,
    InvalidEventError,
    PolicyError,
    QueryError,
    QueryParameterError,
    ReadOnlyQueryError,
    RevokedError,
    SecretInPayloadError,
    ServerError,
    SpoolError,
    SpoolFullError,
    StoreError,
    StoreLockedError,
    TokenRevokedError,
    UnknownQueryError,
    UnknownSchemaError,
)
from agenttrail.config import Settings, load_settings
from agenttrail.producers.emitter import Refusal
from agenttrail.producers.trail import ActionScope, Trail, connect
from agenttrail.schemas.models import AgentAction

__version__ = "0.1.0"

__all__ = [
    "ActionScope",
    "AgentAction",
    "AgentSuspendedError",
    "AgentTrailError",
    "AuditUnavailableError",
    "BrokerError",
    "BrokerUnavailableError",
    "ConfigError",
    "DecodeError",
    "EmbeddedBrokerError",
    "EventError",
    "EventTooLargeError",
    "InvalidEventError",
    "PolicyError",
    "QueryError",
    "QueryParameterError",
    "ReadOnlyQueryError",
    "Refusal",
    "RevokedError",
    "SecretInPayloadError",
    "ServerError",
    "Settings",
    "SpoolError",
    "SpoolFullError",
    "StoreError",
    "StoreLockedError",
    "TokenRevokedError",
    "Trail",
    "UnknownQueryError",
    "UnknownSchemaError",
    "__version__",
    "connect",
    "load_settings",
]
