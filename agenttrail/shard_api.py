"""``GET /v1/shard``: which partitions of the actions topic this server's materializer stores.

The merging reader (``agenttrail.shard_reader``) asks every URL in ``AGENTTRAIL_SHARDS``
before it reads, to route a tenant's queries to the shard that owns its partition and
to refuse a set of shards that leaves a partition without an owner, or with two. Like
the probes, it needs no token: it names partitions, never trail data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from agenttrail.shards import Ownership


def shard_router(topic: str, ownership: Callable[[], Ownership]) -> APIRouter:
    """``ownership()`` is the materializer's, as its last start found it."""
    router = APIRouter()

    @router.get("/v1/shard")
    def get_shard() -> dict[str, Any]:
        owned = ownership()
        return {"shard": str(owned.shard) if owned.shard is not None else None, "topic": topic,
                "partition_count": owned.partitions, "partitions": owned.owned_partitions}

    return router
