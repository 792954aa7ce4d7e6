"""Where a CLI query runs: through the server when one owns the database, else on the file.

DuckDB lets one process write a file and no other process open it, so while
`agenttrail serve` runs, the CLI asks it over HTTP; while `agenttrail consume`
runs (no HTTP), opening the file fails with a sentence naming that process.
With ``AGENTTRAIL_SHARDS`` (the URLs of `serve --shard` processes), named queries
read every shard through ``agenttrail.shard_reader``; the other reads (SQL, status,
blast radius, backtest) stay with the one server or file that --db names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow as pa
import pyarrow.ipc

from agenttrail._exceptions import BrokerUnavailableError, QueryError, ServerError
from agenttrail.api import ARROW_STREAM
from agenttrail.blast_radius import TIMELINE_LIMIT, blast_radius
from agenttrail.broker import resolve_bootstrap
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store, restrict_to_reading
from agenttrail.health import measure, measure_once, problems, report
from agenttrail.queries import run_query, run_sql
from agenttrail.runtime import read_live_state
from agenttrail.shard_reader import ShardReader


class QueryClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        server = read_live_state(settings.server_state_file)
        self.server_url: str | None = server["url"] if server else None
        self.shards = ShardReader(settings.shards, self._ask_shard, self._describe_shard) if settings.shards else None

    @property
    def served(self) -> bool:
        """Whether named queries go to servers (the one that owns --db, or the shards), not to the file."""
        return self.server_url is not None or self.shards is not None

    def query(self, name: str, params: dict[str, Any]) -> pa.Table:
        if self.shards is not None:
            return self.shards.query(name, params)
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

    def blast_radius(self, fingerprint: str, params: dict[str, str | None]) -> dict[str, Any]:
        """A token's blast radius as its JSON document (``agenttrail.blast_radius``); ``params``: since, as_of
        (ISO times) and limit, as ``GET /v1/tokens/{fingerprint}/blast-radius`` takes them."""
        if self.server_url:
            clean = {k: v for k, v in params.items() if v is not None}
            path = f"/v1/tokens/{quote(fingerprint, safe=':')}/blast-radius"
            return dict(self._send("GET", path, accept="application/json", params=clean).json())
        with self._open() as con:
            return blast_radius(
                con, fingerprint, since=_moment(params.get("since")), as_of=_moment(params.get("as_of")),
                limit=int(params.get("limit") or TIMELINE_LIMIT),
                sensitive_actions=self.settings.anomalies.new_behaviour.sensitive_actions).to_dict()

    def backtest(self, text: str, *, since: datetime | None, tenant: str) -> pa.Table:
        """A rule file's backtest through the server that owns the database (see ``server_url``)."""
        body = {"text": text, "since": since.isoformat() if since else None, "tenant": tenant}
        return self._request("POST", "/v1/policy/backtest", json=body, timeout=None)

    def _get(self, path: str, params: Mapping[str, Any], *, url: str | None = None) -> pa.Table:
        clean = {k: str(v) for k, v in params.items() if v is not None}
        return self._request("GET", path, params=clean, url=url)

    def _ask_shard(self, url: str, name: str, params: Mapping[str, str | None]) -> pa.Table:
        return self._get(f"/v1/queries/{name}", params, url=url)

    def _describe_shard(self, url: str) -> dict[str, Any]:
        return dict(self._send("GET", "/v1/shard", accept="application/json", url=url).json())

    def status(self) -> dict[str, Any]:
        """What ``GET /v1/status`` answers; with no server, measured now from the file and the broker."""
        if self.server_url:
            return dict(self._send("GET", "/v1/status", accept="application/json").json())
        with self._open() as con:
            try:
                bootstrap = resolve_bootstrap(self.settings)
            except BrokerUnavailableError as exc:
                snapshot = measure(con, partial(_raise, exc))
            else:
                snapshot = measure_once(self.settings, bootstrap, con, Materializer.topics_for(self.settings))
        stopped = (f"No agenttrail serve is running for {self.settings.db}: start one, or `agenttrail consume` "
                   "with a broker of your own.")
        found = problems(snapshot, max_lag=self.settings.max_lag, max_age_s=60, materializer_problem=stopped)
        return report(snapshot, found, max_lag=self.settings.max_lag, materializer="not running", pipeline={})

    def _request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                 json: dict[str, Any] | None = None, timeout: float | None = 60, url: str | None = None) -> pa.Table:
        response = self._send(method, path, accept=ARROW_STREAM, params=params, json=json, timeout=timeout, url=url)
        return pa.ipc.open_stream(response.content).read_all()

    def _send(self, method: str, path: str, *, accept: str, params: dict[str, str] | None = None,
              json: dict[str, Any] | None = None, timeout: float | None = 60, url: str | None = None,
              ) -> httpx.Response:
        """``url``: another server than ``server_url`` (a shard's)."""
        base = url or self.server_url
        headers = {"Accept": accept}
        if self.settings.api_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.api_token.get_secret_value()}"
        try:
            response = httpx.request(method, f"{base}{path}", params=params, json=json, headers=headers,
                                     timeout=timeout)
        except httpx.HTTPError as exc:
            raise ServerError(
                f"The agenttrail server at {base} did not answer ({type(exc).__name__})."
            ) from None
        if response.status_code == 401:
            raise ServerError("The server requires a token: set AGENTTRAIL_API_TOKEN.")
        if response.status_code >= 400:
            detail = response.json().get("detail", response.text) if response.headers.get(
                "content-type", "").startswith("application/json") else response.text
            raise QueryError(str(detail))
        return response


def _moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def _raise(error: Exception) -> dict[tuple[str, int], int]:
    raise error
