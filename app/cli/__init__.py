"""Command-line tools: ``flask invite``, ``flask journeys check|schema``, ``flask demo``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import audit
from app.cli.api_key_commands import api_keys_cli
from app.cli.consent_commands import consents_cli
from app.cli.security_commands import security_cli
from app.cli.uat_commands import uat_cli
from app.cli.user_commands import users_cli
from app.cli.webhook_commands import webhooks_cli
from app.config import SANDBOX_LOGIN_KEY, SANDBOX_LOGINS_KEY
from app.connections.lifecycle import disconnect, refresh_due, rotate_encryption_key
from app.connections.oauth import redirect_uri
from app.connections.repair import RECONNECT_URL_PLATFORMS, NotRepairable, repair_link
from app.connections.uploads import purge_expired
from app.customers.expiry import expire_command
from app.customers.records import (
    create_customer,
    erase_customer,
    export_customer,
    find_by_external_id,
    find_by_public_id,
)
from app.engine.loading import JourneyDefinitionError, journey_files, load_journey
from app.engine.registry import current_journeys, get_journey, latest_published
from app.engine.retention import purge_abandoned_command
from app.engine.schema import json_schema
from app.engine.versions import summaries
from app.extensions import db
from app.links import journey_link
from app.models import Connection, Customer
from app.platforms import (
    PLATFORMS,
    TOKEN_AUTH_METHODS,
    credentials,
    effective,
    sandbox_plays,
    setting,
    unavailable_reason,
)
from app.urls import public_url

DEMO_EXTERNAL_ID = "demo-customer"


def _checked_email(_: click.Context, __: click.Parameter, value: str) -> str:
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("invite")
@with_appcontext
@click.option("--name", required=True, help="The customer's business name.")
@click.option(
    "--email", required=True, callback=_checked_email, help="Where the link will be sent."
)
@click.option(
    "--journey", "journey_id", default=None, help="Journey id (default: the default journey)."
)
@click.option("--locale", default=None, help="The journey's language (default: the browser's).")
@click.option("--platform", default=None, help="Pre-select this platform: the picker is skipped.")
def invite_command(
    name: str, email: str, journey_id: str | None, locale: str | None, platform: str | None
) -> None:
    """Create a customer and print their signed journey link."""
    journey_id = journey_id or current_app.config["DEFAULT_JOURNEY"]
    journey = get_journey(journey_id)
    if journey is None:
        raise click.BadParameter(f"no journey with id {journey_id!r}", param_hint="--journey")
    if locale is not None and locale not in journey.locales:
        offered = ", ".join(journey.locales)
        raise click.BadParameter(f"journey {journey_id!r} is in {offered}", param_hint="--locale")
    if platform is not None and platform not in PLATFORMS:
        known = ", ".join(PLATFORMS)
        raise click.BadParameter(
            f"no platform {platform!r} (known: {known})", param_hint="--platform"
        )
    customer = create_customer(name, email)
    click.echo(journey_link(customer.public_id, journey_id, locale, platform))


journeys_cli = AppGroup("journeys", help="Check and describe journey definitions.")


@journeys_cli.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.pass_context
def check_command(context: click.Context, files: tuple[Path, ...]) -> None:
    """Check journey files (default: every file in journeys/); exit 1 on any error.

    Each error names the file, the line, the step's id and what is wrong."""
    context.invoke(validate_command, files=files)


@journeys_cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check journey files (default: every file in journeys/); exit 1 on any error."""
    paths = list(files) or journey_files(Path(current_app.config["JOURNEYS_DIR"]))
    failed = 0
    for path in paths:
        try:
            journey = load_journey(path)
        except JourneyDefinitionError as exc:
            failed += 1
            click.echo(str(exc), err=True)
            continue
        click.echo(f"{path}: ok ({journey.id}, version {journey.version[:12]})")
    if failed:
        raise SystemExit(1)


@journeys_cli.command("list")
def list_command() -> None:
    """Show every journey version, whether it is the current file, and its runs."""
    try:
        rows = summaries()
    except OperationalError as exc:
        raise click.ClickException(
            "The database has no tables yet: run `flask db upgrade` first (make run does)."
        ) from exc
    if not rows:
        click.echo("No journeys.")
    for row in rows:
        state = "current" if row.current else "earlier"
        click.echo(f"{row.journey_id:<20} {row.version[:12]}  {state:<8} {row.runs} run(s)")


@journeys_cli.command("export")
@click.argument("journey_id")
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the YAML instead of writing it.")
def export_command(journey_id: str, to_stdout: bool) -> None:
    """Write a journey published in the console to journeys/ID.yaml, for version control."""
    published = latest_published(journey_id)
    if published is None:
        raise click.ClickException(f"No journey {journey_id!r} was published in the console.")
    if to_stdout:
        click.echo(published.yaml_text, nl=False)
        return
    path = Path(current_app.config["JOURNEYS_DIR"]) / f"{journey_id}.yaml"
    path.write_text(published.yaml_text, encoding="utf-8")
    click.echo(f"{path}: written (version {(published.version or '')[:12]})")


journeys_cli.add_command(purge_abandoned_command)


@journeys_cli.command("purge-uploads")
def purge_uploads_command() -> None:
    """Delete uploaded files older than their journey's retention.uploads_days."""
    click.echo(f"{purge_expired()} uploaded file(s) deleted.")


@journeys_cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the journey format, for editor completion."""
    click.echo(json.dumps(json_schema(), indent=2))


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo customer if needed and print how to try the journey."""
    from app.cli.user_commands import demo_admin

    journey_id = current_app.config["DEFAULT_JOURNEY"]
    admin_email, admin_password = demo_admin()
    customer = find_by_external_id(DEMO_EXTERNAL_ID) or create_customer(
        "Demo Trading Ltd", "owner@demo-trading.example", external_id=DEMO_EXTERNAL_ID
    )
    link = journey_link(customer.public_id, journey_id)
    others = [
        f"    {j.id}: {journey_link(customer.public_id, j.id)}"
        for j in current_journeys().values()
        if j.id != journey_id
    ]
    click.echo(
        "\n".join(
            [
                "",
                "  Onramp is starting on " + current_app.config["PUBLIC_URL"],
                "",
                "  Demo customer's journey link:",
                f"    {link}",
                "",
                *(
                    ["  The other example journeys, for the same customer:", *others, ""]
                    if others
                    else []
                ),
                *_sandbox_login_lines(),
                "  Admin console: " + public_url("admin.dashboard"),
                f"    email:    {admin_email}",
                f"    password: {admin_password or '(changed since it was generated)'}",
                "",
            ]
        )
    )


def _sandbox_login_lines() -> list[str]:
    """The sandbox's test login, as the app that mounted the sandbox knows it."""
    login = current_app.extensions.get(SANDBOX_LOGIN_KEY)
    if login is None:
        return []
    email, password = login
    lines = [
        "  Sandbox accounting platform test login:",
        f"    email:    {email}",
        f"    password: {password}",
        "",
    ]
    others = [o for o in current_app.extensions.get(SANDBOX_LOGINS_KEY, ()) if o[0] != email]
    if others:
        lines.append("  More Sandbox test logins:")
        lines += [f"    {mail} / {password}  ({who})" for mail, password, who in others]
        lines.append("")
    return lines


customers_cli = AppGroup("customers", help="What is held about a customer.")


@customers_cli.command("export")
@click.argument("external_id")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
def export_customer_command(external_id: str, output: Path | None) -> None:
    """Everything held about a customer, as JSON (an access request). No tokens.
    EXTERNAL_ID may also be the customer's Onramp id (an erased customer has no other)."""
    customer = find_by_external_id(external_id) or find_by_public_id(external_id)
    if customer is None:
        raise click.ClickException(f"No customer with external id {external_id!r}.")
    document = json.dumps(export_customer(customer), indent=2, ensure_ascii=False)
    audit.record("cli", "flask customers export", "customer.export", "customer", customer.public_id)
    db.session.commit()
    if output is None:
        click.echo(document)
    else:
        output.write_text(document + "\n", encoding="utf-8")
        output.chmod(0o600)
        click.echo(f"Wrote everything held about {external_id} to {output}.", err=True)


@customers_cli.command("erase")
@click.argument("external_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_customer_command(external_id: str, yes: bool) -> None:
    """Erase a customer's personal data and tokens (right to erasure); the consent
    ledger stays provable. EXTERNAL_ID may also be the customer's Onramp id."""
    customer = find_by_external_id(external_id) or find_by_public_id(external_id)
    if customer is None:
        raise click.ClickException(
            f"No customer with external id {external_id!r} (an erased customer has none;"
            " give their Onramp id instead)."
        )
    if customer.erased_at is not None:
        click.echo(f"Customer {customer.public_id} was already erased; erasing again.")
    elif not yes:
        click.confirm(
            f"Erase {external_id}: revoke their connections and delete their personal data"
            " for good?",
            abort=True,
        )
    counts = erase_customer(customer, "flask customers erase")
    click.echo(
        f"Erased customer {customer.public_id}: {counts['connections']} connection(s)"
        f" disconnected, {counts['notes']} note(s) deleted, {counts['uploads']} uploaded"
        " file(s) deleted. The consent ledger is kept."
    )


connections_cli = AppGroup("connections", help="Look after linked connections.")


@connections_cli.command("refresh")
@click.option(
    "--lead", default=300, show_default=True, help="Refresh tokens expiring within N seconds."
)
def refresh_command(lead: int) -> None:
    """Refresh every token that is about to expire (safe to run from several processes)."""
    outcomes = refresh_due(timedelta(seconds=lead))
    names = ("refreshed", "deauthorized", "failed", "skipped")
    click.echo(", ".join(f"{outcomes.get(name, 0)} {name}" for name in names))


@connections_cli.command("disconnect")
@click.argument("public_id")
def disconnect_command(public_id: str) -> None:
    """Disconnect a connection: revoke at the provider and delete its tokens."""
    connection = _connection(public_id)
    if connection.status == "disconnected":
        click.echo("Already disconnected.")
        return
    revoked = disconnect(connection)
    click.echo("Disconnected" + ("." if revoked else "; the provider did not confirm revocation."))


@click.command("platforms")
@click.argument("action", type=click.Choice(["list"]), default="list")
@with_appcontext
def platforms_command(action: str) -> None:
    """List the accounting platforms: callback URL to register, credentials, settings
    (with the values they may take) and availability."""
    plays = sandbox_plays()
    for platform in PLATFORMS.values():
        configured = "credentials configured" if credentials(platform) else "no credentials"
        if platform.key in plays:
            configured = "played by the Sandbox (SANDBOX_PLAYS)"
        reason = unavailable_reason(platform)
        click.echo(f"{platform.key:<17} {platform.name}")
        click.echo(f"{'':<17} callback: {redirect_uri(platform.key)}")
        # The scopes as the authorize request sends them, joined by the vendor's separator.
        separator = platform.scope_separator
        joined = "space" if separator == " " else repr(separator)
        scopes = f"{separator.join(platform.scopes)}  (separated by {joined})"
        click.echo(f"{'':<17} scopes: {scopes if platform.scopes else 'none'}")
        if platform.key in RECONNECT_URL_PLATFORMS:
            reconnect = public_url("connections.reconnect_from_platform", platform=platform.key)
            click.echo(f"{'':<17} reconnect: {reconnect}")
        if platform.webhook:
            events = public_url("connections.provider_webhook", platform=platform.key)
            click.echo(f"{'':<17} webhook:  {events}")
            key = "set" if setting(platform, platform.webhook.secret) else "not set"
            variable = f"ONRAMP_{platform.key.upper()}_{platform.webhook.secret.upper()}"
            click.echo(f"{'':<17} {platform.webhook.secret} = {key}  [{variable}]")
        if platform.disconnect_url:
            gone = public_url("connections.disconnected", platform=platform.key)
            click.echo(f"{'':<17} disconnect URL: {gone}")
        for name, default in platform.settings.items():
            value = setting(platform, name)
            choices = platform.hosts.get(name)
            allowed = f" (one of {', '.join(choices)})" if choices else ""
            shown = value if value else ("not set" if default is None else "blank")
            variable = f"ONRAMP_{platform.key.upper()}_{name.upper()}"
            click.echo(f"{'':<17} {name} = {shown}{allowed}  [{variable}]")
        if platform.key != "sandbox":
            auth = effective(platform).token_auth
            variable = f"ONRAMP_{platform.key.upper()}_TOKEN_AUTH"
            click.echo(
                f"{'':<17} token_auth = {auth} (one of {', '.join(TOKEN_AUTH_METHODS)})"
                f"  [{variable}]"
            )
        click.echo(
            f"{'':<17} {configured}; " + (f"unavailable: {reason}" if reason else "available")
        )


@connections_cli.command("reconnect-link")
@click.argument("public_id")
@click.option("--journey", "journey_id", default="reconnect", show_default=True)
def reconnect_link_command(public_id: str, journey_id: str) -> None:
    """Print a link that re-authorizes a connection (same organisation only)."""
    connection = _connection(public_id)
    if get_journey(journey_id) is None:
        raise click.BadParameter(f"no journey with id {journey_id!r}", param_hint="--journey")
    customer = db.session.get(Customer, connection.customer_id)
    if customer is None:
        raise click.ClickException("the connection's customer is gone")
    click.echo(journey_link(customer.public_id, journey_id, reconnect=connection.public_id))


@connections_cli.command("repair-link")
@click.argument("public_id")
def repair_link_command(public_id: str) -> None:
    """Print a one-click link that repairs a connection in place (same organisation, same
    id): it goes straight to the platform's sign-in."""
    try:
        link = repair_link(_connection(public_id))
    except NotRepairable as exc:
        raise click.ClickException(f"this connection cannot be repaired ({exc.reason})") from exc
    click.echo(link.url)
    click.echo(f"expires: {link.expires_at.isoformat()}", err=True)


def _connection(public_id: str) -> Connection:
    connection = db.session.scalars(
        select(Connection).where(Connection.public_id == public_id)
    ).first()
    if connection is None:
        raise click.BadParameter(f"no connection {public_id!r}", param_hint="PUBLIC_ID")
    return connection


tokens_cli = AppGroup("tokens", help="Provider tokens encrypted at rest.")


@tokens_cli.command("rotate-key")
def rotate_key_command() -> None:
    """Re-encrypt stored tokens with the first key of ONRAMP_TOKEN_ENCRYPTION_KEY."""
    click.echo(f"Re-encrypted {rotate_encryption_key()} secret(s) with the current key.")


def init_cli(app: Flask) -> None:
    app.cli.add_command(invite_command)
    app.cli.add_command(journeys_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(connections_cli)
    app.cli.add_command(customers_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(platforms_command)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(uat_cli)
    app.cli.add_command(security_cli)
    consents_cli.add_command(expire_command)
    app.cli.add_command(consents_cli)
