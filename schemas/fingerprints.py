"""Keyed token fingerprints, and the refusal of values that look like raw credentials.

A fingerprint is ``hmac-sha256:<key id>:<hex>`` (HashiCorp Vault's audit
hashing): investigators holding the key can still correlate a leaked token
with the trail, nobody can recover the token, and the key id lets keys rotate.
The SDK refuses secret-looking values, the materializer checks again.

The patterns are a compiled subset of the rules in Yelp's detect-secrets and
gitleaks. Those libraries scan files line by line with per-plugin entropy
checks, far too slow for a per-event check on the ingest path, so the few
shapes agents actually leak are matched here in one regular expression.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from pydantic import SecretStr

from agenttrail._exceptions import ConfigError

FINGERPRINT_PATTERN = re.compile(r"^hmac-sha256:[A-Za-z0-9_-]{1,16}:[0-9a-f]{64}$")

# The credential shapes: the single source of truth for both regular expressions below.
SECRET_SHAPES = (
    r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*",  # HTTP bearer credentials
    r"\bBasic\s+[A-Za-z0-9+/]{16,}=*",  # HTTP basic credentials
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}",  # OpenAI / Anthropic API keys
    r"\bgh[pousr]_[A-Za-z0-9]{36,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{40,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
    r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}",  # Stripe keys
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"(?i:(?:api[_-]?key|secret|password|passwd|token)\s*[=:]\s*[\"']?[A-Za-z0-9/+_.-]{16,})",
)

_SECRET_SHAPES = re.compile("|".join(SECRET_SHAPES))
# No shape matches fewer characters (Slack's xoxb- + 10 is the shortest; a test derives it from the shapes),
# so a shorter value is no secret without running the expression: most attribute values are short.
SHORTEST_SECRET = 15

# The same shapes for RE2 (pyarrow.compute), for a vectorized pass that finds the few candidate
# values; the Python expression then decides, so the verdict never rests on the two dialects
# agreeing. On ASCII text they agree once RE2's ``\s`` is widened to Python's ASCII spaces; any
# value with a non-ASCII character (where ``\b``, ``\s`` and case folding differ) is a candidate.
SECRET_CANDIDATES_RE2 = "|".join(
    [r"[^\x00-\x7f]", *(shape.replace(r"\s", r"[\s\x0b\x1c-\x1f]") for shape in SECRET_SHAPES)])


def looks_like_secret(value: str) -> bool:
    """True when ``value`` contains a credential shape; cheap enough for every attribute."""
    return len(value) >= SHORTEST_SECRET and _SECRET_SHAPES.search(value) is not None


def redact_secrets(text: str) -> str:
    """``text`` with every credential shape replaced by ``[REDACTED]``."""
    return _SECRET_SHAPES.sub("[REDACTED]", text)


def first_secret_key(values: Iterable[tuple[str, str]]) -> str | None:
    """The first key whose value looks like a raw credential, or None."""
    for key, value in values:
        if looks_like_secret(value):
            return key
    return None


class Fingerprinter:
    """Turns a raw token into ``hmac-sha256:<key id>:<hex>``; holds the key as a SecretStr."""

    def __init__(self, key: SecretStr | None, key_id: str) -> None:
        if key is None or not key.get_secret_value():
            raise ConfigError(
                "No fingerprint key: set AGENTTRAIL_FINGERPRINT_KEY to a long random string "
                "(the same value for SDK, materializer and guard)."
            )
        self._key = key.get_secret_value().encode("utf-8")
        self.key_id = key_id

    def fingerprint(self, raw_token: str) -> str:
        digest = hmac.new(self._key, raw_token.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{self.key_id}:{digest}"
