"""Named read-only queries over the store (``*.sql`` in this package) and checked ad-hoc SQL.

See ``agenttrail.queries.runner`` for the query-file header grammar.
"""

from agenttrail.queries.runner import (
    QueryInfo,
    QueryParam,
    get_query,
    list_queries,
    run_query,
    run_sql,
)

__all__ = ["QueryInfo", "QueryParam", "get_query", "list_queries", "run_query", "run_sql"]
