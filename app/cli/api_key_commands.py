"""``flask api-keys create|list|revoke``: the keys the business's backend calls the API with."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.api import keys

api_keys_cli = AppGroup("api-keys", help="Create, list and revoke API keys.")


@api_keys_cli.command("create")
@click.option("--name", required=True, help="What the key is for, e.g. 'loan backend'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(keys.SCOPES),
    help="read (GET), write (changes), credentials (access tokens), files (uploaded files'"
    " content). Repeat for several.",
)
def create_command(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it: it is shown only this once."""
    if not name.strip():
        raise click.BadParameter("give the key a name", param_hint="--name")
    api_key, key = keys.create_key(name, list(scopes))
    click.echo(key)
    click.echo(
        f"Created {api_key.prefix} ({api_key.scopes}). Store the key now: "
        "it cannot be shown again.",
        err=True,
    )


@api_keys_cli.command("list")
def list_command() -> None:
    """Every key: prefix, name, scopes, last use and whether it is revoked. No secrets."""
    rows = keys.list_keys()
    if not rows:
        click.echo("No API keys.")
    for api_key in rows:
        used = (
            api_key.last_used_at.isoformat(timespec="seconds") if api_key.last_used_at else "never"
        )
        state = "revoked" if api_key.revoked_at else "active"
        click.echo(
            f"{api_key.prefix}  {state:<8} {api_key.scopes:<24} last used {used:<25} {api_key.name}"
        )


@api_keys_cli.command("revoke")
@click.argument("prefix")
def revoke_command(prefix: str) -> None:
    """Revoke a key by its prefix (onr_...): it stops working at once."""
    api_key = keys.revoke_key(prefix.strip()[: keys.PREFIX_LENGTH])
    if api_key is None:
        raise click.BadParameter(f"no API key {prefix!r}", param_hint="PREFIX")
    click.echo(f"Revoked {api_key.prefix} ({api_key.name}).")
