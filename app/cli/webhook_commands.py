"""``flask webhooks ...``: register endpoints, rotate secrets, run the worker, replay, test."""

from __future__ import annotations

import threading
from typing import TextIO

import click
from flask.cli import AppGroup

from app import jobs
from app.cli.webhook_tls_commands import client_cert_command, pin_ca_command
from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks import delivery, encryption, endpoints
from app.webhooks.outbox import EVENT_TYPES

CLI_ACTOR = "flask webhooks encrypt"
webhooks_cli = AppGroup("webhooks", help="Webhook endpoints and the delivery worker.")
webhooks_cli.add_command(client_cert_command)  # mutual TLS
webhooks_cli.add_command(pin_ca_command)


def _endpoint(public_id: str) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(public_id)
    if endpoint is None:
        raise click.BadParameter(f"no webhook endpoint with id {public_id!r}", param_hint="ID")
    return endpoint


@webhooks_cli.command("add")
@click.option("--url", required=True, help="Where to POST events (https).")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENT_TYPES),
    help="An event type to send (repeat it); none means every type.",
)
@click.option("--description", default=None, help="A note for whoever reads the list.")
def add_command(url: str, events: tuple[str, ...], description: str | None) -> None:
    """Register an endpoint; prints its id and its signing secret (shown only now)."""
    try:
        endpoint, secret = endpoints.add_endpoint(url, list(events), description)
    except endpoints.EndpointRefused as exc:
        raise click.BadParameter(
            exc.message, param_hint=f"--{exc.field.replace('_', '-')}"
        ) from exc
    db.session.commit()
    click.echo(f"id: {endpoint.public_id}")
    click.echo(f"secret: {secret}")
    click.echo("Keep the secret now: it is not shown again.", err=True)


@webhooks_cli.command("list")
def list_command() -> None:
    """Every endpoint: id, status, URL, event types and how many deliveries wait."""
    rows = endpoints.list_endpoints()
    if not rows:
        click.echo("No webhook endpoints.")
        return
    for endpoint in rows:
        status = endpoint.status
        if endpoint.disabled_reason:
            status += f" ({endpoint.disabled_reason})"
        events = ",".join(endpoint.event_types) or "all"
        pending = endpoints.pending_count(endpoint)
        click.echo(
            f"{endpoint.public_id}  {status}  {endpoint.url}  events={events}  pending={pending}"
        )


@webhooks_cli.command("remove")
@click.argument("public_id", metavar="ID")
def remove_command(public_id: str) -> None:
    """Stop sending to an endpoint and cancel its pending deliveries (history is kept)."""
    cancelled = endpoints.remove_endpoint(_endpoint(public_id))
    db.session.commit()
    click.echo(f"Removed; {cancelled} pending deliveries cancelled.")


@webhooks_cli.command("enable")
@click.argument("public_id", metavar="ID")
def enable_command(public_id: str) -> None:
    """Send to a disabled endpoint again, from the next event on."""
    endpoints.enable_endpoint(_endpoint(public_id))
    db.session.commit()
    click.echo("Enabled.")


@webhooks_cli.command("rotate-secret")
@click.argument("public_id", metavar="ID")
@click.option("--expire-old", is_flag=True, help="Stop signing with the older secrets now.")
def rotate_command(public_id: str, expire_old: bool) -> None:
    """Add a new signing secret (printed once); older ones sign too until the grace period ends."""
    endpoint = _endpoint(public_id)
    if expire_old:
        dropped = endpoints.expire_old_secrets(endpoint)
        db.session.commit()
        click.echo(f"{dropped} older secrets no longer sign.")
        return
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    click.echo(f"secret: {secret}")
    click.echo("Older secrets keep signing during the grace period.", err=True)


@webhooks_cli.command("encrypt")
@click.argument("public_id", metavar="ID")
@click.option(
    "--public-key",
    type=click.File("r", encoding="utf-8"),
    help="The receiver's PUBLIC key, a JWK or PEM file; payloads are then sent as a JWE.",
)
@click.option("--remove", is_flag=True, help="Send payloads as plain signed JSON again.")
def encrypt_command(public_id: str, public_key: TextIO | None, remove: bool) -> None:
    """Encrypt an endpoint's payloads to the receiver's public key (docs/webhooks.md)."""
    if (public_key is None) == (not remove):
        raise click.UsageError("give either --public-key FILE or --remove")
    endpoint = _endpoint(public_id)
    if public_key is None:
        encryption.drop_key(endpoint, "cli", CLI_ACTOR)
        db.session.commit()
        click.echo("Payloads are sent unencrypted from the next attempt on.")
        return
    try:
        text = public_key.read(encryption.MAX_KEY_CHARS + 1)
        key = encryption.replace_key(endpoint, text, "cli", CLI_ACTOR)
    except encryption.KeyRefused as exc:
        raise click.BadParameter(exc.message, param_hint="--public-key") from exc
    db.session.commit()
    click.echo(f"kid: {key.kid}")
    click.echo(f"Payloads are encrypted to this {key.description} key ({key.alg}, A256GCM).")


@webhooks_cli.command("test")
@click.argument("public_id", metavar="ID")
def test_command(public_id: str) -> None:
    """Send a signed webhook.test ping now and print the answer; exit 1 unless 2xx."""
    response = delivery.send_test(_endpoint(public_id))
    if response.status_code is not None and 200 <= response.status_code < 300:
        click.echo(f"OK: HTTP {response.status_code} in {response.latency_ms} ms")
        return
    problem = response.error or f"HTTP {response.status_code}"
    raise click.ClickException(f"the ping was not accepted: {problem}")


@webhooks_cli.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--worker-id", default=None, help="This worker's name in claims (default host:pid).")
@click.option(
    "--parent-pid",
    type=int,
    default=None,
    help="Stop when this process is no longer the parent (gunicorn's master passes its pid).",
)
def deliver_command(once: bool, worker_id: str | None, parent_pid: int | None) -> None:
    """Run the delivery worker until SIGTERM/SIGINT (also marks abandoned journeys)."""
    stop = threading.Event()
    jobs.stop_on_signals(stop)
    if parent_pid is not None:
        jobs.stop_when_orphaned(stop, parent_pid)
    worker_id = worker_id or jobs.default_worker_id()
    attempted = jobs.run(worker_id, stop, once=once)
    if once:
        click.echo(f"{attempted} delivery attempts made.")


@webhooks_cli.command("replay")
@click.argument("delivery_id", metavar="DELIVERY_ID")
def replay_command(delivery_id: str) -> None:
    """Queue a delivery again (same webhook-id) with a fresh retry schedule."""
    found = delivery.find_delivery(delivery_id)
    if found is None:
        raise click.BadParameter(f"no delivery with id {delivery_id!r}", param_hint="DELIVERY_ID")
    try:
        delivery.replay(found)
    except delivery.ReplayRefused as exc:
        raise click.ClickException(f"cannot replay: {exc}") from exc
    db.session.commit()
    click.echo("Queued.")
