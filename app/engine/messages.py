"""What the customer is told when connecting fails, by the connection's failure reason."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Explanation:
    title: LazyString
    text: LazyString


_GENERIC = Explanation(
    _l("We couldn't connect your accounting software"),
    _l("Something went wrong while connecting. Nothing was shared. Please try again."),
)

FAILURES = {
    "access_denied": Explanation(
        _l("You chose not to allow access"),
        _l(
            "You declined access on your accounting software's page, so nothing was shared. "
            "If that was a mistake, try again and choose Approve."
        ),
    ),
    "provider_error": Explanation(
        _l("Your accounting software reported a problem"),
        _l(
            "It couldn't complete the sign-in just now. This is usually temporary: "
            "please try again."
        ),
    ),
    "exchange_failed": Explanation(
        _l("We couldn't finish connecting"),
        _l(
            "Your accounting software didn't confirm the connection. Nothing was shared. "
            "Please try again."
        ),
    ),
    "organisation_lookup_failed": Explanation(
        _l("We couldn't read which organisation you chose"),
        _l("The connection didn't complete, so nothing was shared. Please try again."),
    ),
    "replayed_callback": Explanation(
        _l("That sign-in link was already used"),
        _l("For your security each sign-in can only be used once. Please start again."),
    ),
    "expired": Explanation(
        _l("The sign-in took too long"),
        _l("For your security the sign-in expires after a few minutes. Please start again."),
    ),
    "state_missing": Explanation(
        _l("We couldn't match your sign-in to this journey"),
        _l(
            "The sign-in came back incomplete, so we ignored it for your security. "
            "Please start again."
        ),
    ),
    "state_mismatch": Explanation(
        _l("We couldn't match your sign-in to this journey"),
        _l(
            "The sign-in didn't match the one we started, so we ignored it for your security. "
            "Please start again."
        ),
    ),
    "session_mismatch": Explanation(
        _l("This sign-in belongs to another journey"),
        _l("It was started from a different link, so we ignored it. Please start again here."),
    ),
    "different_organisation": Explanation(
        _l("That's a different organisation"),
        _l("This link reconnects another organisation, so nothing was changed. Please try again."),
    ),
    "role_too_weak": Explanation(
        _l("That login's role can't give access"),
        _l(
            "Your accounting software says the person who signed in doesn't have a role that "
            "can give access to the accounting data, so nothing was connected. Ask someone "
            "with a higher role, or your accountant, to connect, or sign in with another login."
        ),
    ),
    "interrupted": Explanation(
        _l("Connecting was interrupted"),
        _l(
            "Something on our side stopped the connection before it finished. Nothing was "
            "shared. Please try again."
        ),
    ),
    "abandoned": Explanation(
        _l("Your last sign-in wasn't finished"),
        _l("It looks like the accounting software's page was closed before you approved access."),
    ),
}


def explain_failure(reason: str | None) -> Explanation:
    return FAILURES.get(reason or "", _GENERIC)
