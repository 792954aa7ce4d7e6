"""The Ed25519 key that signs checkpoints and archive digests, and the exact bytes it signs.

The private key lives in one PEM file (``AGENTTRAIL_SIGNING_KEY_FILE``, default
beside the database), created on first use with mode 0600 and refused when
others may read it, like ssh does. It is never printed or logged: only the public
half leaves (``agenttrail keys export``). The key id is the first 8 bytes of the
SHA-256 of the raw public key, recorded with every signature so keys can rotate.

Signed statements are canonical JSON (sorted keys, no spaces, UTF-8), so the
standalone verifier rebuilds them byte for byte from the fields of a proof.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agenttrail._exceptions import SigningKeyError


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes a statement's signature covers."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Signer:
    """The private key with its id; ``sign`` returns a hex signature over ``canonical(fields)``."""

    private: Ed25519PrivateKey
    key_id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, fields: dict[str, Any]) -> str:
        return self.private.sign(canonical(fields)).hex()


def signature_holds(public: Ed25519PublicKey, fields: dict[str, Any], signature: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature), canonical(fields))
    except (InvalidSignature, ValueError):
        return False
    return True


def load_or_create_signer(path: Path, *, create: bool = True) -> Signer:
    """The signing key at ``path``, created (mode 0600, never overwritten) when there is none and ``create``."""
    if not path.exists():
        if not create:
            raise SigningKeyError(f"There is no signing key at {path}; set AGENTTRAIL_SIGNING_KEY_FILE to the key "
                                  "that sealed this store.")
        _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"The signing key {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`."
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"The signing key {path} cannot be read: {type(exc).__name__}.") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SigningKeyError(f"The signing key {path} is not an Ed25519 private key.")
    return Signer(private, key_id(private.public_key()))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key (as ``agenttrail keys export`` writes), or the public half of a private key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"The key file {path} cannot be read: {exc.strerror}.") from None
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise SigningKeyError(f"{path} is not a PEM Ed25519 key.") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key.")
    return key


def _create(path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    except OSError as exc:
        raise SigningKeyError(f"The signing key {path} cannot be created: {exc.strerror}.") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def trusted_public_key(given: Path | None, key_file: Path) -> Ed25519PublicKey:
    """The key signatures are checked against: ``given``, else the public half of the local signing key.

    Never a key stored in the database: whoever can rewrite the database could
    rewrite that key too.
    """
    if given is not None:
        return load_public_key(given)
    if key_file.exists():
        return load_public_key(key_file)
    raise SigningKeyError(
        f"There is no signing key at {key_file} to verify against; pass --public-key FILE "
        "(written by `agenttrail keys export` where the store was sealed)."
    )
