"""What every command shares: the consoles, settings from the group's --db, and option sets.

Commands live in small modules beside this one (``running``, ``reading``, …) and use
these decorators, so ``--format``/``--json``/``--csv`` and the Kafka connection flags
mean the same thing everywhere.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from agenttrail._exceptions import QueryError
from agenttrail.config import Settings, load_settings
from agenttrail.output import FORMATS, render
from agenttrail.timeparse import parse_time

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
err_console = Console(stderr=True)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """The settings for this invocation: the environment, the group's --db, then ``overrides``."""
    return load_settings(db=ctx.find_root().obj["db"], **overrides)


def format_options(command: F) -> F:
    """--format/--json/--csv/--output, passed to the command as ``fmt`` and ``output``.

    For commands that draw their own view (e.g. a tree); plain listings use ``output_options``.
    """
    for decorator in reversed([
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True),
        click.option("--json", "fmt", flag_value="json", help="Shortcut for --format json."),
        click.option("--csv", "fmt", flag_value="csv", help="Shortcut for --format csv."),
        click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (needed for parquet)."),
    ]):
        command = decorator(command)
    return command


def output_options(command: F) -> F:
    """The ``format_options``, shared by every listing command; the command returns a table."""
    @format_options
    @functools.wraps(command)
    def wrapper(*args: Any, fmt: str, output: Path | None, **kwargs: Any) -> Any:
        table = command(*args, **kwargs)
        render(table, fmt, output=output, console=console)
    return wrapper  # type: ignore[return-value]


def write_document(text: str, output: Path | None) -> None:
    """A command's whole answer (a JSON document, an HTML page) to stdout, or to ``output``."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise QueryError(f"Cannot write {output}: {exc.strerror or exc}.") from None


def kafka_options(command: F) -> F:
    """Where Kafka is and how to reach it; every value can come from AGENTTRAIL_* instead."""
    for decorator in reversed([
        click.option("--bootstrap", envvar="AGENTTRAIL_BOOTSTRAP", help="Kafka bootstrap servers, host:port[,...]."),
        click.option("--security-protocol", type=click.Choice(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])),
        click.option("--sasl-mechanism", type=click.Choice(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])),
        click.option("--sasl-username"),
        click.option("--ssl-cafile", type=click.Path(path_type=Path, exists=True)),
        click.option("--ssl-certfile", type=click.Path(path_type=Path, exists=True)),
        click.option("--ssl-keyfile", type=click.Path(path_type=Path, exists=True)),
    ]):
        command = decorator(command)
    return command


def shard_option(command: F) -> F:
    """--shard K/N: materialize only one shard's partitions of the actions topic into this --db."""
    return click.option(
        "--shard", envvar="AGENTTRAIL_SHARD", metavar="K/N",
        help="Be shard K of N: store only the partitions p of the actions topic with p % N == K-1, in this --db "
             "(each shard its own). Needs a shared --bootstrap.")(command)


def listing_filters(command: F) -> F:
    """--tenant, --since and --limit for commands that list a log newest first; see ``filter_params``."""
    for decorator in reversed([
        click.option("--tenant", help="Only this tenant."),
        click.option("--since", help="Start: 30m, 2h, 7d or an ISO date/time."),
        click.option("--limit", type=click.IntRange(1), default=1000, show_default=True),
    ]):
        command = decorator(command)
    return command


def filter_params(tenant: str | None, since: str | None, limit: int, **more: str | None) -> dict[str, str | None]:
    """The named-query parameters for ``listing_filters`` (``--since`` checked and made absolute)."""
    return {"tenant": tenant, "limit": str(limit),
            "since": parse_time(since, label="--since").isoformat() if since else None, **more}
