"""The `agenttrail` command: a thin click layer over the importable library.

Each module beside this one holds one family of commands; this module draws
the group and attaches them. Every error we anticipate is an
``AgentTrailError`` whose message is one sentence for a person; the group
prints it and exits 1, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from rich.logging import RichHandler

from agenttrail._exceptions import AgentTrailError
from agenttrail.cli import (
    anomalies,
    budgets,
    chains,
    enforcement,
    exporting,
    governance,
    importing,
    integrity,
    leaks,
    policy,
    privacy,
    reading,
    rebuilding,
    running,
)
from agenttrail.cli.options import err_console


class _Group(click.Group):
    """Turns AgentTrailError into one sentence and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgentTrailError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(path_type=Path), envvar="AGENTTRAIL_DB",
              default="agenttrail.duckdb", show_default=True, help="The DuckDB store.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
@click.version_option(package_name="agenttrail")
@click.pass_context
def cli(ctx: click.Context, db: Path, verbose: bool) -> None:
    """AgentTrail: which agent did what, for whom, where, at what cost, with proof.

    \b
    Start here:
      agenttrail demo                 # embedded broker + simulated fleet -> ./agenttrail.duckdb
      agenttrail trail --agent research-eu-1 --since 2h
      agenttrail serve                # broker, materializer and HTTP API in one process
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False)])
    if not verbose:
        logging.getLogger("kafka").setLevel(logging.ERROR)
        # librdkafka logs each failed reconnect as an error; our own sentence says what matters, once.
        logging.getLogger("agenttrail.kafka.librdkafka").setLevel(logging.CRITICAL)
    ctx.obj = {"db": db}


for _command in (
    running.demo, running.serve, running.consume, running.status, running.broker, running.bench,
    reading.trail, reading.query, reading.sql, reading.quarantine,
    chains.chain, chains.principal, rebuilding.rebuild_command, rebuilding.migrate_command,
    governance.regions, governance.control, budgets.budget, budgets.alerts, budgets.webhooks,
    anomalies.anomalies,
    policy.policy, enforcement.revoke, enforcement.suspend, enforcement.reinstate, enforcement.token,
    enforcement.revocations, leaks.leak, leaks.blast_radius_command,
    integrity.verify, integrity.prove, integrity.verify_proof, integrity.archive_command,
    integrity.restore_command, integrity.keys, exporting.export_command, importing.import_group,
    privacy.erase, privacy.retention,
):
    cli.add_command(_command)


def main() -> None:
    cli.main(prog_name="agenttrail")
