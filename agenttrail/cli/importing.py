"""`agenttrail import`: other systems' audit logs into the trail (see ``agenttrail.cloudtrail_import``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import pyarrow as pa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail.cli.options import err_console, kafka_options, output_options, settings_from


@click.group("import")
def import_group() -> None:
    """Bring audit logs from elsewhere into the trail: each record once, bad records reported.

    \b
    Examples:
      agenttrail import cloudtrail ./AWSLogs/111122223333/CloudTrail --tenant acme
    """


@import_group.command("cloudtrail")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--tenant", required=True, help="The tenant the records belong to.")
@click.option("--wait", "wait_s", type=click.FloatRange(0), default=60.0, show_default=True,
              help="Seconds to wait for the store to hold what was sent (when `agenttrail serve` runs).")
@kafka_options
@output_options
@click.pass_context
def cloudtrail(ctx: click.Context, paths: tuple[Path, ...], tenant: str, wait_s: float, **options: Any) -> pa.Table:
    """Import AWS CloudTrail log files (.json or .json.gz, files or directories) as agent actions.

    An assumed-role session is the agent (its role session name), the STS
    source identity the person it acts for; access keys are kept as
    fingerprints only. Importing the same files again adds nothing. Records
    that cannot be imported are listed with their file and reason; the rest
    are imported anyway.

    \b
    Examples:
      agenttrail import cloudtrail ./AWSLogs/111122223333/CloudTrail --tenant acme
      agenttrail import cloudtrail 111122223333_CloudTrail_eu-west-1_20261201T1005Z_x.json.gz --tenant acme --json
    """
    from agenttrail.cloudtrail_import import BadRecord, import_cloudtrail, log_files

    settings = settings_from(ctx, **options)
    columns = (TextColumn("[bold]cloudtrail[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("files", total=len(log_files(paths)))
        report = import_cloudtrail(paths, settings, tenant, wait_s=wait_s, on_file=lambda r: bar.update(
            task, completed=r.files, description=f"{r.records:,} records, {r.emitted:,} new, {len(r.bad)} bad"))
    waited = "" if report.waiting is None else (
        "; all stored" if not report.waiting else f"; {report.waiting:,} not stored after {wait_s:g} s")
    unsent = f"; {report.unsent:,} wait in the spool for Kafka" if report.unsent else ""
    err_console.print(f"Imported {report.emitted:,} new events from {report.records:,} records in {report.files:,} "
                      f"files ({report.already:,} already in the trail, {len(report.bad):,} bad){unsent}{waited}.")
    fields = list(BadRecord.__dataclass_fields__)
    return pa.Table.from_pylist([asdict(bad) for bad in report.bad],
                                schema=pa.schema([(name, pa.int64() if name == "record" else pa.string())
                                                  for name in fields]))
