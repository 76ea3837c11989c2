"""What the customer is told when connecting fails, by the connection's failure reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    title: str
    text: str


_GENERIC = Explanation(
    "We couldn't connect your accounting software",
    "Something went wrong while connecting. Nothing was shared. Please try again.",
)

FAILURES = {
    "access_denied": Explanation(
        "You chose not to allow access",
        "You declined access on your accounting software's page, so nothing was shared. "
        "If that was a mistake, try again and choose Approve.",
    ),
    "provider_error": Explanation(
        "Your accounting software reported a problem",
        "It couldn't complete the sign-in just now. This is usually temporary: please try again.",
    ),
    "exchange_failed": Explanation(
        "We couldn't finish connecting",
        "Your accounting software didn't confirm the connection. Nothing was shared. "
        "Please try again.",
    ),
    "organisation_lookup_failed": Explanation(
        "We couldn't read which organisation you chose",
        "The connection didn't complete, so nothing was shared. Please try again.",
    ),
    "replayed_callback": Explanation(
        "That sign-in link was already used",
        "For your security each sign-in can only be used once. Please start again.",
    ),
    "expired": Explanation(
        "The sign-in took too long",
        "For your security the sign-in expires after a few minutes. Please start again.",
    ),
    "state_missing": Explanation(
        "We couldn't match your sign-in to this journey",
        "The sign-in came back incomplete, so we ignored it for your security. Please start again.",
    ),
    "state_mismatch": Explanation(
        "We couldn't match your sign-in to this journey",
        "The sign-in didn't match the one we started, so we ignored it for your security. "
        "Please start again.",
    ),
    "session_mismatch": Explanation(
        "This sign-in belongs to another journey",
        "It was started from a different link, so we ignored it. Please start again here.",
    ),
    "abandoned": Explanation(
        "Your last sign-in wasn't finished",
        "It looks like the accounting software's page was closed before you approved access.",
    ),
}


def explain_failure(reason: str | None) -> Explanation:
    return FAILURES.get(reason or "", _GENERIC)
