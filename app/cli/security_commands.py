"""``flask security report``: the security evidence pack, for a risk assessment."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.ops import evidence

security_cli = AppGroup("security", help="Security evidence about this installation.")


@security_cli.command("report")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown to read or print, JSON for tools.",
)
def report_command(output_format: str) -> None:
    """Print the evidence pack: data flows, keys, TLS, retention, sub-processors,
    authentication, logging, the ledger's last verification and the go-live open items."""
    pack = evidence.build()
    click.echo(
        evidence.to_json(pack) if output_format == "json" else evidence.to_markdown(pack), nl=False
    )
