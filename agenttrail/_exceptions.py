"""Every error AgentTrail raises on purpose, in one tree.

Callers catch ``AgentTrailError`` for "anything we anticipated"; the CLI turns
each into one sentence and a non-zero exit code. Errors from kafka-python,
confluent-kafka and DuckDB are converted into this tree in exactly one place each
(``agenttrail.kafka.map_kafka_errors`` and ``agenttrail.consumers.store``), so
no foreign exception type leaks through the public API.

    AgentTrailError
    ├── ConfigError                  a setting is missing or malformed (names the env key)
    │   └── ShardError               shards do not fit together: a store started as another shard, or
    │                                AGENTTRAIL_SHARDS leaves a partition without an owner (or with two)
    ├── BrokerError
    │   ├── BrokerUnavailableError   Kafka cannot be reached, or no broker is running
    │   └── EmbeddedBrokerError      the embedded broker could not be started
    ├── EventError                   an event was refused before it reached Kafka
    │   ├── InvalidEventError        it does not satisfy the contract
    │   ├── EventTooLargeError       encoded size above max_event_bytes
    │   └── SecretInPayloadError     a value looks like a raw credential
    ├── DecodeError                  bytes on the topic are not an event we can read
    │   └── UnknownSchemaError       single-object fingerprint we have no schema for
    ├── AuditUnavailableError        fail_closed: the action cannot be recorded, so it must not run
    ├── SealingError                 a sealed personal value or subject key does not open (another key, or forged)
    ├── PolicyError                  a policy rule file is malformed or a condition is not allowed (names the line)
    ├── LeakReportError              a leak report cannot be accepted as sent (malformed, or exposed in the future)
    │   └── LeakSignatureError       its signature is missing, or does not verify with a trusted key
    ├── RevokedError                 the guard refuses: enforcement state says no
    │   ├── TokenRevokedError        the token (or an ancestor it was minted from) is revoked
    │   └── AgentSuspendedError      the agent is suspended
    ├── SpoolError                   the local disk spool cannot be written
    │   └── SpoolFullError           the spool reached its configured size limit
    ├── DecodeWorkerError            the materializer's decode worker died or failed (its batches are re-read)
    ├── MaterializerError            the materializer stopped on a batch it cannot store
    ├── StoreError                   the DuckDB store cannot be used
    │   ├── StoreLockedError         another process holds the database file
    │   ├── StoreOutdatedError       an older release's schema: `agenttrail migrate` first
    │   └── RebuildMismatchError     rebuild --check: the live projection tables differ from a rebuild
    ├── IntegrityError               the trail is not provably complete and untouched
    │   ├── SigningKeyError          the signing or public key cannot be created, read or trusted
    │   ├── ProofError               an inclusion proof cannot be made, or does not verify
    │   └── ArchiveError             an archive cannot be written, read or restored
    ├── QueryError                   a query cannot run as asked
    │   ├── UnknownQueryError
    │   ├── ReadOnlyQueryError       not exactly one read-only SELECT
    │   ├── QueryParameterError      a parameter is missing, unknown or malformed
    │   ├── UnmergeableQueryError    a query whose answers cannot be merged across shards
    │   └── EventNotFoundError       no stored event has the id asked for
    ├── IngestError                  an OTLP request cannot be read (names what is wrong)
    │   └── IngestUnavailableError   the server cannot take spans in now (starting, spool full, store): retry
    ├── ServerError                  the agenttrail server answered with an error
    └── ExportError                  an export cannot be delivered, or its cursor not kept
"""

from __future__ import annotations


class AgentTrailError(Exception):
    """Root of every error AgentTrail raises on purpose; its message is meant for a person."""


class ConfigError(AgentTrailError):
    pass


class ShardError(ConfigError):
    pass


class BrokerError(AgentTrailError):
    pass


class BrokerUnavailableError(BrokerError):
    pass


class EmbeddedBrokerError(BrokerError):
    pass


class EventError(AgentTrailError):
    pass


class InvalidEventError(EventError):
    pass


class EventTooLargeError(EventError):
    pass


class SecretInPayloadError(EventError):
    pass


class DecodeError(AgentTrailError):
    pass


class UnknownSchemaError(DecodeError):
    pass


class AuditUnavailableError(AgentTrailError):
    pass


class SealingError(AgentTrailError):
    pass


class PolicyError(AgentTrailError):
    pass


class LeakReportError(AgentTrailError):
    pass


class LeakSignatureError(LeakReportError):
    pass


class RevokedError(AgentTrailError):
    pass


class TokenRevokedError(RevokedError):
    pass


class AgentSuspendedError(RevokedError):
    pass


class SpoolError(AgentTrailError):
    pass


class SpoolFullError(SpoolError):
    pass


class DecodeWorkerError(AgentTrailError):
    pass


class MaterializerError(AgentTrailError):
    pass


class StoreError(AgentTrailError):
    pass


class StoreLockedError(StoreError):
    pass


class StoreOutdatedError(StoreError):
    """The store was written by an older schema version and must be migrated before it is written."""


class RebuildMismatchError(StoreError):
    pass


class IntegrityError(AgentTrailError):
    pass


class SigningKeyError(IntegrityError):
    pass


class ProofError(IntegrityError):
    pass


class ArchiveError(IntegrityError):
    pass


class QueryError(AgentTrailError):
    pass


class UnmergeableQueryError(QueryError):
    pass


class UnknownQueryError(QueryError):
    pass


class ReadOnlyQueryError(QueryError):
    pass


class QueryParameterError(QueryError):
    pass


class EventNotFoundError(QueryError):
    pass


class IngestError(AgentTrailError):
    """An OTLP request the server cannot read; ``status`` is the HTTP answer (400, 413, 415)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class IngestUnavailableError(IngestError):
    """The server cannot take spans in now; the exporter should retry (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=503)


class ServerError(AgentTrailError):
    pass


class ExportError(AgentTrailError):
    """An export's receiver or file refused a chunk, or its cursor file cannot be read or written."""
