"""`agenttrail export`: the trail to a SIEM, as OCSF or JSON lines (see ``agenttrail.export``)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail._exceptions import ExportError
from agenttrail.cli.options import err_console, settings_from
from agenttrail.timeparse import parse_time


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["ocsf", "jsonl"]), default="ocsf", show_default=True,
              help="OCSF 1.6 records (API Activity, Authentication) or the stored rows as JSON lines.")
@click.option("--since", help="Only events that occurred from then: 30m, 2h, 7d or an ISO date/time.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--cursor", help="Resume after the last event this named cursor exported, and move it on.")
@click.option("--follow", is_flag=True, help="Keep sending new events as they are stored, until Ctrl-C.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Append to FILE instead of stdout.")
@click.option("--to", "url", help="POST each chunk (NDJSON) to this URL; AGENTTRAIL_EXPORT_TOKEN is sent as a "
                                  "bearer token.")
@click.pass_context
def export_command(ctx: click.Context, fmt: str, since: str | None, tenant: str | None, cursor: str | None,
                   follow: bool, output: Path | None, url: str | None) -> None:
    """Send stored events to a SIEM, in store order, one JSON document per line.

    Delivery is at least once: a chunk is delivered, then the cursor moves, so
    after a crash the last chunk may come again; drop repeats by event id
    (OCSF metadata.uid). Through the server when one owns the database.

    \b
    Examples:
      agenttrail export --format ocsf --since 1d > trail.ocsf.jsonl
      agenttrail export --cursor splunk --follow --to https://siem.example/ingest
      agenttrail export --format jsonl --tenant acme --cursor nightly -o /archive/acme.jsonl
    """
    from agenttrail.client import QueryClient
    from agenttrail.export import Cursors, Sink, StreamSink, WebhookSink, export

    settings = settings_from(ctx)
    start = parse_time(since, label="--since").isoformat() if since else None
    cursors = Cursors(settings.db.with_name(settings.db.stem + ".export-cursors.json")) if cursor else None
    try:
        destination = output.open("a", encoding="utf-8") if output else contextlib.nullcontext(sys.stdout)
    except OSError as exc:
        raise ExportError(f"Cannot write {output} ({exc.strerror}); pick another --output.") from None
    with destination as stream:
        token = settings.export_token.get_secret_value() if settings.export_token else None
        sink: Sink = WebhookSink(url, token=token) if url else StreamSink(stream)
        with Progress(TextColumn("[bold]export[/]"), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=False) as bar:
            task = bar.add_task("export", total=None)
            try:
                sent = export(QueryClient(settings), sink, fmt=fmt, cursors=cursors, cursor=cursor, tenant=tenant,
                              since=start, follow=follow, on_chunk=lambda n: bar.advance(task, n))
            except KeyboardInterrupt:  # how --follow ends: what was delivered, the cursor already says
                sent = int(bar.tasks[0].completed)
    err_console.print(f"Exported {sent:,} events" + (f"; cursor {cursor!r} is past them." if cursor else "."))

