"""`agenttrail rebuild`: replay the stored events through the projections, or check that they agree."""

from __future__ import annotations

import time

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail._exceptions import RebuildMismatchError, StoreError, StoreLockedError
from agenttrail.cli.options import console, err_console, settings_from
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild, rebuild
from agenttrail.consumers.store import SCHEMA_VERSION, open_store
from agenttrail.runtime import read_live_state


@click.command("rebuild")
@click.option("--check", "check_only", is_flag=True,
              help="Rebuild in a transaction that is rolled back and report the tables that differ.")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Events per replayed batch (default: AGENTTRAIL_BATCH_MAX_RECORDS).")
@click.pass_context
def rebuild_command(ctx: click.Context, check_only: bool, batch_size: int | None) -> None:
    """Clear every projection's tables and replay all stored events into them, in store order.

    Needs the database file to itself: stop `agenttrail serve` or `consume` first.
    With --check nothing changes; a difference exits with status 1.

    \b
    Examples:
      agenttrail rebuild
      agenttrail rebuild --check
    """
    settings = settings_from(ctx)
    server = read_live_state(settings.server_state_file)
    if server:
        raise StoreLockedError(f"agenttrail serve at {server['url']} holds {settings.db}, and rebuild needs "
                               "the file itself: stop serve, rebuild, then start it again.")
    if not settings.db.exists():
        raise StoreError(f"There is no database at {settings.db} to rebuild.")
    projections = default_projections(settings)
    size = batch_size or settings.batch_max_records
    con = open_store(settings.db, memory_limit=settings.duckdb_memory_limit)
    try:
        [(total,)] = con.execute("SELECT count(*) FROM events").fetchall()
        started = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task("checking" if check_only else "rebuilding", total=total)

            def advance(count: int) -> None:
                progress.advance(task, count)

            if check_only:
                differences = check_rebuild(con, projections, batch_size=size, on_progress=advance)
            else:
                rebuild(con, projections, batch_size=size, on_progress=advance)
                differences = []
    finally:
        con.close()
    tables = ", ".join(table for projection in projections for table in projection.tables)
    if differences:
        found = "; ".join(f"{d.table}: {d.live_only} live rows not rebuilt, {d.rebuilt_only} rebuilt rows not live"
                          for d in differences)
        raise RebuildMismatchError(f"The live tables differ from a rebuild of {total} events ({found}).")
    verb = "match a rebuild of" if check_only else "were rebuilt from"
    console.print(f"{tables} {verb} {total:,} events ({time.perf_counter() - started:.1f} s).")


@click.command("migrate")
@click.pass_context
def migrate_command(ctx: click.Context) -> None:
    """Upgrade a store written by an older release to this release's schema, after a backup.

    Copies the file to <db>.v<old version>.backup first, then runs each named step
    in order; a store whose events predate projections is rebuilt from its events.
    `agenttrail serve` and `consume` do this themselves when they find an older store.
    Needs the database file to itself.

    \b
    Examples:
      agenttrail migrate
      agenttrail --db /var/lib/agenttrail/acme.duckdb migrate
    """
    from agenttrail.consumers.migrations import migrate

    settings = settings_from(ctx)
    if not settings.db.exists():
        raise StoreError(f"There is no database at {settings.db} to migrate.")
    with Progress(TextColumn("migrating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        task = progress.add_task("migrating", total=None)
        done = migrate(settings, on_progress=lambda n: progress.advance(task, n))
    console.print(done.summary(settings.db) if done else
                  f"{settings.db} is already at schema version {SCHEMA_VERSION}; nothing to do.")

