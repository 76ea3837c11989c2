"""``flask consents ...``: prove the ledger (verify, checkpoint) and say how to check it."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from app import audit
from app.consent import chain, checkpoints, ledger_signing, receipts, verifications
from app.extensions import db

consents_cli = AppGroup("consents", help="The consent ledger: verify, checkpoint, receipts.")


def public_key_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--public-key",
        "public_key_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="PEM public key to check with (default: the configured signing key's).",
    )(function)


def checking_key(public_key_file: Path | None) -> ledger_signing.Ed25519PublicKey:
    if public_key_file is None:
        return ledger_signing.public_key()
    try:
        return ledger_signing.load_public_key(public_key_file.read_text())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-key") from exc


@consents_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A checkpoint file: the chain must still pass through the head it signed.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Rehash only the records after a signed checkpoint (--checkpoint's, or the latest "
    "stored one); the records up to it are taken on its signature.",
)
@public_key_option
def verify_command(
    checkpoint_file: Path | None, incremental: bool, public_key_file: Path | None
) -> None:
    """Walk the hash chain; exit 1 naming the first record that does not match."""
    claims = None
    try:
        if checkpoint_file is not None:
            claims = checkpoints.read_checkpoint(
                checkpoint_file.read_text(), checking_key(public_key_file)
            )
        elif incremental:
            claims = checkpoints.latest_claims(checking_key(public_key_file))
    except ledger_signing.SignatureInvalid as exc:
        raise click.ClickException(f"the checkpoint is not genuine: {exc}") from exc
    signed = (claims.sequence, claims.hash) if claims is not None else None
    if incremental:
        if claims is None:
            click.echo("No signed checkpoint yet: every record is rehashed.")
        result = chain.verify(since=signed)
    else:
        result = chain.verify(expect=signed)
    # The verdict, for /metrics and the alert on a broken or unverified ledger.
    verifications.note(result, "flask consents verify")
    db.session.commit()
    if result.problem is not None:
        problem = result.problem
        who = f" ({problem.record_id})" if problem.record_id else ""
        click.echo(
            f"BROKEN at record {problem.sequence}{who}: {problem.reason}. "
            f"{result.records} record(s) before it verify.",
            err=True,
        )
        raise SystemExit(1)
    if result.trusted_up_to and claims is not None:
        click.echo(
            f"OK: {result.records} record(s) verify incrementally: 1 to {result.trusted_up_to} "
            f"on the signed checkpoint of {claims.created_at}, the "
            f"{result.records - result.trusted_up_to} after it rehashed; head {result.head}. "
            "Without --incremental every record is rehashed."
        )
        return
    click.echo(f"OK: {result.records} record(s) verify; head {result.head}")


@consents_cli.command("checkpoint")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the signed checkpoint here (default: print it).",
)
def checkpoint_command(output: Path | None) -> None:
    """Sign the chain head (Ed25519 JWS) to keep somewhere the ledger's owner can't change.

    The records since the last checkpoint are checked first, and the chain must still pass
    through it: the checkpoints vouch for one another, so a million records need not be
    rehashed each time.
    """
    try:
        claims = checkpoints.latest_claims(ledger_signing.public_key())
    except ledger_signing.SignatureInvalid as exc:
        raise click.ClickException(f"the last checkpoint is not genuine: {exc}") from exc
    result = chain.verify(since=(claims.sequence, claims.hash) if claims is not None else None)
    if result.problem is not None:
        raise click.ClickException(
            f"the chain does not verify (record {result.problem.sequence}: "
            f"{result.problem.reason}); no checkpoint written"
        )
    checkpoint = checkpoints.write_checkpoint()
    audit.record(
        "cli",
        "flask consents checkpoint",
        "consents.checkpoint",
        "consent_ledger",
        str(checkpoint.sequence),
        after={"sequence": checkpoint.sequence, "hash": checkpoint.hash},
    )
    db.session.commit()
    if output is None:
        click.echo(checkpoint.jws)
    else:
        output.write_text(checkpoint.jws + "\n")
        click.echo(f"Checkpoint of record {checkpoint.sequence} ({checkpoint.hash}) -> {output}")


@consents_cli.command("public-key")
def public_key_command() -> None:
    """Print the PEM public key that receipts and checkpoints are checked with."""
    click.echo(ledger_signing.public_key_pem(), nl=False)


@consents_cli.command("verify-receipt")
@click.argument("receipt_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@public_key_option
def verify_receipt_command(receipt_file: Path, public_key_file: Path | None) -> None:
    """Check a signed consent receipt (.jwt); exit 1 if it was altered or is not genuine.

    With --public-key it works offline: it reads neither the database nor the signing key.
    """
    key = checking_key(public_key_file)
    try:
        token = receipt_file.read_bytes().decode("ascii")
        claims = receipts.verify_receipt(token, key)
    except UnicodeDecodeError:
        _receipt_refused(receipt_file, "it is not a signed receipt (not ASCII text)")
    except ledger_signing.SignatureInvalid as exc:
        _receipt_refused(receipt_file, str(exc))
    controllers = ", ".join(str(c.get("piiController")) for c in claims["piiControllers"])
    click.echo(
        f"OK: receipt {claims['consentReceiptID']} signed by {ledger_signing.key_id(key)}, "
        f"consent given {receipts.format_time(claims['consentTimestamp'])} to {controllers}"
    )


def _receipt_refused(receipt_file: Path, reason: str) -> NoReturn:
    click.echo(f"INVALID: {receipt_file.name}: {reason}", err=True)
    raise SystemExit(1)
