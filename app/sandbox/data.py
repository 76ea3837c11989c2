"""The sandbox's fixed demo data: test organisations, the test users and the scopes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


# Stable ids: integrators and tests may keep them across restarts.
ACME = Organisation("17ef5307-fc9e-480a-858c-28c32fc779c4", "Acme Trading Ltd")
BLUEBELL = Organisation("54366c13-716f-4fae-a6f4-9047233aaded", "Bluebell Bakery Ltd")
NORTHWIND = Organisation("3fc34d90-7a33-4de1-b0ba-e34c9c01f91c", "Northwind Consulting LLP")
# The adviser's own practice and two more of its clients.
LEDGERLINE = Organisation("df10a5ad-4bc6-4202-bab7-cb53e07f9282", "Ledgerline Accountants LLP")
HARBOUR = Organisation("2e0e3edf-541b-4eaf-abce-5b92e6fff66c", "Harbour Lights Café Ltd")
KESTREL = Organisation("b2de7689-6a76-4b19-ad49-8f7484ac2427", "Kestrel Joinery Ltd")
ORGANISATIONS: tuple[Organisation, ...] = (ACME, BLUEBELL, NORTHWIND, LEDGERLINE, HARBOUR, KESTREL)

# A user's role in an organisation, in the Sandbox's own words. Like Xero's, its API lets
# only a standard user or an adviser approve access to the accounting data: a read-only
# or invoice-only user can sign in, but what they approve reaches nothing.
STANDARD = "standard"
ADVISER = "adviser"
READ_ONLY = "read_only"
INVOICE_ONLY = "invoice_only"
ROLE_NAMES: dict[str, str] = {
    STANDARD: "Standard",
    ADVISER: "Adviser",
    READ_ONLY: "Read only",
    INVOICE_ONLY: "Invoice only",
}


@dataclass(frozen=True)
class User:
    """A test login and, per organisation it sees, its role there."""

    email: str
    password: str
    first_name: str
    last_name: str
    # Who this login stands for, as the sign-in page says.
    who: str
    memberships: tuple[tuple[Organisation, str], ...]

    @property
    def organisations(self) -> tuple[Organisation, ...]:
        return tuple(org for org, _role in self.memberships)

    def role_in(self, organisation_id: str) -> str | None:
        """This user's role in the organisation, or None where they have none."""
        return next((role for org, role in self.memberships if org.id == organisation_id), None)


# Public test logins: `make run` prints them and the sign-in page shows them.
DEMO = User(
    "demo@sandbox.test",
    "sandbox-demo",
    "Demo",
    "User",
    "a business owner with three organisations",
    ((ACME, STANDARD), (BLUEBELL, STANDARD), (NORTHWIND, STANDARD)),
)
ADVISER_USER = User(
    "adviser@sandbox.test",
    "sandbox-adviser",
    "Ada",
    "Adviser",
    "an accountant who sees their practice and its clients, Bluebell Bakery Ltd among them",
    ((LEDGERLINE, ADVISER), (BLUEBELL, ADVISER), (HARBOUR, ADVISER), (KESTREL, ADVISER)),
)
INVOICES_USER = User(
    "invoices@sandbox.test",
    "sandbox-invoices",
    "Ivy",
    "Invoices",
    "a clerk whose role is too weak to connect: invoice only at Bluebell Bakery Ltd, "
    "read only at Acme Trading Ltd",
    ((BLUEBELL, INVOICE_ONLY), (ACME, READ_ONLY)),
)
USERS: tuple[User, ...] = (DEMO, ADVISER_USER, INVOICES_USER)

# The demo login, the one `make run` has always printed first.
SANDBOX_LOGIN_EMAIL = DEMO.email
SANDBOX_LOGIN_PASSWORD = DEMO.password

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


def find_user(email: str) -> User | None:
    """The test user with this email address, if there is one."""
    wanted = email.strip().lower()
    return next((user for user in USERS if user.email == wanted), None)


def organisations_of(email: str) -> tuple[Organisation, ...]:
    """The organisations the test user ``email`` sees (none for an unknown one)."""
    user = find_user(email)
    return user.organisations if user is not None else ()


def role_of(email: str, organisation_id: str) -> str | None:
    """The test user's role in the organisation, or None."""
    user = find_user(email)
    return user.role_in(organisation_id) if user is not None else None


def check_login(email: str, password: str) -> bool:
    """Whether ``email`` and ``password`` are one of the sandbox test users'."""
    # Every comparison always runs, in constant time, so timing reveals nothing.
    matched = False
    for user in USERS:
        email_ok = hmac.compare_digest(email.strip().lower().encode(), user.email.encode())
        password_ok = hmac.compare_digest(password.encode(), user.password.encode())
        matched |= email_ok and password_ok
    return matched
