"""Sealed personal values: per-subject data keys, how they are wrapped, and what the trail stores instead.

The trail's bytes are hash-chained, sealed into signed Merkle checkpoints and
archived, so a person's id written in the clear could never be erased without
breaking every proof over it. So the SDK seals personal fields before it encodes
and hashes (crypto-shredding, as AWS's envelope encryption and Vault's transit
engine arrange keys): a human principal's id, the ids of humans in the actor
chain, and the source address of an action taken for a human. Each subject
(``human:<id>``) gets random 256-bit data keys (DEKs); a field then holds

* its **reference**, ``sealed:<key id>:<pseudonym>``, where the pseudonym is an
  HMAC under the DEK (so once the DEK is destroyed nobody, even someone who
  guesses the id, can tell whose it was), and
* a ``Sealed`` record: the value encrypted with AES-256-GCM under the DEK, the
  key id and the field's kind bound as associated data.

Destroying every copy of a subject's DEKs erases the values; the bytes, their
hashes and every proof stay exactly as they are. A value is encrypted once per
key (the nonce and ciphertext are kept for its next use), so sealing costs the
SDK's sender a few dictionary lookups per event; binding a ciphertext to one event is
the hash chain's and the checkpoints' job, not the cipher's.

Keys travel wrapped (AES-256-GCM) under a key-encryption key derived with HKDF
from ``AGENTTRAIL_FINGERPRINT_KEY``, which SDK and server already share; the
same secret gives the server's **subject digest** (HMAC of the subject under a
third derived key), the handle by which an erasure finds a subject's keys and a
``principal:`` budget its spend, without the id itself appearing anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from agenttrail._exceptions import ConfigError, SealingError

REF_PREFIX = "sealed:"
SUBJECT_KINDS = ("human",)  # whose ids are personal data; agents and services are not people
ID, ADDRESS = "id", "address"  # the kinds of sealed value: an id (principal or actor), a source address


def is_ref(value: str | None) -> bool:
    """True for a sealed reference (``sealed:<key id>:<pseudonym>``)."""
    return value is not None and value.startswith(REF_PREFIX)


def key_id_of(ref: str) -> str:
    """The key id inside a sealed reference."""
    return ref.split(":", 2)[1]


def subject_of(spec: str) -> str:
    """``kind:id`` for a subject given with or without its kind (without one, a human: only humans are sealed)."""
    kind, sep, rest = spec.partition(":")
    return spec if sep and kind in ("human", "agent", "service") and rest else f"human:{spec}"


def _derive(secret: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"agenttrail {purpose}".encode()).derive(secret)


class SubjectKeys:
    """What SDK and server derive from the fingerprint key: the key-encryption key and the subject digest key."""

    def __init__(self, fingerprint_key: SecretStr | None, kek_id: str) -> None:
        if fingerprint_key is None or not fingerprint_key.get_secret_value():
            raise ConfigError("No fingerprint key: set AGENTTRAIL_FINGERPRINT_KEY (the same value for SDK and "
                              "server); personal fields are sealed under keys derived from it.")
        secret = fingerprint_key.get_secret_value().encode("utf-8")
        self.kek_id = kek_id
        self._wrap = AESGCM(_derive(secret, "subject-key wrap v1"))
        self._digest_key = _derive(secret, "subject digest v1")

    def digest(self, subject: str) -> str:
        """``hmac-sha256:<key id>:<hex>`` of a subject (``human:alice@acme.example``): the server's handle on it."""
        mac = hmac.new(self._digest_key, subject.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{self.kek_id}:{mac}"

    def wrap(self, key: DataKey, tenant: str) -> bytes:
        """The DEK and its subject, encrypted under the key-encryption key and bound to the key id and tenant."""
        nonce = os.urandom(12)
        body = json.dumps({"dek": base64.b64encode(key.dek).decode(), "subject": key.subject}).encode()
        return nonce + self._wrap.encrypt(nonce, body, _bound(key.key_id, tenant))

    def unwrap(self, key_id: str, tenant: str, wrapped: bytes) -> DataKey:
        """The data key inside ``wrapped``; SealingError when it was not wrapped for this key id and tenant."""
        try:
            body = json.loads(self._wrap.decrypt(wrapped[:12], wrapped[12:], _bound(key_id, tenant)))
            return DataKey(key_id, str(body["subject"]), base64.b64decode(body["dek"]))
        except (InvalidTag, ValueError, KeyError, TypeError) as exc:
            raise SealingError(f"subject key {key_id} does not unwrap with this fingerprint key "
                               f"({type(exc).__name__})") from None


@dataclass
class DataKey:
    """One data key of one subject: seals values (cached per value) and opens them again."""

    key_id: str
    subject: str
    dek: bytes
    _sealed: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._aead = AESGCM(_derive(self.dek, "seal v1"))
        self._mac = _derive(self.dek, "pseudonym v1")

    @classmethod
    def new(cls, subject: str) -> DataKey:
        return cls(secrets.token_hex(12), subject, secrets.token_bytes(32))

    def ref(self, kind: str, value: str) -> str:
        """``sealed:<key id>:<pseudonym>``: the same value under the same key always gives the same reference."""
        pseudonym = hmac.new(self._mac, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{REF_PREFIX}{self.key_id}:{pseudonym}"

    def seal(self, kind: str, value: str) -> tuple[str, dict[str, Any]]:
        """(reference, Sealed record) of ``value``; encrypted once per key and value."""
        found = self._sealed.get((kind, value))
        if found is None:
            nonce = os.urandom(12)
            sealed = {"key_id": self.key_id, "nonce": nonce,
                      "ciphertext": self._aead.encrypt(nonce, value.encode("utf-8"), _bound(self.key_id, kind))}
            found = self._sealed[(kind, value)] = (self.ref(kind, value), sealed)
        return found

    def open(self, kind: str, ref: str, sealed: dict[str, Any]) -> str:
        """The value a Sealed record holds; SealingError unless it decrypts and matches ``ref``."""
        try:
            value = self._aead.decrypt(sealed["nonce"], sealed["ciphertext"], _bound(self.key_id, kind)).decode()
        except (InvalidTag, UnicodeDecodeError) as exc:
            raise SealingError(f"a value sealed under key {self.key_id} does not decrypt ({type(exc).__name__})"
                               ) from None
        if self.ref(kind, value) != ref:
            raise SealingError(f"a value sealed under key {self.key_id} does not match its reference {ref}")
        return value


def _bound(key_id: str, context: str) -> bytes:
    return f"agenttrail\x00{key_id}\x00{context}".encode()


def sealed_values(event: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, reference, Sealed record) of every sealed field of a decoded event."""
    found = []
    principal = event["principal"]
    if principal.get("sealed"):
        found.append((ID, principal["id"], principal["sealed"]))
    found.extend((ID, actor["id"], actor["sealed"]) for actor in event["actor_chain"] if actor.get("sealed"))
    if event.get("source_address_sealed") and event["source_address"]:
        found.append((ADDRESS, event["source_address"], event["source_address_sealed"]))
    return found
