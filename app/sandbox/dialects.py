"""The dialects the Sandbox speaks: itself, and each vendor as that vendor documents itself.

A dialect is served under ``/v/<key>/`` at the vendor's own paths, so that a client
that swaps the vendor's scheme and host for ``{SANDBOX_URL}/v/<key>`` meets the
vendor's shapes: its scopes and their separator, its client authentication, the
fields of its token response, what it adds to the redirect back and the ids it gives
an organisation. The facts come from tests/contract/vendors/<key>.json (each
names its source there); what no vendor documents is invented, and said so below.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.sandbox.data import ORGANISATIONS, SCOPES, Organisation

NATIVE = "sandbox"
BASIC = "client_secret_basic"
POST = "client_secret_post"


@dataclass(frozen=True)
class TokenFacts:
    """What a token response may tell besides the tokens: when the approval was given,
    what was asked for and where the dialect's API is."""

    scope: str
    granted_at: datetime
    now: datetime
    api_base: str
    headers: Mapping[str, str]
    # When the approval's refresh token stops working, if a tester set it to expire.
    refresh_expires_at: datetime | None = None

    def refresh_seconds(self, usual: int) -> int:
        """What a vendor that says how long the refresh token lasts says: ``usual``
        seconds, or less when a tester set it to expire sooner."""
        if self.refresh_expires_at is None:
            return usual
        return max(min(usual, int((self.refresh_expires_at - self.now).total_seconds())), 0)


def _no_fields(_facts: TokenFacts) -> dict[str, Any]:
    return {}


def _no_params(_organisation: Organisation, _request: Mapping[str, str]) -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class Dialect:
    """How one vendor's authorization server and organisation look-up behave.

    Paths are Flask rules relative to ``/v/<key>`` (the native dialect's to the
    Sandbox's root). ``offline_scope``/``offline_parameter``: a refresh token is
    issued on the code exchange only when that scope or authorize parameter was sent.
    ``token_fields``: what the token response carries beyond ``access_token``,
    ``token_type``, ``expires_in`` and ``refresh_token``; ``redirect_params``: what the
    redirect back carries beyond ``code`` and ``state``.
    """

    key: str
    vendor: str
    authorize_path: str
    token_path: str
    scopes: frozenset[str]
    client_auth: tuple[str, ...]
    access_seconds: int
    revoke_path: str | None = None
    # "form" (RFC 7009), "json" (a JSON body, as Intuit's clients send) or "parameter"
    # (query or form, no client authentication).
    revoke_body: str = "form"
    # Whether revoking a token already ended is refused (Xero, QuickBooks and NetSuite,
    # whose refresh token ends the whole grant: a second revoke may fail). Otherwise, as
    # RFC 7009 §2.2 has it, an invalid token is answered 200 like any other.
    refuses_ended_tokens: bool = False
    separator: str = " "
    pkce_required: bool = False
    announces_issuer: bool = False
    token_type: str = "Bearer"
    rotates: bool = True
    offline_scope: str | None = None
    offline_parameter: tuple[str, str] | None = None
    token_fields: Callable[[TokenFacts], dict[str, Any]] = field(default=_no_fields)
    redirect_params: Callable[[Organisation, Mapping[str, str]], list[tuple[str, str]]] = field(
        default=_no_params
    )
    webhooks: bool = False
    # Sends the browser to the app's Disconnect URL after a disconnect inside the platform
    # (Intuit, naming the company as realmId).
    disconnect_param: str | None = None
    # NetSuite: a state of 22 to 1024 characters.
    state_length: tuple[int, int] | None = None

    @property
    def playing(self) -> str | None:
        """The vendor this dialect plays, or None for the Sandbox speaking for itself."""
        return None if self.key == NATIVE else self.vendor

    def split_scope(self, scope: str | None) -> list[str]:
        """The scopes of a request, split on this vendor's separator (none when empty)."""
        return [s for s in (scope or "").split(self.separator) if s]


# --- Organisation ids as each vendor forms them ----------------------------------------


def stable_digest(text: str) -> bytes:
    """A digest of ``text``: the seed of every invented but stable id."""
    return hashlib.sha256(text.encode()).digest()


def stable_number(text: str, digits: int) -> int:
    """A stable number of exactly ``digits`` digits, seeded by ``text``."""
    low = 10 ** (digits - 1)
    return low + int.from_bytes(stable_digest(text)[:8]) % (9 * low)


def stable_uuid(text: str) -> str:
    """A stable version-4-shaped UUID, seeded by ``text``."""
    return str(uuid.UUID(bytes=stable_digest(text)[:16], version=4))


def dialect_organisation_id(key: str, organisation: Organisation) -> str:
    """The id the vendor played by ``key`` gives ``organisation``: what Onramp should store.

    Xero ``tenantId``, MYOB ``businessId`` and Business Central company ``id`` are
    UUIDs; QuickBooks ``realmId`` a 15-digit number; Sage a 32-hex-digit GUID; FreeAgent
    ``company.id`` a numeric string; FreshBooks ``business.id`` an integer (as a
    string here); Zoho ``organization_id`` a numeric string; NetSuite an account id like
    ``TSTDRV1234567``; Wave a base64 node id (not documented by Wave: its form,
    ``Business:<uuid>`` encoded, is invented). Stable across restarts; distinct per
    dialect, so that an id of one never names an organisation in another.
    """
    seed = f"{key}:{organisation.id}"
    match key:
        case "sandbox":
            return organisation.id
        case "quickbooks":
            return str(stable_number(seed, 15))
        case "sage":
            return stable_digest(seed)[:16].hex()
        case "freeagent":
            return str(stable_number(seed, 6))
        case "freshbooks":
            return str(stable_number(seed, 7))
        case "zoho_books":
            return str(stable_number(seed, 9))
        case "netsuite":
            return f"TSTDRV{stable_number(seed, 7)}"
        case "wave":
            return base64.b64encode(f"Business:{stable_uuid(seed)}".encode()).decode()
        case _:
            return stable_uuid(seed)


def dialect_organisation_name(key: str, organisation: Organisation) -> str:
    """The name the vendor played by ``key`` shows for ``organisation`` (the same in all)."""
    return organisation.name


def find_dialect_organisation(key: str, dialect_id: str) -> Organisation | None:
    """The sandbox organisation the vendor played by ``key`` calls ``dialect_id``."""
    return next(
        (org for org in ORGANISATIONS if dialect_organisation_id(key, org) == dialect_id), None
    )


# --- Token response fields ---------------------------------------------------------------

# QuickBooks: a refresh token lasts 100 days from its last use, and the approval at
# most five years (its clients' README and changelog).
QUICKBOOKS_REFRESH_SECONDS = 8726400
QUICKBOOKS_HARD_LIMIT = timedelta(days=5 * 365)
QUICKBOOKS_HARD_HEADER = "x-include-refresh-token-hard-expires-in"
# Sage: about 31 days (third party, unconfirmed).
SAGE_REFRESH_SECONDS = 31 * 24 * 3600
# FreeAgent says to read the value, not assume it; not documented by FreeAgent: this one.
FREEAGENT_REFRESH_SECONDS = 30 * 24 * 3600


def _quickbooks_fields(facts: TokenFacts) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "x_refresh_token_expires_in": facts.refresh_seconds(QUICKBOOKS_REFRESH_SECONDS)
    }
    if facts.headers.get(QUICKBOOKS_HARD_HEADER, "").lower() == "true":
        left = facts.granted_at + QUICKBOOKS_HARD_LIMIT - facts.now
        hard = facts.refresh_seconds(max(int(left.total_seconds()), 0))
        fields["x_refresh_token_hard_expires_in"] = hard
    return fields


def _sage_fields(facts: TokenFacts) -> dict[str, Any]:
    return {"refresh_token_expires_in": facts.refresh_seconds(SAGE_REFRESH_SECONDS)}


def _freeagent_fields(facts: TokenFacts) -> dict[str, Any]:
    return {"refresh_token_expires_in": facts.refresh_seconds(FREEAGENT_REFRESH_SECONDS)}


def _freshbooks_fields(facts: TokenFacts) -> dict[str, Any]:
    return {"scope": facts.scope, "created_at": int(facts.now.timestamp())}


def _zoho_fields(facts: TokenFacts) -> dict[str, Any]:
    return {"api_domain": facts.api_base}


def _business_central_fields(facts: TokenFacts) -> dict[str, Any]:
    # Microsoft's identity platform: ext_expires_in as long as expires_in here.
    return {"scope": facts.scope, "ext_expires_in": BUSINESS_CENTRAL_ACCESS_SECONDS}


# --- What the redirect back names ---------------------------------------------------------

# NetSuite's role and entity (the user's internal id) on the redirect: their values here
# are invented (Oracle's example shows role=3, entity=4622).
NETSUITE_ROLE = "3"
NETSUITE_ENTITY = "4622"


def _quickbooks_params(
    organisation: Organisation, _request: Mapping[str, str]
) -> list[tuple[str, str]]:
    return [("realmId", dialect_organisation_id("quickbooks", organisation))]


def _myob_params(organisation: Organisation, request: Mapping[str, str]) -> list[tuple[str, str]]:
    # MYOB names the company file only when the app asked with prompt=consent.
    if request.get("prompt") != "consent":
        return []
    return [
        ("businessId", dialect_organisation_id("myob", organisation)),
        ("businessName", dialect_organisation_name("myob", organisation)),
    ]


def _netsuite_params(
    organisation: Organisation, _request: Mapping[str, str]
) -> list[tuple[str, str]]:
    return [
        ("role", NETSUITE_ROLE),
        ("entity", NETSUITE_ENTITY),
        ("company", dialect_organisation_id("netsuite", organisation)),
    ]


# --- Scopes ---------------------------------------------------------------------------------

# Xero: the granular scopes of March 2026 (third party) and the broad ones Xero's scopes
# page lists (not in the reference facts, which confirm offline_access only).
XERO_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.reports.read",
        "accounting.journals.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.invoices.read",
        "accounting.payments.read",
        "accounting.banktransactions.read",
        "accounting.reports.profitandloss.read",
        "accounting.reports.balancesheet.read",
    }
)
# Intuit's Python client's Scopes enum; only the accounting one is in the reference facts.
QUICKBOOKS_SCOPES = frozenset(
    {
        "com.intuit.quickbooks.accounting",
        "com.intuit.quickbooks.payment",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
    }
)
SAGE_SCOPES = frozenset({"readonly", "full_access"})
MYOB_SCOPES = frozenset(
    {
        "sme-general-ledger",
        "sme-sales",
        "sme-timebilling",
        "sme-inventory",
        "sme-contacts-customer",
        "sme-contacts-supplier",
        "sme-contacts-personal",
        "sme-contacts-employee",
        "sme-banking",
        "sme-purchases",
        "sme-payroll",
        "sme-company-settings",
        "sme-company-file",
    }
)
NETSUITE_SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})
# FreshBooks: user:profile:read is the one the reference facts name (for users/me); the
# others are FreshBooks' read scopes as its scopes page lists them, not in those facts.
FRESHBOOKS_SCOPES = frozenset(
    f"user:{area}:{access}"
    for area in (
        "profile",
        "clients",
        "invoices",
        "estimates",
        "expenses",
        "payments",
        "reports",
        "bills",
        "bill_payments",
        "journal_entries",
        "taxes",
        "credit_notes",
        "projects",
        "time_entries",
    )
    for access in ("read", "write")
)
ZOHO_MODULES = (
    "contacts",
    "settings",
    "estimates",
    "invoices",
    "customerpayments",
    "creditnotes",
    "projects",
    "expenses",
    "salesorders",
    "purchaseorders",
    "bills",
    "debitnotes",
    "vendorpayments",
    "banking",
    "accountants",
)
# Service.scope.OPERATION; ZohoBooks.fullaccess.all appears in guides (third party), and
# ZohoBooks.fullaccess.READ nowhere, so it is refused.
ZOHO_SCOPES = frozenset(
    {
        f"ZohoBooks.{module}.{operation}"
        for module in ZOHO_MODULES
        for operation in ("ALL", "READ", "CREATE", "UPDATE", "DELETE")
    }
    | {"ZohoBooks.fullaccess.all"}
)
# Wave's own list: no transaction:read and no offline_access.
WAVE_SCOPES = frozenset(
    {
        *(
            f"{area}:{access}"
            for area in ("account", "business", "customer", "product", "sales_tax", "vendor")
            for access in ("read", "write", "*")
        ),
        "invoice:read",
        "invoice:write",
        "invoice:send",
        "invoice:*",
        "transaction:write",
        "transaction:*",
        "user:read",
        "user:*",
    }
)
# .default and offline_access from the facts; openid, profile and email are the Microsoft
# identity platform's own (not in the reference facts).
BUSINESS_CENTRAL_SCOPES = frozenset(
    {
        "https://api.businesscentral.dynamics.com/.default",
        "offline_access",
        "openid",
        "profile",
        "email",
    }
)
# 60-90 minutes, unconfirmed: an hour here.
BUSINESS_CENTRAL_ACCESS_SECONDS = 3600


DIALECTS: dict[str, Dialect] = {
    dialect.key: dialect
    for dialect in (
        Dialect(
            key=NATIVE,
            vendor="Sandbox Accounting",
            authorize_path="/authorize",
            token_path="/token",
            revoke_path="/revoke",
            scopes=frozenset(SCOPES),
            client_auth=(BASIC, POST),
            access_seconds=1800,
            pkce_required=True,
            announces_issuer=True,
        ),
        Dialect(
            key="xero",
            refuses_ended_tokens=True,
            vendor="Xero",
            authorize_path="/identity/connect/authorize",
            token_path="/connect/token",
            revoke_path="/connect/revocation",
            scopes=XERO_SCOPES,
            client_auth=(BASIC,),
            access_seconds=1800,
            offline_scope="offline_access",
            webhooks=True,
        ),
        Dialect(
            key="quickbooks",
            refuses_ended_tokens=True,
            vendor="QuickBooks Online",
            authorize_path="/connect/oauth2",
            token_path="/oauth2/v1/tokens/bearer",
            revoke_path="/v2/oauth2/tokens/revoke",
            revoke_body="json",
            scopes=QUICKBOOKS_SCOPES,
            client_auth=(BASIC,),
            access_seconds=3600,
            token_type="bearer",
            token_fields=_quickbooks_fields,
            redirect_params=_quickbooks_params,
            webhooks=True,
            disconnect_param="realmId",
        ),
        Dialect(
            key="sage",
            vendor="Sage Accounting",
            authorize_path="/oauth2/auth/central",
            token_path="/token",
            scopes=SAGE_SCOPES,
            client_auth=(POST,),
            access_seconds=300,
            token_fields=_sage_fields,
        ),
        Dialect(
            key="freeagent",
            vendor="FreeAgent",
            authorize_path="/v2/approve_app",
            token_path="/v2/token_endpoint",
            scopes=frozenset(),
            client_auth=(BASIC,),
            access_seconds=3600,
            token_fields=_freeagent_fields,
        ),
        Dialect(
            key="myob",
            vendor="MYOB Business",
            authorize_path="/oauth2/account/authorize",
            token_path="/oauth2/v1/authorize",
            scopes=MYOB_SCOPES,
            client_auth=(POST,),
            access_seconds=1200,
            redirect_params=_myob_params,
        ),
        Dialect(
            key="netsuite",
            refuses_ended_tokens=True,
            vendor="NetSuite",
            authorize_path="/app/login/oauth2/authorize.nl",
            token_path="/services/rest/auth/oauth2/v1/token",
            revoke_path="/services/rest/auth/oauth2/v1/revoke",
            scopes=NETSUITE_SCOPES,
            client_auth=(BASIC,),
            access_seconds=3600,
            pkce_required=True,
            redirect_params=_netsuite_params,
            state_length=(22, 1024),
        ),
        Dialect(
            key="freshbooks",
            vendor="FreshBooks",
            authorize_path="/oauth/authorize",
            token_path="/auth/oauth/token",
            scopes=FRESHBOOKS_SCOPES,
            client_auth=(POST,),
            access_seconds=43200,
            token_fields=_freshbooks_fields,
        ),
        Dialect(
            key="zoho_books",
            vendor="Zoho Books",
            authorize_path="/oauth/v2/auth",
            token_path="/oauth/v2/token",
            revoke_path="/oauth/v2/token/revoke",
            revoke_body="parameter",
            scopes=ZOHO_SCOPES,
            separator=",",
            client_auth=(POST,),
            access_seconds=3600,
            rotates=False,
            offline_parameter=("access_type", "offline"),
            token_fields=_zoho_fields,
        ),
        Dialect(
            key="wave",
            vendor="Wave",
            authorize_path="/oauth2/authorize/",
            token_path="/oauth2/token/",
            scopes=WAVE_SCOPES,
            client_auth=(POST,),
            access_seconds=7200,
        ),
        Dialect(
            key="business_central",
            vendor="Microsoft Dynamics 365 Business Central",
            authorize_path="/<tenant>/oauth2/v2.0/authorize",
            token_path="/<tenant>/oauth2/v2.0/token",
            scopes=BUSINESS_CENTRAL_SCOPES,
            client_auth=(POST,),
            access_seconds=BUSINESS_CENTRAL_ACCESS_SECONDS,
            offline_scope="offline_access",
            token_fields=_business_central_fields,
        ),
    )
}
VENDOR_DIALECTS = tuple(key for key in DIALECTS if key != NATIVE)


def dialect_base(sandbox_url: str, key: str) -> str:
    """Where a dialect's paths start: the Sandbox's own root, or ``/v/<key>`` under it."""
    base = sandbox_url.rstrip("/")
    return base if key == NATIVE else f"{base}/v/{key}"
