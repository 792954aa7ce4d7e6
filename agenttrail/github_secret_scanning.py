"""GitHub's secret scanning partner program: the signed report it sends, and the answer it expects.

GitHub POSTs a JSON array of matches, ``[{"token", "type", "url", "source"}]``, and signs
the raw body with ECDSA on P-256 over SHA-256: ``Github-Public-Key-Identifier`` names the
key, ``Github-Public-Key-Signature`` carries the DER signature in base64. Its verifying keys
are published as ``{"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}``
(https://api.github.com/meta/public_keys/secret_scanning); our machines do not fetch it, so
an operator keeps a copy in the file ``AGENTTRAIL_LEAK_KEYS_FILE`` names. Every key listed
verifies (GitHub marks the newest ``is_current`` while older signatures stay valid); taking
a key out of the file stops it, and the file is read again whenever it changes. The answer
is one ``{"token_hash", "token_type", "label"}`` per match: the SHA-256 (hex) of the raw
token, and ``true_positive`` or ``false_positive``.

The signature is checked before the body is parsed, so nothing unauthenticated is ever
read as JSON. ``cryptography`` does the ECDSA; its errors are converted here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agenttrail._exceptions import ConfigError, LeakReportError, LeakSignatureError

KEY_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
MAX_MATCHES = 10_000
_KEYS_SETTING = "AGENTTRAIL_LEAK_KEYS_FILE"

class Match(BaseModel):
    """One token GitHub found: the raw ``token``, the partner's pattern name, where it was found."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # GitHub may add keys; we read these

    token: str = Field(min_length=1, max_length=8192)
    type: str = Field(min_length=1, max_length=200)
    url: str = Field(default="", max_length=2000)
    source: str | None = Field(default=None, max_length=100)

    def answer(self, label: str) -> dict[str, str]:
        """The partner program's feedback for this match (``label``: true_positive or false_positive): its
        token by SHA-256, never raw."""
        return {"token_hash": hashlib.sha256(self.token.encode("utf-8")).hexdigest(), "token_type": self.type,
                "label": label}


class _Matches(BaseModel):
    matches: list[Match] = Field(min_length=1, max_length=MAX_MATCHES)


class SigningKeys:
    """GitHub's verifying keys from the key-list file, read again when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded: tuple[int, dict[str, ec.EllipticCurvePublicKey]] | None = None

    def verify(self, key_id: str | None, signature: str | None, body: bytes) -> str:
        """The key id that signed ``body``; LeakSignatureError when a header is missing or the signature fails."""
        if not key_id or not signature:
            raise LeakSignatureError(f"A leak report needs the {KEY_HEADER} and {SIGNATURE_HEADER} headers.")
        key = self._keys().get(key_id)
        if key is None:
            raise LeakSignatureError("The report names a signing key this server does not trust; add GitHub's "
                                     f"current key list to the file {_KEYS_SETTING} names.")
        try:
            key.verify(base64.b64decode(signature, validate=True), body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, binascii.Error, ValueError):
            raise LeakSignatureError("The report's signature does not verify with the key it names.") from None
        return key_id

    def _keys(self) -> dict[str, ec.EllipticCurvePublicKey]:
        try:
            changed = self.path.stat().st_mtime_ns
        except OSError as exc:
            raise ConfigError(f"{_KEYS_SETTING}: cannot read {self.path} ({exc.strerror}).") from None
        with self._lock:
            if self._loaded is None or self._loaded[0] != changed:
                self._loaded = (changed, load_keys(self.path))
            return self._loaded[1]


def load_keys(path: Path) -> dict[str, ec.EllipticCurvePublicKey]:
    """Key id -> P-256 public key from a file in the shape of GitHub's key list; ConfigError says what is wrong."""
    try:
        document = json.loads(path.read_text("utf-8"))
        entries = document["public_keys"]
        keys = {str(entry["key_identifier"]): serialization.load_pem_public_key(str(entry["key"]).encode())
                for entry in entries}
    except OSError as exc:
        raise ConfigError(f"{_KEYS_SETTING}: cannot read {path} ({exc.strerror}).") from None
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError and a PEM that does not load are ValueErrors
        raise ConfigError(f"{_KEYS_SETTING}: {path} is not GitHub's key list ({{\"public_keys\": [{{"
                          f"\"key_identifier\", \"key\"}}]}}): {type(exc).__name__}.") from None
    for key_id, key in keys.items():
        if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
            raise ConfigError(f"{_KEYS_SETTING}: key {key_id[:80]!r} in {path} is not an ECDSA P-256 public key.")
    return keys  # type: ignore[return-value]  # each checked above


def parse_matches(body: bytes) -> list[Match]:
    """The matches of a (verified) report; LeakReportError names the first problem."""
    try:
        document: Any = json.loads(body)
    except ValueError:  # JSONDecodeError, and bytes that are not UTF-8
        raise LeakReportError("The report is not JSON; GitHub sends an array of {token, type, url, source}.") \
            from None
    try:
        return _Matches(matches=document).matches
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "the body"
        raise LeakReportError(f"The report is malformed at {where}: {first['msg']}.") from None
