"""The accounting platforms a customer can choose from.

Only the built-in Sandbox can be connected for now. The real platforms are listed
so that journeys can name them; they show as unavailable until their OAuth clients
arrive with the platform catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Platform:
    key: str
    name: str
    # Two or three letters on a neutral tile: no vendor's trademark is copied.
    monogram: str
    instructions: str | LazyString = ""  # Markdown, translated by the message catalogues
    available: bool = False


SANDBOX_INSTRUCTIONS = _l(
    """\
The Sandbox is a practice accounting platform: no real business data is involved.

1. Select **Continue to Sandbox Accounting**. Its sign-in page opens in this window.
2. Sign in with the test login you were given (for the demo: `demo@sandbox.test`,
   password `sandbox-demo`).
3. Choose the organisation you want to connect, then select **Approve**.
4. You'll come straight back here and see which organisation is connected.

Onramp asks for **read-only** access to accounting data. You can revoke it at any time.
"""
)

PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            key="sandbox",
            name="Sandbox Accounting",
            monogram="SB",
            instructions=SANDBOX_INSTRUCTIONS,
            available=True,
        ),
        Platform(key="xero", name="Xero", monogram="X"),
        Platform(key="quickbooks", name="QuickBooks Online", monogram="QB"),
        Platform(key="sage", name="Sage Business Cloud Accounting", monogram="SA"),
        Platform(key="freeagent", name="FreeAgent", monogram="FA"),
    )
}


def get_platform(key: str) -> Platform | None:
    return PLATFORMS.get(key)


def is_available(platform: Platform) -> bool:
    """Whether a customer can connect this platform on this instance right now."""
    if platform.key == "sandbox":
        return bool(current_app.config["SANDBOX_URL"])
    return platform.available
