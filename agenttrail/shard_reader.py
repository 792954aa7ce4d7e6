"""Read every shard as one store: a tenant's questions go to the shard that owns it, the others to all, merged.

DuckDB will not open a file another process writes, even read-only, so live shards are
read through their owners' HTTP APIs (``serve --shard``), listed in ``AGENTTRAIL_SHARDS``.
Before it reads, the reader asks each for the partitions it stores (``GET /v1/shard``), and
refuses a list that leaves a partition of the actions topic without an owner or with two,
or whose shards read different topics: an answer without a shard's tenants would look
complete. A tenant is routed as the producer routed its events, to its partition (the
producer's murmur2 partitioner, ``agenttrail.kafka.partition_of``), then to the shard that
owns it. A shard that does not answer fails the whole read: there are no partial answers.
How the answers of several shards become one, query by query: ``agenttrail.shard_merge``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import pyarrow as pa

from agenttrail._exceptions import ShardError
from agenttrail.kafka import partition_of
from agenttrail.queries.runner import bind, get_query
from agenttrail.shard_merge import rule_for

Ask = Callable[[str, str, Mapping[str, str | None]], pa.Table]  # (shard URL, query name, params) -> its answer
Describe = Callable[[str], dict[str, Any]]  # shard URL -> what its GET /v1/shard answers
T = TypeVar("T")


@dataclass(frozen=True)
class ShardMap:
    """Which URL stores each partition of ``topic``."""

    topic: str
    partition_count: int
    owners: dict[int, str]

    def owner_of(self, tenant: str) -> str:
        return self.owners[partition_of(tenant.encode("utf-8"), self.partition_count)]


def map_shards(described: Mapping[str, dict[str, Any]]) -> ShardMap:
    """The partitions each shard says it stores, checked to cover the topic once; ShardError says what is wrong."""
    topics = sorted({str(d["topic"]) for d in described.values()})
    counts = sorted({int(d["partition_count"]) for d in described.values()})
    if len(topics) != 1 or len(counts) != 1:
        found = ", ".join(f"{url} reads {d['topic']} ({d['partition_count']} partitions)"
                          for url, d in described.items())
        raise ShardError(f"The shards in AGENTTRAIL_SHARDS read different topics: {found}; list the shards of one "
                         "deployment.")
    topic, count = topics[0], counts[0]
    owners: dict[int, str] = {}
    for url, d in described.items():
        for partition in d["partitions"]:
            if partition in owners:
                raise ShardError(f"Partition {partition} of {topic} is stored by both {owners[partition]} and {url}; "
                                 "each partition needs one shard (--shard K/N with the same N everywhere).")
            owners[int(partition)] = url
    missing = [str(p) for p in range(count) if p not in owners]
    if missing:
        raise ShardError(f"No shard in AGENTTRAIL_SHARDS stores partition {', '.join(missing)} of {topic} ({count} "
                         "partitions), so answers would miss its tenants; add its owner's URL, or start it "
                         "(agenttrail serve --shard K/N).")
    return ShardMap(topic, count, owners)


class ShardReader:
    """Named queries over the shards at ``urls``, through ``ask`` and ``describe`` (HTTP, see ``QueryClient``)."""

    def __init__(self, urls: Sequence[str], ask: Ask, describe: Describe) -> None:
        self.urls = list(dict.fromkeys(urls))
        self._ask = ask
        self._describe = describe

    @cached_property
    def shards(self) -> ShardMap:
        return map_shards(dict(zip(self.urls, self._each(self._describe), strict=True)))

    def query(self, name: str, params: Mapping[str, str | None]) -> pa.Table:
        """What one store holding every shard's events would answer (``agenttrail.shard_merge``)."""
        query = get_query(name)
        values = bind(query, params)  # refuses an unknown, missing or malformed parameter before any shard is asked
        tenant = params.get("tenant")
        if tenant is not None and any(p.name == "tenant" for p in query.params):
            return self._ask(self.shards.owner_of(tenant), query.name, params)
        rule = rule_for(query.name, {key for key, value in params.items() if value is not None})
        urls = sorted(set(self.shards.owners.values()), key=self.urls.index)
        answers = self._each(lambda url: self._ask(url, query.name, params), urls)
        limit = values.get("limit")
        return rule.merge(answers, int(limit) if isinstance(limit, int) else None)

    def _each(self, call: Callable[[str], T], urls: Sequence[str] | None = None) -> list[T]:
        """``call(url)`` for every shard at once; the first failure is raised, after all have finished."""
        urls = list(urls if urls is not None else self.urls)
        with ThreadPoolExecutor(max_workers=len(urls) or 1, thread_name_prefix="agenttrail-shard") as pool:
            return list(pool.map(call, urls))
