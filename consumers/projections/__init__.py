"""The derived tables kept in step with the stored events, applied in this order to every batch.

A projection is a small module with one job. It implements ``apply(batch, tx)``
(see ``agenttrail.consumers.batch.Projection``): it sees the batch's newly stored
events inside the batch's transaction and may read and write only its own tables,
listed in ``tables`` so that ``agenttrail rebuild`` can clear and replay them.
Its DDL lives in its own ``consumers/sql/schema/NN_<name>.sql``.

A projection depends only on the stored total order (``store_seq``), never on
batch boundaries or the wall clock, so a rebuild reproduces the live tables.
Later projections may read the tables of earlier ones.
"""

from __future__ import annotations

from agenttrail.config import Settings
from agenttrail.consumers.batch import Projection
from agenttrail.consumers.projections.anomalies import Anomalies
from agenttrail.consumers.projections.budget_alerts import BudgetAlerts
from agenttrail.consumers.projections.chains import ChainsProjection
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.projections.control_history import (
    ANOMALY_ACKS,
    BUDGETS,
    LEAK_REPORTS,
    RETENTION_PERIODS,
    TENANT_REGIONS,
)
from agenttrail.consumers.projections.decisions import Decisions
from agenttrail.consumers.projections.retention import Retention
from agenttrail.consumers.projections.spend import Spend
from agenttrail.consumers.projections.streams import StreamIntegrity
from agenttrail.consumers.projections.subjects import Subjects


def default_projections(settings: Settings) -> list[Projection]:
    """Every projection a materializer runs, in order: the views of the events, then retention runs (after every
    view saw the batch), and the sealer last, so it seals what the others saw."""
    views: list[Projection] = [
        ChainsProjection(), StreamIntegrity(), TENANT_REGIONS, BUDGETS, Subjects(settings), BudgetAlerts(), Spend(),
        Anomalies(settings.anomalies), ANOMALY_ACKS, LEAK_REPORTS, RETENTION_PERIODS, Decisions(),
    ]
    sealer = CheckpointSealer(settings)
    return [*views, Retention(views, sealer), sealer]
