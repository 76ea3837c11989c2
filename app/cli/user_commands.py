"""``flask users``: admin console accounts from the command line."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app import audit
from app.admin.accounts import (
    ROLES,
    AccountError,
    authenticate,
    create_user,
    deactivate,
    find_user,
    set_password,
)
from app.extensions import db
from app.models import User

users_cli = AppGroup("users", help="Admin console accounts.")

DEMO_ADMIN_EMAIL = "admin@example.com"


@users_cli.command("create")
@click.option("--email", required=True, help="The colleague's email address (their login).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What they may do.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of generating one.",
)
def create_command(email: str, role: str, password_stdin: bool) -> None:
    """Create an account and print its password once (generated unless given)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user, password = create_user(email, role, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(
        "cli",
        "flask users create",
        "user.create",
        "user",
        str(user.id),
        None,
        {"email": user.email, "role": user.role},
    )
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role}).")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


@users_cli.command("list")
def list_command() -> None:
    """List accounts: email, role, whether active, last sign-in."""
    users = db.session.scalars(select(User).order_by(User.email)).all()
    if not users:
        click.echo("No accounts yet: create one with `flask users create`.")
    for user in users:
        state = "active" if user.active else "deactivated"
        last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "never"
        click.echo(f"{user.email:<40} {user.role:<8} {state:<12} last sign-in {last}")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop an account from signing in; its sessions end at once."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    deactivate(user)
    audit.record(
        "cli",
        "flask users deactivate",
        "user.deactivate",
        "user",
        str(user.id),
        {"active": True},
        {"active": False},
    )
    db.session.commit()
    click.echo(f"Deactivated {user.email}.")


@users_cli.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from standard input instead of generating one.",
)
def set_password_command(email: str, password_stdin: bool) -> None:
    """Give an account a new password (printed once unless given); its sessions end."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    try:
        set_password(user, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(
        "cli", "flask users set-password", "user.password_reset", "user", str(user.id), None, None
    )
    db.session.commit()
    click.echo(f"New password set for {user.email}; they are signed out everywhere.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


def demo_admin() -> tuple[str, str | None]:
    """The development admin account, created on first use; its login for `make run`.

    The password is generated once per checkout and kept in ``instance/`` like the other
    development secrets. None when someone has changed it since.
    """
    path = Path(
        current_app.config.get("DEMO_ADMIN_FILE")
        or Path(current_app.instance_path) / "demo-admin.json"
    )
    stored = json.loads(path.read_text()) if path.exists() else {}
    password = stored.get("password") or secrets.token_urlsafe(12)
    if not stored:
        path.write_text(json.dumps({"password": password}))
        path.chmod(0o600)
    if find_user(DEMO_ADMIN_EMAIL) is None:
        create_user(DEMO_ADMIN_EMAIL, "admin", password)
        db.session.commit()
        return DEMO_ADMIN_EMAIL, password
    still = authenticate(DEMO_ADMIN_EMAIL, password) is not None
    db.session.commit()
    return DEMO_ADMIN_EMAIL, password if still else None
