"""RFC 9162 Merkle trees: every leaf of random-size trees proves its inclusion, and nothing else does."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenttrail.merkle import inclusion_path, leaf_hash, node_hash, root_from_path, tree_root


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 written literally: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"event-{i}".encode()) for i in range(n)]


@given(st.integers(min_value=1, max_value=300))
def test_root_matches_the_rfc_recursive_definition(size: int) -> None:
    leaves = _leaves(size)
    assert tree_root(leaves) == _reference_root(leaves)


@given(st.integers(min_value=1, max_value=130))
def test_every_leaf_of_a_random_size_tree_proves_its_inclusion(size: int) -> None:
    leaves = _leaves(size)
    root = tree_root(leaves)
    for index, leaf in enumerate(leaves):
        assert root_from_path(leaf, index, size, inclusion_path(leaves, index)) == root


@given(st.integers(min_value=2, max_value=130), st.data())
def test_a_proof_does_not_hold_for_another_leaf_position_or_size(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    root = tree_root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = inclusion_path(leaves, index)
    forged = leaf_hash(b"forged")
    assert root_from_path(forged, index, size, path) != root
    other = (index + 1) % size
    with contextlib.suppress(ValueError):  # a path of the wrong length for that position is refused outright
        assert root_from_path(leaves[index], other, size, path) != root


def test_known_answer_single_and_empty_trees() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert tree_root([leaf_hash(b"a")]) == leaf_hash(b"a")
    with pytest.raises(ValueError):
        tree_root([])
    with pytest.raises(ValueError, match="shorter"):
        root_from_path(leaf_hash(b"a"), 0, 4, [])
