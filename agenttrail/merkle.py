"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and inclusion proofs, nothing else.

Leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``;
a tree of n leaves splits at the largest power of two below n (RFC 9162 §2.1.1), so
a proof made here is checked by any RFC 9162 verifier and vice versa. The checker
(``root_from_path``) needs no database: the standalone ``verify-proof`` uses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of already-hashed ``leaves``; ValueError for an empty tree.

    Pairing left to right level by level and promoting an odd last node unchanged
    gives exactly RFC 9162's recursive split, in n-1 hashes and no recursion.
    """
    if not leaves:
        raise ValueError("a checkpoint needs at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        level = _parents(level)
    return level[0]


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 9162 §2.1.3.1), nearest sibling first."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    level, position = list(leaves), index
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        level, position = _parents(level), position // 2
    return path


def _parents(level: list[bytes]) -> list[bytes]:
    """One level up: pairs hashed left to right, an odd last node promoted unchanged (node_hash, inlined)."""
    paired = [_sha256(b"\x01" + left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=False)]
    if len(level) % 2:
        paired.append(level[-1])
    return paired


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root implied by ``leaf`` at ``index`` of ``size`` with ``path`` (RFC 9162 §2.1.3.2).

    Raises ValueError when the path has the wrong length for that position, which
    a forged or truncated proof produces.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("the audit path is longer than the tree is deep")
        if fn % 2 == 1 or fn == sn:
            result = node_hash(sibling, result)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the audit path is shorter than the tree is deep")
    return result
