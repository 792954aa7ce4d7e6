"""Commands that prove the trail complete and untouched: verify, prove, verify-proof, archive, restore, keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail._exceptions import IntegrityError
from agenttrail.cli.options import console, err_console, output_options, settings_from

_PUBLIC_KEY = click.option(
    "--public-key", type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Trusted PEM public key (default: the signing key beside the database).")


@contextmanager
def _progress(total: int, title: str) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on stderr; the yielded function advances it one step, naming the step."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as progress:
        task = progress.add_task(title, total=total)

        def step(name: str) -> None:
            progress.update(task, advance=1, description=f"{title}: {name}")
        yield step


def _fail_after_output(ctx: click.Context, sentence: str) -> None:
    """Exit 1 with ``sentence`` once the report has been printed (the group turns the error into one line)."""
    def fail() -> None:
        raise IntegrityError(sentence)
    ctx.call_on_close(fail)


@click.command()
@_PUBLIC_KEY
@output_options
@click.pass_context
def verify(ctx: click.Context, public_key: Path | None) -> Any:
    """Recompute every hash, Merkle root and signature; report gaps, breaks and tampered rows.

    Exits 1 when anything is wrong, saying in one sentence what and where.

    \b
    Examples:
      agenttrail verify
      agenttrail verify --public-key auditor/agenttrail-pub.pem --json > findings.json
    """
    from agenttrail.consumers.store import open_store
    from agenttrail.signing import trusted_public_key
    from agenttrail.verify import verify_store

    settings = settings_from(ctx)
    con = open_store(settings.db, read_only=True)
    try:
        with _progress(4, "verify") as step:
            report = verify_store(con, partial(trusted_public_key, public_key, settings.signing_key_path), step)
    finally:
        con.close()
    if report.problems:
        _fail_after_output(ctx, report.summary())
    else:
        err_console.print(report.summary())
    return report.table()


@click.group()
def keys() -> None:
    """The Ed25519 key that signs checkpoints.

    \b
    Examples:
      agenttrail keys export > agenttrail-pub.pem
    """


@keys.command("export")
@click.pass_context
def export_key(ctx: click.Context) -> None:
    """Print the public key (PEM) and its id; the private key never leaves its file.

    \b
    Examples:
      agenttrail keys export > agenttrail-pub.pem
    """
    from agenttrail.signing import load_or_create_signer, public_pem

    signer = load_or_create_signer(settings_from(ctx).signing_key_path)
    err_console.print(f"key id {signer.key_id}")
    console.print(public_pem(signer.public), end="", soft_wrap=True, highlight=False)


@click.command()
@click.argument("event_id")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE, not stdout.")
@click.pass_context
def prove(ctx: click.Context, event_id: str, output: Path | None) -> None:
    """Export an inclusion proof of one sealed event, checkable without the database.

    \b
    Examples:
      agenttrail prove 01931c1e-7d2a-7000-8000-5f0c2b1e9a77 > proof.json
      agenttrail verify-proof proof.json --public-key agenttrail-pub.pem
    """
    import json

    from agenttrail.consumers.store import open_store
    from agenttrail.proof import make_proof

    con = open_store(settings_from(ctx).db, read_only=True)
    try:
        text = json.dumps(make_proof(con, event_id), indent=2)
    finally:
        con.close()
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")


@click.command("verify-proof")
@click.argument("proof_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--public-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True,
              help="The PEM public key the checkpoint must be signed with.")
@output_options
def verify_proof(proof_file: Path, public_key: Path) -> Any:
    """Check an inclusion proof with the public key alone: no database, no broker.

    \b
    Examples:
      agenttrail verify-proof proof.json --public-key agenttrail-pub.pem
      agenttrail verify-proof proof.json --public-key agenttrail-pub.pem --json
    """
    import json

    import pyarrow as pa

    from agenttrail._exceptions import ProofError
    from agenttrail.proof import check_proof
    from agenttrail.signing import load_public_key

    try:
        proof = json.loads(proof_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProofError(f"{proof_file} is not a readable JSON proof ({type(exc).__name__}).") from None
    row = check_proof(proof, load_public_key(public_key))
    err_console.print(f"Event {row['event_id']} is included in checkpoint {row['checkpoint_id']}, "
                      f"signed by key {row['key_id']}.")
    shown = ("event_id", "store_seq", "tenant", "agent_id", "action_type", "action_name", "outcome",
             "cost_amount", "cost_currency", "stream_id", "stream_seq", "event_hash", "checkpoint_id",
             "sealed_at", "key_id")
    return pa.Table.from_pylist([{"field": name, "value": str(row.get(name))} for name in shown])


@click.command("archive")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.pass_context
def archive_command(ctx: click.Context, directory: Path) -> None:
    """Export sealed checkpoints as Parquet files plus a signed digest each (incremental).

    \b
    Examples:
      agenttrail archive /backups/agenttrail
      agenttrail --db shard-2.duckdb archive s3-mount/agenttrail/shard-2
    """
    from agenttrail.archive import archive, checkpoints_in
    from agenttrail.consumers.store import open_store
    from agenttrail.signing import load_or_create_signer

    settings = settings_from(ctx)
    signer = load_or_create_signer(settings.signing_key_path, create=False)
    con = open_store(settings.db, read_only=True)
    try:
        with _progress(len(checkpoints_in(con)), "archive") as step:
            written = archive(con, directory, signer, step)
    finally:
        con.close()
    err_console.print(f"{written} checkpoint(s) archived to {directory}.")


@click.command("restore")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@_PUBLIC_KEY
@output_options
@click.pass_context
def restore_command(ctx: click.Context, directory: Path, public_key: Path | None) -> Any:
    """Rebuild a new store at --db from an archive, check every signature, then verify it.

    \b
    Examples:
      agenttrail --db restored.duckdb restore /backups/agenttrail --public-key agenttrail-pub.pem
      agenttrail restore /backups/agenttrail     # ./agenttrail.duckdb was lost; its key file is trusted
    """
    from agenttrail.archive import restore
    from agenttrail.signing import trusted_public_key

    settings = settings_from(ctx)
    public = trusted_public_key(public_key, settings.signing_key_path)
    with _progress(len(list(directory.glob("checkpoint-*.digest.json"))), "restore") as step:
        report = restore(directory, settings, public, step)
    if report.problems:
        _fail_after_output(ctx, report.summary())
    else:
        err_console.print(f"Restored {settings.db}. {report.summary()}")
    return report.table()
