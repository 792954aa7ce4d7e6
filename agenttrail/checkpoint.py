"""Signed statements about the sealed trail: checkpoints, retention runs, and the checks anyone can redo on them.

A checkpoint says "the events with store_seq first..last, tree_size of them, have
this RFC 9162 root; the checkpoint before me had this digest; sealed at this time
by this key". Its ``digest`` is the SHA-256 of that canonical statement and the
next checkpoint records it, so removing or reordering checkpoints breaks the chain.
The same class serves the store (verify), proofs and archive digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail.signing import Signer, canonical, signature_holds

STATEMENT_VERSION = 1
LEAF_VERSION = 1  # consumers/sql/leaf_rows.sql: canonical row text v1


class SignedStatement:
    """A frozen dataclass whose fields but ``digest`` and ``signature`` make a statement its key signed.

    ``digest`` is the SHA-256 of the canonical statement, so a chain of statements records each
    one's predecessor by it (checkpoints do). Checkpoints and retention runs
    (``consumers/projections/retention.py``) are statements.
    """

    VERSION: ClassVar[int] = STATEMENT_VERSION
    key_id: str
    digest: str
    signature: str

    @classmethod
    def seal(cls, signer: Signer, *, signature: str = "", digest: str = "", **fields: Any) -> Self:
        """Sign the statement made of ``fields`` (every field but digest and signature)."""
        unsigned = cls(key_id=signer.key_id, digest=digest, signature=signature, **fields)  # type: ignore[call-arg]
        statement = unsigned.statement()
        return cls(**{**asdict(unsigned),  # type: ignore[call-overload]
                      "digest": hashlib.sha256(canonical(statement)).hexdigest(), "signature": signer.sign(statement)})

    def statement(self) -> dict[str, Any]:
        """What the signature covers: every field but the signature and the digest of this very statement."""
        fields = asdict(self)  # type: ignore[call-overload]
        del fields["digest"], fields["signature"]
        return {"v": self.VERSION, **fields}

    def problem(self, public: Ed25519PublicKey, trusted_key_id: str) -> str | None:
        """Why this statement's own record does not hold (digest, key, signature); None when it does."""
        if self.key_id != trusted_key_id:
            return f"it is signed by key {self.key_id}, not the trusted key {trusted_key_id}"
        statement = self.statement()
        if hashlib.sha256(canonical(statement)).hexdigest() != self.digest:
            return "its recorded digest does not match its statement"
        if not signature_holds(public, statement, self.signature):
            return "its signature does not verify"
        return None


@dataclass(frozen=True)
class Checkpoint(SignedStatement):
    checkpoint_id: int
    first_store_seq: int
    last_store_seq: int
    tree_size: int
    root: str
    prev_digest: str | None
    leaf_version: int
    sealed_at: str
    key_id: str
    digest: str
    signature: str


@dataclass(frozen=True)
class RetentionRun(SignedStatement):
    """A retention run removed these sealed events of one tenant from one checkpoint: their leaves stay in it, so
    what is gone is a signed fact, told apart from a deletion by ``removed_digest``
    (``consumers/projections/retention.py``)."""

    run_id: str
    tenant: str
    checkpoint_id: int
    store_seq: int
    days: str
    cutoff: str
    removed: int
    first_removed_seq: int | None
    last_removed_seq: int | None
    removed_digest: str
    ran_at: str
    key_id: str
    digest: str
    signature: str


def removed_digest(removed: list[tuple[int, str, bytes]]) -> str:
    """SHA-256 over the removed events' (store_seq, event_id, recorded leaf), in store order."""
    digest = hashlib.sha256()
    for store_seq, event_id, leaf in removed:
        digest.update(f"{store_seq}:{event_id}:{leaf.hex()}\n".encode())
    return digest.hexdigest()
