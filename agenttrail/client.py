"""Where a CLI query runs: through the server when one owns the database, else on the file.

DuckDB lets one process write a file and no other process open it, so while
`agenttrail serve` runs, the CLI asks it over HTTP; while `agenttrail consume`
runs (no HTTP), opening the file fails with a sentence naming that process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.ipc

from agenttrail._exceptions import QueryError, ServerError
from agenttrail.api import ARROW_STREAM
from agenttrail.config import Settings
from agenttrail.consumers.store import open_store, restrict_to_reading
from agenttrail.queries import run_query, run_sql
from agenttrail.runtime import read_live_state


class QueryClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        server = read_live_state(settings.server_state_file)
        self.server_url: str | None = server["url"] if server else None

    def query(self, name: str, params: dict[str, Any]) -> pa.Table:
        if self.server_url:
            return self._get(f"/v1/queries/{name}", params)
        with self._open() as con:
            return run_query(con, name, params)

    def sql(self, statement: str) -> pa.Table:
        if self.server_url:
            return self._get("/v1/sql", {"q": statement})
        with self._open() as con:
            return run_sql(con, statement)

    def _open(self) -> Any:
        con = open_store(self.settings.db, read_only=True)
        restrict_to_reading(con)
        return con

    def backtest(self, text: str, *, since: datetime | None, tenant: str) -> pa.Table:
        """A rule file's backtest through the server that owns the database (see ``server_url``)."""
        body = {"text": text, "since": since.isoformat() if since else None, "tenant": tenant}
        return self._request("POST", "/v1/policy/backtest", json=body, timeout=None)

    def _get(self, path: str, params: dict[str, Any]) -> pa.Table:
        clean = {k: str(v) for k, v in params.items() if v is not None}
        return self._request("GET", path, params=clean)

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                 json: dict[str, Any] | None = None, timeout: float | None = 60) -> pa.Table:
        headers = {"Accept": ARROW_STREAM}
        if self.settings.api_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_token.get_secret_value()}"
        try:
            response = httpx.request(method, f"{self.server_url}{path}", params=params, json=json, headers=headers,
                                     timeout=timeout)
        except httpx.HTTPError as exc:
            raise ServerError(
                f"The agenttrail server at {self.server_url} did not answer ({type(exc).__name__})."
            ) from None
        if response.status_code == 401:
            raise ServerError("The server requires a token: set AGENTTRAIL_API_TOKEN.")
        if response.status_code >= 400:
            detail = response.json().get("detail", response.text) if response.headers.get(
                "content-type", "").startswith("application/json") else response.text
            raise QueryError(str(detail))
        return pa.ipc.open_stream(response.content).read_all()
