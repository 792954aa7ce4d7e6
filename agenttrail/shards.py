"""Scale-out: which partitions, tenants and governance changes one materializer (a shard) owns.

``serve --shard K/N`` (or ``consume``) makes a materializer shard K of N: it reads the
partitions p of the actions topic with ``p % N == K - 1`` into its own DuckDB file,
so N processes split a topic between them with no partition read twice or left out.
The partition key is the tenant, so a tenant's events, chains, budgets, detectors and
emitter streams all live in one partition, hence in one shard: no projection ever
needs another shard's rows.

Governance changes travel on the control topic, keyed by tenant too. Every shard
reads every control partition and keeps the changes of the tenants it owns (the
tenant's partition of the actions topic, by the producer's own partitioner), plus
those for every tenant (``*``: rule sets, leak reports of tokens nobody's events
carried), each at its place in the shard's own store order. A read of every tenant
recorded by a server (``access.read`` with tenant ``*``) concerns no shard's state, so
only the shard that owns the key ``*`` keeps it, once. So no change is applied twice,
and none acts (a revocation, its notice, its alert) in a shard without the tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from agenttrail._exceptions import ShardError
from agenttrail.config import Settings
from agenttrail.consumers.store import sql
from agenttrail.kafka import partition_of

GLOBAL_TENANT = "*"  # a governance change for every tenant
_RECORDED_READ = "access.read"
_STORE_KEY = "shard"  # store_meta: "K/N of P" for a shard's store, "all" for one that reads every partition
_ALL = "all"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: it owns the partitions p with ``p % count == index - 1``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"``; the setting's validator has checked the shape and that 1 <= K <= N."""
        index, count = (int(part) for part in text.split("/"))
        return cls(index, count)

    def owns(self, partition: int) -> bool:
        return partition % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(settings: Settings) -> Shard | None:
    """This process's shard (``AGENTTRAIL_SHARD`` / ``--shard``), or None when it reads every partition (1/1 does)."""
    shard = Shard.parse(settings.shard) if settings.shard else None
    return shard if shard is not None and shard.count > 1 else None


def partition_filter(settings: Settings) -> Callable[[str, int], bool]:
    """Whether a materializer with ``settings`` reads (topic, partition): all of control, its share of actions."""
    shard, actions = shard_of(settings), settings.topic("actions")
    return lambda topic, partition: shard is None or topic != actions or shard.owns(partition)


@dataclass(frozen=True)
class Ownership:
    """The tenants a materializer stores: those in its ``shard``'s partitions of the actions topic's
    ``partitions`` (every tenant when ``shard`` is None)."""

    shard: Shard | None
    partitions: int

    @property
    def owned_partitions(self) -> list[int]:
        return [p for p in range(self.partitions) if self.shard is None or self.shard.owns(p)]

    def owns_tenant(self, tenant: str) -> bool:
        return self.shard is None or self.shard.owns(partition_of(tenant.encode("utf-8"), self.partitions))

    def keeps_control(self, tenant: str | None, kind: str | None) -> bool:
        """Whether this shard stores a control event of ``tenant`` and ``kind`` (None: the record is unreadable).

        An unkeyed record that cannot be read is quarantined by every shard: none can tell whose it is.
        """
        if tenant is None:
            return True
        if tenant == GLOBAL_TENANT and kind != _RECORDED_READ:
            return True
        return self.owns_tenant(tenant)

    def acts_on(self, tenant: str) -> bool:
        """Whether this shard raised the notices of ``tenant``'s tokens and agents itself (``*`` is every shard's)."""
        return tenant == GLOBAL_TENANT or self.owns_tenant(tenant)


def check_store_shard(con: duckdb.DuckDBPyConnection, db: Path, ownership: Ownership, *, filled: bool) -> None:
    """Refuse to fill a store as another shard than the one that filled it; the first start records which.

    A shard's store holds its tenants' whole history, so reading other partitions into it would
    mix two shards' tenants, and a changed partition count moves tenants between partitions (the
    partitioner is modulo the count), splitting a tenant's history between stores. ``filled`` says
    the store already holds offsets: one made before shards were recorded read every partition.
    """
    wanted = _ALL if ownership.shard is None else f"{ownership.shard} of {ownership.partitions}"
    found = con.execute(sql("store_meta_value"), {"key": _STORE_KEY}).fetchall()
    recorded = found[0][0] if found else (_ALL if filled else None)
    if recorded in (None, wanted):
        con.execute(sql("record_store_meta"), {"key": _STORE_KEY, "value": wanted})
        return
    if recorded == _ALL:
        raise ShardError(f"{db} holds every partition's tenants, so it cannot become shard {ownership.shard}; "
                         f"give shard {ownership.shard} a store of its own (a new --db).")
    shard, _, partitions = recorded.partition(" of ")
    if ownership.shard is not None and str(ownership.shard) == shard:
        raise ShardError(f"{db} was filled from {partitions} partitions and the actions topic now has "
                         f"{ownership.partitions}: tenants move between partitions when the count changes, so their "
                         "history would split; materialize the new layout into new stores.")
    started = f"as shard {ownership.shard}" if ownership.shard is not None else "without --shard"
    raise ShardError(f"{db} was filled as shard {shard} (of {partitions} partitions); started {started} it would "
                     f"mix other shards' tenants into it: start it with --shard {shard}, or give this one a new --db.")
