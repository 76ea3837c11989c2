"""``flask webhooks client-cert`` and ``flask webhooks pin-ca``: mutual TLS for an endpoint."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks import endpoints, mutual_tls

PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _endpoint(public_id: str) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(public_id)
    if endpoint is None:
        raise click.BadParameter(f"no webhook endpoint with id {public_id!r}", param_hint="ID")
    return endpoint


def _echo(certificate: mutual_tls.CertificateInfo) -> None:
    click.echo(
        f"{certificate.subject} (issued by {certificate.issuer}), expires "
        f"{certificate.not_after:%Y-%m-%d %H:%M} UTC, SHA-256 {certificate.fingerprint_sha256}"
    )


@click.command("client-cert")
@with_appcontext
@click.argument("public_id", metavar="ID")
@click.option("--cert", "cert_file", type=PEM_FILE, help="The client certificate (PEM).")
@click.option("--key", "key_file", type=PEM_FILE, help="Its private key (PEM, unencrypted).")
@click.option("--remove", is_flag=True, help="Stop presenting any client certificate.")
def client_cert_command(
    public_id: str, cert_file: Path | None, key_file: Path | None, remove: bool
) -> None:
    """Present a client certificate to the receiver (mutual TLS); a new one rotates: the
    previous one stays usable during the grace period."""
    endpoint = _endpoint(public_id)
    if remove:
        removed = mutual_tls.remove_client_certificate_now(endpoint)
        db.session.commit()
        click.echo(f"{removed} client certificates removed.")
        return
    if cert_file is None or key_file is None:
        raise click.UsageError("give --cert and --key, or --remove")
    try:
        added = mutual_tls.set_client_certificate(
            endpoint, cert_file.read_text(errors="replace"), key_file.read_text(errors="replace")
        )
    except endpoints.EndpointRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    db.session.commit()
    _echo(added)


@click.command("pin-ca")
@with_appcontext
@click.argument("public_id", metavar="ID")
@click.option("--ca", "ca_file", type=PEM_FILE, help="The CA (or the receiver's certificate).")
@click.option("--clear", is_flag=True, help="Trust the system's CAs again.")
def pin_ca_command(public_id: str, ca_file: Path | None, clear: bool) -> None:
    """Trust only this CA for the receiver's certificate, instead of the system's."""
    endpoint = _endpoint(public_id)
    if clear:
        pem = None
    elif ca_file is not None:
        pem = ca_file.read_text(errors="replace")
    else:
        raise click.UsageError("give --ca FILE, or --clear")
    try:
        pinned = mutual_tls.set_pinned_ca(endpoint, pem)
    except endpoints.EndpointRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.field}: {exc.message}") from exc
    db.session.commit()
    if not pinned:
        click.echo("The system's CAs are trusted again.")
    for certificate in pinned:
        _echo(certificate)
