"""The sandbox's fixed demo data: test organisations, the test user and the scopes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


# Stable ids: integrators and tests may keep them across restarts.
ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation("17ef5307-fc9e-480a-858c-28c32fc779c4", "Acme Trading Ltd"),
    Organisation("54366c13-716f-4fae-a6f4-9047233aaded", "Bluebell Bakery Ltd"),
    Organisation("3fc34d90-7a33-4de1-b0ba-e34c9c01f91c", "Northwind Consulting LLP"),
)

# Public demo credentials: `make run` prints them and the sign-in page shows them.
SANDBOX_LOGIN_EMAIL = "demo@sandbox.test"
SANDBOX_LOGIN_PASSWORD = "sandbox-demo"

# What each scope lets the app do, in the words the consent screen uses.
SCOPES: dict[str, str] = {
    "accounting.read": "Read the organisation's accounting data: its details, contacts, "
    "invoices and reports. It cannot change anything.",
    "offline_access": "Keep reading that data when you are not using it, until you disconnect.",
}
DEFAULT_SCOPE = "accounting.read offline_access"


def find_organisation(organisation_id: str) -> Organisation | None:
    """The test organisation with this id, if there is one."""
    return next((org for org in ORGANISATIONS if org.id == organisation_id), None)


def check_login(email: str, password: str) -> bool:
    """Whether ``email`` and ``password`` are the sandbox test user's."""
    # Both comparisons always run, in constant time, so timing reveals neither.
    email_ok = hmac.compare_digest(email.strip().lower().encode(), SANDBOX_LOGIN_EMAIL.encode())
    password_ok = hmac.compare_digest(password.encode(), SANDBOX_LOGIN_PASSWORD.encode())
    return email_ok and password_ok
