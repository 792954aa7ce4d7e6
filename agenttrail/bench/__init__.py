"""`agenttrail bench`: how fast each part of the pipeline is, against the Kafka client's own ceiling.

One run, on a private embedded broker and a temporary directory, measures:

(a) ceiling      pre-encoded events produced and consumed with kafka-python alone (the same
                 acks=all idempotent producer and the same consumer settings), no processing;
(b) sdk          the agent's view: the cost of an async ``Trail.emit`` call and of a whole
                 ``with trail.action(...)`` block, and events/s from the first emit to ``flush``;
(c) materializer events/s from a pre-loaded topic to committed DuckDB rows, and where the time goes;
(e) naive        a deliberately plain materializer on the same topic, as the baseline for (c);
(d) query        the ``trail`` named query for one agent over ``query_events`` stored events.

``--soak`` runs instead ``bench.soak``: N events through the broker and `agenttrail serve`,
throughput and the server's memory over time, and whether that memory stayed flat.

Every stage has its own topic prefix, so no stage sees another's records, except that
(c) and (e) both read the topic (a) wrote, each from offset 0 into its own DuckDB file.
"Caught up" is always decided by counting consumed records or stored rows: the embedded
broker's high watermarks can lag acknowledged offsets.

Speed is measured, never asserted: targets are printed with a pass/fail mark.
"""

from agenttrail.bench.report import (
    TARGETS,
    BenchError,
    BenchReport,
    CeilingResult,
    MaterializerResult,
    Measure,
    NaiveResult,
    QueryResult,
    SdkResult,
)
from agenttrail.bench.run import run_bench, run_soak_bench
from agenttrail.bench.soak_table import render_soak, soak_report_json
from agenttrail.bench.table import render_report, report_json

__all__ = [
    "TARGETS",
    "BenchError",
    "BenchReport",
    "CeilingResult",
    "MaterializerResult",
    "Measure",
    "NaiveResult",
    "QueryResult",
    "SdkResult",
    "render_report",
    "render_soak",
    "report_json",
    "run_bench",
    "run_soak_bench",
    "soak_report_json",
]
