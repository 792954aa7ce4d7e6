"""One signed checkpoint: the statement its signature covers, and the checks anyone can redo on it.

A checkpoint says "the events with store_seq first..last, tree_size of them, have
this RFC 9162 root; the checkpoint before me had this digest; sealed at this time
by this key". Its ``digest`` is the SHA-256 of that canonical statement and the
next checkpoint records it, so removing or reordering checkpoints breaks the chain.
The same class serves the store (verify), proofs and archive digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail.signing import Signer, canonical, signature_holds

STATEMENT_VERSION = 1
LEAF_VERSION = 1  # consumers/sql/leaf_rows.sql: canonical row text v1


@dataclass(frozen=True)
class Checkpoint:
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

    @classmethod
    def seal(cls, signer: Signer, *, signature: str = "", digest: str = "", **fields: Any) -> Checkpoint:
        """Sign the statement made of ``fields`` (every field but digest and signature)."""
        unsigned = cls(key_id=signer.key_id, digest=digest, signature=signature, **fields)
        statement = unsigned.statement()
        return cls(**{**asdict(unsigned), "digest": hashlib.sha256(canonical(statement)).hexdigest(),
                      "signature": signer.sign(statement)})

    def statement(self) -> dict[str, Any]:
        """What the signature covers: every field but the signature and the digest of this very statement."""
        fields = asdict(self)
        del fields["digest"], fields["signature"]
        return {"v": STATEMENT_VERSION, **fields}

    def problem(self, public: Ed25519PublicKey, trusted_key_id: str) -> str | None:
        """Why this checkpoint's own record does not hold (digest, key, signature); None when it does."""
        if self.key_id != trusted_key_id:
            return f"it is signed by key {self.key_id}, not the trusted key {trusted_key_id}"
        statement = self.statement()
        if hashlib.sha256(canonical(statement)).hexdigest() != self.digest:
            return "its recorded digest does not match its statement"
        if not signature_holds(public, statement, self.signature):
            return "its signature does not verify"
        return None
