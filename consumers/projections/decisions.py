"""Policy rules and the enforcement they ask for, judged in store order whatever the batch boundaries.

A rule may read whether an event's token was revoked or its agent suspended as of
that event (``token_revoked``, ``agent_suspended``), and enforcement acts on the
rules' decisions. So a stop made at one event of a batch (a rule's, a person's, a
budget's, a leak report's) must be seen by the rules at the events after it, as it
would be had those come in a later batch. Both projections run over the batch;
when a stop landed before its last event, what they wrote after the stop is undone
(every table they write is history keyed by store_seq: ``decisions_rewind.sql``)
and the rest of the batch is judged again, now seeing it. A batch without a stop,
the common case, is judged once; one with k stops at most k + 1 times.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.projections.enforcement import Enforcement
from agenttrail.consumers.projections.policy import Policy
from agenttrail.consumers.scripts import run_script, scalar


class Decisions:
    name = "decisions"
    tables = Policy.tables + Enforcement.tables

    def __init__(self) -> None:
        self.policy = Policy()
        self.enforcement = Enforcement()

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        rest = batch
        while (span := rest.seq_span()) is not None:
            self.policy.apply(rest, tx)
            self.enforcement.apply(rest, tx)
            if not rest.events.num_rows:
                return
            last_event = pc.max(rest.events["store_seq"]).as_py()
            stop = scalar(tx, "decisions_first_stop", {"first_seq": span[0], "last_seq": span[1],
                                                       "last_event_seq": last_event})
            if stop is None:
                return
            run_script(tx, "decisions_rewind", rewind_to=pa.table({"after": [stop]}))
            rest = rest.after(stop)
