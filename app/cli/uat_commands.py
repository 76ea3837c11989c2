"""``flask uat key|admin|reset``: the server side of the UAT suite (e2e/).

UAT runs create their customers through the API with external ids starting ``uat-``
(each run namespaces its own, ``uat-<run id>-...``) and may register webhook
endpoints described "uat ...". ``reset`` clears what older runs left: customers are
erased, never deleted, because their consent records must stay and still verify.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import func, or_, select

from app import audit, clock
from app.admin.accounts import AccountError, create_user, find_user, set_password
from app.api import keys
from app.customers.records import erase_customer
from app.extensions import db
from app.models import Customer, WebhookEndpoint
from app.webhooks.endpoints import remove_endpoint

CUSTOMER_PREFIX = "uat-"
# What a UAT key may do: make customers and links, read what happened, and read the
# credentials of connections, to play the business's data pipeline (a refresh that fails).
UAT_KEY_SCOPES = ["read", "write", "credentials", "files"]
UAT_ADMIN_EMAIL = "uat-tester@example.com"
# The UAT logins by role, with their default emails: read-only, and support (which may
# send a customer a link; no more).
UAT_ROLES = {"viewer": UAT_ADMIN_EMAIL, "support": "uat-support@example.com"}
ENDPOINT_PREFIX = "uat"
ACTOR = "flask uat reset"
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"(\d+)\s*([mhdw])")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``1d`` or ``2w`` as a timedelta; ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 1d or 7d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class Leftovers:
    """What UAT runs created before a cutoff and a reset clears."""

    customers: list[Customer] = field(default_factory=list)
    endpoints: list[WebhookEndpoint] = field(default_factory=list)


def leftovers(cutoff: datetime) -> Leftovers:
    """UAT customers not yet erased and UAT endpoints not yet removed, created before ``cutoff``."""
    customers = db.session.scalars(
        select(Customer)
        .where(
            Customer.external_id.startswith(CUSTOMER_PREFIX, autoescape=True),
            Customer.created_at < cutoff,
        )
        .order_by(Customer.created_at, Customer.id)
    )
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(
            func.lower(WebhookEndpoint.description).startswith(ENDPOINT_PREFIX, autoescape=True),
            WebhookEndpoint.created_at < cutoff,
            # Already removed ones stay as history (their deliveries are kept).
            or_(
                WebhookEndpoint.status != "disabled",
                WebhookEndpoint.disabled_reason.is_(None),
                WebhookEndpoint.disabled_reason != "removed",
            ),
        )
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return Leftovers(list(customers), list(endpoints))


def reset(cutoff: datetime, older_than: str) -> dict[str, int]:
    """Remove the UAT endpoints and erase the UAT customers created before ``cutoff``.

    Erasure keeps the consent ledger provable (app/customers/records.py). One summary entry
    goes to the audit trail when anything was cleared; a run with nothing to do
    leaves no trace, so cron can run it as often as it likes.
    """
    found = leftovers(cutoff)
    cancelled = sum(remove_endpoint(endpoint) for endpoint in found.endpoints)
    db.session.commit()
    for customer in found.customers:
        erase_customer(customer, ACTOR)  # commits, with its own audit entry
    counts = {
        "customers_erased": len(found.customers),
        "endpoints_removed": len(found.endpoints),
        "deliveries_cancelled": cancelled,
    }
    if found.customers or found.endpoints:
        audit.record("cli", ACTOR, "uat.reset", after={"older_than": older_than, **counts})
        db.session.commit()
    return counts


uat_cli = AppGroup("uat", help="Support the UAT suite (e2e/): its API key and clearing its data.")


@uat_cli.command("reset")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    help="Clear what UAT runs created longer ago than this: 30m, 12h, 1d, 7d.",
)
@click.option("--dry-run", is_flag=True, help="List what would be cleared; change nothing.")
def reset_command(older_than: str, dry_run: bool) -> None:
    """Erase customers whose external id starts "uat-" and remove webhook endpoints whose
    description starts "uat", created longer ago than --older-than. Safe to run from cron."""
    try:
        cutoff = clock.now() - parse_duration(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from exc
    before = cutoff.isoformat(timespec="seconds")
    if dry_run:
        found = leftovers(cutoff)
        for customer in found.customers:
            click.echo(f"customer {customer.public_id}  {customer.external_id}")
        for endpoint in found.endpoints:
            click.echo(f"endpoint {endpoint.public_id}  {endpoint.url}  {endpoint.description}")
        click.echo(
            f"Dry run: would erase {len(found.customers)} customer(s) and remove "
            f"{len(found.endpoints)} webhook endpoint(s) created before {before}."
        )
        return
    counts = reset(cutoff, older_than.strip())
    click.echo(
        f"Erased {counts['customers_erased']} customer(s) and removed "
        f"{counts['endpoints_removed']} webhook endpoint(s) created before {before}. "
        "Consent records are kept."
    )


@uat_cli.command("key")
@click.option("--name", default="uat", show_default=True, help="What the key is called in lists.")
def key_command(name: str) -> None:
    """Create an API key with the read, write, credentials and files scopes and print it as an
    export line. Make one only on an environment whose connections are test ones."""
    if not name.strip():
        raise click.BadParameter("give the key a name", param_hint="--name")
    api_key, key = keys.create_key(name, UAT_KEY_SCOPES, actor=("cli", "flask uat key"))
    click.echo(f"ONRAMP_UAT_API_KEY={key}")
    click.echo(
        f"Created {api_key.prefix} ({api_key.scopes}). Store the key now: it cannot be "
        f"shown again. Revoke it with `flask api-keys revoke {api_key.prefix}`.",
        err=True,
    )


@uat_cli.command("admin")
@click.option("--email", default=None, help="The UAT account's login.")
@click.option(
    "--role",
    type=click.Choice(UAT_ROLES),
    default="viewer",
    show_default=True,
    help="viewer (read only) for the preview scenario; support for the scenario that "
    "sends a stuck customer a fresh link.",
)
def admin_command(email: str | None, role: str) -> None:
    """Create an admin console account for the UAT suite's admin scenarios (read-only
    unless --role support), or give the existing one a new password; print both as
    export lines."""
    email = email or UAT_ROLES[role]
    password = secrets.token_urlsafe(18)
    try:
        user = find_user(email)
        if user is None:
            user, password = create_user(email, role, password)
            action, before = "user.create", None
        elif user.role != role:
            raise click.ClickException(
                f"{user.email} is a {user.role}, not a {role}: choose another --email."
            )
        else:
            before = {"active": user.active}
            set_password(user, password)
            user.active = True
            action = "user.password_reset"
    except AccountError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from exc
    audit.record(
        "cli", "flask uat admin", action, "user", str(user.id), before, {"role": user.role}
    )
    db.session.commit()
    prefix = "ONRAMP_UAT_ADMIN" if role == "viewer" else "ONRAMP_UAT_SUPPORT"
    click.echo(f"{prefix}_EMAIL={user.email}")
    click.echo(f"{prefix}_PASSWORD={password}")
    click.echo(
        f"{user.email} ({role}) can sign in to the admin console with this password, shown "
        f"once. Stop it with `flask users deactivate {user.email}`.",
        err=True,
    )
