"""One frozen settings object, read from ``AGENTTRAIL_*`` environment variables.

CLI flags override the environment by passing keyword arguments to
``load_settings``. A bad value raises ``ConfigError`` naming the environment
key to fix, because that is what an operator can act on.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from agenttrail._exceptions import ConfigError
from agenttrail.anomaly_settings import AnomalySettings

ENV_PREFIX = "AGENTTRAIL_"


class ReaderToken(BaseModel):
    """A token that only reads (``agenttrail/callers.py``); with a tenant, it sees that tenant alone.

    Only the token's SHA-256 (hex) is configured, so the server never holds the token itself.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    tenant: str | None = Field(default=None, min_length=1)  # None: every tenant (an auditor)


class IngestToken(BaseModel):
    """A token that only writes one tenant's telemetry (``POST /v1/traces``); it pins the tenant and reads nothing.

    As with reader tokens, only its SHA-256 (hex) is configured.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    tenant: str = Field(min_length=1)


class WebhookEndpoint(BaseModel):
    """Where alerts are POSTed. ``secret`` is a Standard Webhooks key (``whsec_`` + base64)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    url: SecretStr  # a Slack incoming-webhook URL is itself a credential
    secret: SecretStr
    format: Literal["json", "slack"] = "json"
    kinds: list[str] = Field(default_factory=lambda: ["*"])  # alert kinds, shell patterns: budget.*
    # Only alerts about tokens from these issuers (shell patterns): the webhook revoker of a token issuer,
    # e.g. {"kinds": ["token.*"], "issuers": ["https://idp.acme.example*"]}. None: every alert.
    issuers: list[str] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: SecretStr) -> SecretStr:
        if not url.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @field_validator("secret")
    @classmethod
    def _webhook_key(cls, secret: SecretStr) -> SecretStr:
        try:
            Webhook(secret.get_secret_value())
        except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
            raise ValueError("must be a Standard Webhooks key: whsec_ followed by base64") from None
        return secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", frozen=True, extra="forbid")

    # Where the log lives. None means "the embedded broker recorded beside the database".
    bootstrap: str | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    # The Kafka client (agenttrail/kafka.py): "confluent" is librdkafka, several times faster, from
    # `pip install 'agenttrail[fast]'`.
    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    topic_prefix: str = "agenttrail"
    partitions: int = Field(default=3, ge=1)

    # Where the materialized state lives.
    db: Path = Path("agenttrail.duckdb")
    # DuckDB's own cache (its buffer manager) in the processes that write the store, e.g. "2GB" or "512MiB";
    # None: DuckDB's default, 80% of the machine's memory. The materializer's memory stays flat below it.
    duckdb_memory_limit: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?\s*([KMGT]i?B|B)$")

    # Fingerprints: HMAC-SHA256 keyed, the key id travels with every fingerprint.
    fingerprint_key: SecretStr | None = None
    fingerprint_key_id: str = Field(default="k1", pattern=r"^[A-Za-z0-9_-]{1,16}$")

    # Producer side.
    max_event_bytes: int = Field(default=256 * 1024, ge=1024, le=900 * 1024)
    spool_dir: Path = Path.home() / ".agenttrail" / "spool"
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=4096)
    delivery_timeout_ms: int = Field(default=5000, ge=500)
    # The revocation guard (producers/guard.py): refuse revoked tokens and suspended agents in the SDK.
    guard: bool = True

    # Consumer side.
    batch_max_records: int = Field(default=5000, ge=1)
    batch_max_ms: int = Field(default=100, ge=1)
    future_skew_s: int = Field(default=300, ge=0)
    # Decode in a second process; it only pays with a core to spare, so not on one CPU.
    decode_worker: bool = Field(default_factory=lambda: (os.cpu_count() or 1) > 1)
    # Scale-out (agenttrail/shards.py): "K/N" makes this materializer shard K of N, owning the partitions p of
    # the actions topic with p % N == K - 1. None: every partition.
    shard: str | None = Field(default=None, pattern=r"^[1-9][0-9]*/[1-9][0-9]*$")
    # The shard owners' URLs (`serve --shard`), for CLI reads that merge every shard (agenttrail/shard_reader.py).
    shards: list[str] = Field(default_factory=list)

    # SIEM export (agenttrail/export.py): the bearer token `agenttrail export --to URL` sends.
    export_token: SecretStr | None = None

    # Retention (agenttrail/retention_schedule.py): serve runs retention this often when events are due; 0: never.
    retention_interval_s: float = Field(default=3600.0, ge=0)

    # Health (agenttrail/health.py): /readyz fails while more than max_lag records wait unread.
    max_lag: int = Field(default=50_000, ge=0)
    health_interval_s: float = Field(default=2.0, gt=0)

    # Alert delivery: AGENTTRAIL_WEBHOOKS is a JSON list of {name, url, secret, format, kinds}.
    webhooks: list[WebhookEndpoint] = Field(default_factory=list)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    # Anomaly detectors (consumers/detectors/): AGENTTRAIL_ANOMALIES__SPEND_SPIKE__K=8 and so on.
    anomalies: AnomalySettings = AnomalySettings()

    # Tamper evidence: stored events sealed into signed Merkle checkpoints (consumers/projections/checkpoints.py).
    checkpoint_events: int = Field(default=10_000, ge=1)
    checkpoint_idle_s: float = Field(default=5.0, ge=0)
    signing_key_file: Path | None = None  # None: beside the database

    # HTTP API.
    host: str = "127.0.0.1"
    port: int = Field(default=8470, ge=0, le=65535)
    api_token: SecretStr | None = None
    # Or only its SHA-256 (hex), so the server's environment never holds the token itself.
    api_token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # Read-only tokens, most scoped to a tenant: AGENTTRAIL_API_TOKENS='[{"name": , "sha256": , "tenant": }]'.
    api_tokens: list[ReaderToken] = Field(default_factory=list)
    # OTLP ingest (agenttrail/otlp_api.py): AGENTTRAIL_INGEST_TOKENS='[{"name": , "sha256": , "tenant": }]'.
    ingest_tokens: list[IngestToken] = Field(default_factory=list)
    otlp_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)  # a request's body, after gunzip
    # GitHub's secret scanning key list ({"public_keys": [...]}, as api.github.com/meta/public_keys/secret_scanning
    # serves it): the keys whose signatures POST /v1/leaks/github accepts. None: it refuses every report.
    leak_keys_file: Path | None = None

    @field_validator("shard")
    @classmethod
    def _shard_within_count(cls, shard: str | None) -> str | None:
        if shard is not None:
            index, count = (int(part) for part in shard.split("/"))
            if index > count:
                raise ValueError(f"shard {index} of {count} does not exist: K/N needs 1 <= K <= N")
        return shard

    @field_validator("shards")
    @classmethod
    def _shard_urls(cls, urls: list[str]) -> list[str]:
        bad = [url for url in urls if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a URL: list each shard owner as http://host:port")
        return [url.rstrip("/") for url in urls]

    def api_token_hash(self) -> str | None:
        """The SHA-256 (hex) the API compares presented tokens against, from either setting."""
        if self.api_token is not None:
            return hashlib.sha256(self.api_token.get_secret_value().encode()).hexdigest()
        return self.api_token_sha256

    def topic(self, name: str) -> str:
        """Full topic name, e.g. ``topic("actions") == "agenttrail.actions"``."""
        return f"{self.topic_prefix}.{name}"

    @property
    def broker_state_file(self) -> Path:
        return self.db.with_name(self.db.stem + ".broker.json")

    @property
    def signing_key_path(self) -> Path:
        """The Ed25519 key that signs checkpoints: AGENTTRAIL_SIGNING_KEY_FILE, else beside the database."""
        return self.signing_key_file or self.db.with_name(self.db.stem + ".signing-key.pem")

    @property
    def ingest_spool_dir(self) -> Path:
        """Where serve keeps ingested spans it accepted and Kafka has not acknowledged yet."""
        return self.db.with_name(self.db.stem + ".ingest-spool")

    @property
    def server_state_file(self) -> Path:
        return self.db.with_name(self.db.stem + ".server.json")


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, apply non-None overrides, and explain any bad value by its env key."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            source = f"--{field.replace('_', '-')}" if field in given else ENV_PREFIX + field.upper()
            problems.append(f"{_nested(source, err['loc'][1:])}: {err['msg']}")
        raise ConfigError("Invalid setting " + "; ".join(problems) + ".") from None


def _nested(source: str, inner: tuple[int | str, ...]) -> str:
    """Where a nested value came from: AGENTTRAIL_ANOMALIES__SPEND_SPIKE__K, or AGENTTRAIL_WEBHOOKS[0].url."""
    if source.startswith(ENV_PREFIX) and all(isinstance(part, str) for part in inner):
        return "__".join([source, *(str(part).upper() for part in inner)])
    return source + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in inner)
