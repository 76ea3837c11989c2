"""What each vendor's organisation look-up answers, in that vendor's shape.

Plain functions of the grants and organisations they describe, so that the routes
(app/sandbox/vendor_views.py) only check the bearer token and pick one. Shapes follow
the samples in tests/contract/vendors/<key>.json; values no vendor documents
(dates, versions, the demo user's names and numbers) are invented.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from app.sandbox.data import (
    ADVISER,
    DEMO,
    INVOICE_ONLY,
    ORGANISATIONS,
    READ_ONLY,
    STANDARD,
    USERS,
    Organisation,
    User,
)
from app.sandbox.dialects import (
    dialect_organisation_id,
    dialect_organisation_name,
    stable_number,
    stable_uuid,
)
from app.sandbox.grants import Grant

# A test user's role, as each vendor that reports one names it.
# Xero: the User schema's OrganisationRole enum (XeroAPI/Xero-OpenAPI xero_accounting.yaml
# @e952d0b, components.schemas.User).
XERO_ROLES = {
    STANDARD: "STANDARD",
    ADVISER: "FINANCIALADVISER",
    READ_ONLY: "READONLY",
    INVOICE_ONLY: "INVOICEONLY",
}
# FreshBooks: business_memberships[].role; "owner" is in FreshBooks' own sample (identity
# model), "employee" only in third parties' lists, "accountant" invented.
FRESHBOOKS_ROLES = {
    STANDARD: "owner",
    ADVISER: "accountant",
    READ_ONLY: "employee",
    INVOICE_ONLY: "employee",
}


# --- Xero ---------------------------------------------------------------------------------


def xero_connection_id(grant: Grant) -> str:
    """A Connection's ``id``: one per approval and organisation, never the tenantId."""
    return stable_uuid(f"xero-connection:{grant.grant_id}:{grant.organisation.id}")


def _xero_time(moment: datetime | None) -> str | None:
    # Xero's sample: seven fractional digits and no zone ("2019-12-07T18:46:19.5165400").
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.%f0")


def xero_connections(grants: list[Grant], auth_event_id: str | None = None) -> list[dict[str, Any]]:
    """GET /connections: a top-level array, one Connection per organisation connected,
    optionally only those of one approval (``?authEventId=``)."""
    return [
        {
            "id": xero_connection_id(grant),
            "authEventId": grant.grant_id,
            "tenantId": dialect_organisation_id("xero", grant.organisation),
            "tenantType": "ORGANISATION",
            "tenantName": dialect_organisation_name("xero", grant.organisation),
            "createdDateUtc": _xero_time(grant.granted_at),
            "updatedDateUtc": _xero_time(grant.last_issued_at),
        }
        for grant in grants
        if auth_event_id is None or grant.grant_id == auth_event_id
    ]


def _xero_msdate(moment: datetime) -> str:
    # Xero's Accounting API dates: "/Date(<milliseconds>+0000)/".
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def xero_users(organisation: Organisation, now: datetime) -> dict[str, Any]:
    """GET /api.xro/2.0/Users (xero-tenant-id naming the organisation): every user of the
    organisation with their OrganisationRole, in the Accounting API's envelope."""
    return {
        "Id": str(stable_uuid(f"xero-users:{organisation.id}:{now.isoformat()}")),
        "Status": "OK",
        "ProviderName": "Onramp",
        "DateTimeUTC": f"/Date({int(now.timestamp() * 1000)})/",
        "Users": [
            {
                "UserID": stable_uuid(f"xero-user:{user.email}"),
                "EmailAddress": user.email,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "UpdatedDateUTC": _xero_msdate(now),
                "IsSubscriber": user is DEMO,
                "OrganisationRole": XERO_ROLES[role],
            }
            for user in USERS
            if (role := user.role_in(organisation.id)) is not None
        ],
    }


# --- QuickBooks -----------------------------------------------------------------------------


def _intuit_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def quickbooks_company_info(organisation: Organisation, now: datetime) -> dict[str, Any]:
    """GET /v3/company/<realmId>/companyinfo/<realmId> (shape from a third-party mirror of
    Intuit's reference: ``Id`` is the CompanyInfo entity's, "1", not the realm)."""
    return {
        "CompanyInfo": {
            "CompanyName": dialect_organisation_name("quickbooks", organisation),
            "LegalName": dialect_organisation_name("quickbooks", organisation),
            "Country": "GB",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "Id": "1",
        },
        "time": _intuit_time(now),
    }


def quickbooks_fault(kind: str, message: str, now: datetime, code: str = "403") -> dict[str, Any]:
    """Intuit's error envelope (not in the reference facts: its form here is invented)."""
    return {
        "Fault": {"Error": [{"Message": message, "code": code}], "type": kind},
        "time": _intuit_time(now),
    }


# --- Sage ---------------------------------------------------------------------------------


def sage_businesses(organisations: tuple[Organisation, ...] = ORGANISATIONS) -> dict[str, Any]:
    """GET /v3.1/businesses: every business of the user, in Sage's paged envelope."""
    items = [
        {
            "displayed_as": dialect_organisation_name("sage", org),
            "id": dialect_organisation_id("sage", org),
            "$path": f"/businesses/{dialect_organisation_id('sage', org)}",
        }
        for org in organisations
    ]
    return {
        "$total": len(items),
        "$page": 1,
        "$next": None,
        "$back": None,
        "$items_per_page": 2147483647,
        "$items": items,
    }


# --- FreeAgent ------------------------------------------------------------------------------


def freeagent_company(organisation: Organisation, api_base: str) -> dict[str, Any]:
    """GET /v2/company: the token's company; ``url`` is the endpoint itself, the same for
    every company, so ``id`` is what tells them apart."""
    name = dialect_organisation_name("freeagent", organisation)
    return {
        "company": {
            "url": f"{api_base}/v2/company",
            "id": dialect_organisation_id("freeagent", organisation),
            "name": name,
            "subdomain": "".join(c for c in name.lower() if c.isalnum()),
            "type": "UkLimitedCompany",
            "currency": "GBP",
            "mileage_units": "miles",
            "company_start_date": "2020-05-01",
            "freeagent_start_date": "2020-05-01",
            "first_accounting_year_end": "2021-04-30",
            "sales_tax_registration_status": "Registered",
        }
    }


# --- FreshBooks -----------------------------------------------------------------------------


def freshbooks_business(organisation: Organisation) -> dict[str, Any]:
    """One business as FreshBooks describes it: an integer ``id``, a UUID and an
    ``account_id`` of six letters and digits (the accounting API's)."""
    digest = hashlib.sha256(f"freshbooks-account:{organisation.id}".encode()).hexdigest()
    return {
        "id": int(dialect_organisation_id("freshbooks", organisation)),
        "business_uuid": stable_uuid(f"freshbooks-business:{organisation.id}"),
        "name": dialect_organisation_name("freshbooks", organisation),
        "account_id": digest[:6],
        "date_format": "dd/mm/yyyy",
        "active": True,
    }


def freshbooks_me(
    organisations: tuple[Organisation, ...] = DEMO.organisations, user: User = DEMO
) -> dict[str, Any]:
    """GET /auth/api/v1/users/me: the user, and a membership per business with their role."""
    return {
        "response": {
            "id": stable_number(
                "freshbooks-user" if user is DEMO else f"freshbooks-user:{user.email}", 7
            ),
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "business_memberships": [
                {
                    "id": stable_number(f"freshbooks-membership:{org.id}", 7),
                    "role": FRESHBOOKS_ROLES[user.role_in(org.id) or STANDARD],
                    "business": freshbooks_business(org),
                }
                for org in organisations
            ],
        }
    }


# --- Zoho Books -----------------------------------------------------------------------------


def zoho_organizations(organisations: tuple[Organisation, ...] = ORGANISATIONS) -> dict[str, Any]:
    """GET /books/v3/organizations (the list wrapper is from a third-party guide)."""
    return {
        "code": 0,
        "message": "success",
        "organizations": [
            {
                "organization_id": dialect_organisation_id("zoho_books", org),
                "name": dialect_organisation_name("zoho_books", org),
                "is_default_org": index == 0,
                "account_created_date": "2024-01-15",
                "time_zone": "Europe/London",
                "language_code": "en",
                "date_format": "dd MMM yyyy",
                "fiscal_year_start_month": 3,
                "contact_name": f"{DEMO.first_name} {DEMO.last_name}",
                "industry_type": "Services",
            }
            for index, org in enumerate(organisations)
        ],
    }


# --- Wave -----------------------------------------------------------------------------------


def wave_businesses(organisations: tuple[Organisation, ...] = ORGANISATIONS) -> dict[str, Any]:
    """The answer to a ``businesses`` query (third-party clients' shape; Wave's
    pageInfo fields are its schema's, not in the reference facts)."""
    return {
        "data": {
            "businesses": {
                "pageInfo": {
                    "currentPage": 1,
                    "totalPages": 1,
                    "totalCount": len(organisations),
                },
                "edges": [
                    {
                        "node": {
                            "id": dialect_organisation_id("wave", org),
                            "name": dialect_organisation_name("wave", org),
                            "isPersonal": False,
                        }
                    }
                    for org in organisations
                ],
            }
        }
    }


def graphql_error(message: str, code: str) -> dict[str, Any]:
    """A GraphQL error response."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


# --- Business Central -----------------------------------------------------------------------

# The demo user's Microsoft Entra tenant (invented, stable).
BUSINESS_CENTRAL_TENANT = stable_uuid("business_central-tenant")
# Two environments, so that a customer has to choose one; each holds some organisations.
ENVIRONMENTS: dict[str, tuple[str, tuple[Organisation, ...]]] = {
    "production": ("Production", ORGANISATIONS[:2]),
    "sandbox-test": ("Sandbox", ORGANISATIONS[2:]),
}


def business_central_environments(api_base: str) -> dict[str, Any]:
    """GET /environments/v1.2: every environment of the tenant."""
    return {
        "value": [
            {
                "aadTenantId": BUSINESS_CENTRAL_TENANT,
                "applicationFamily": "BusinessCentral",
                "type": kind,
                "name": name,
                "countryCode": "GB",
                "webServiceUrl": f"{api_base}/v2.0/{BUSINESS_CENTRAL_TENANT}/{name}",
                "webClientLoginUrl": f"{api_base}/{BUSINESS_CENTRAL_TENANT}/{name}/",
                "ringName": "PROD",
            }
            for name, (kind, _organisations) in ENVIRONMENTS.items()
        ]
    }


def business_central_companies(
    environment: str, api_base: str, visible: tuple[Organisation, ...] = ORGANISATIONS
) -> dict[str, Any] | None:
    """GET /v2.0/<environment>/api/v2.0/companies, OData-wrapped (those of ``visible``);
    None for an unknown environment."""
    if environment not in ENVIRONMENTS:
        return None
    _kind, organisations = ENVIRONMENTS[environment]
    return {
        "@odata.context": f"{api_base}/v2.0/{environment}/api/v2.0/$metadata#companies",
        "value": [
            {
                "id": dialect_organisation_id("business_central", org),
                "systemVersion": "24.0.16410.18040",
                "timestamp": stable_number(f"business_central-timestamp:{org.id}", 5),
                "name": dialect_organisation_name("business_central", org),
                "displayName": dialect_organisation_name("business_central", org),
                "businessProfileId": "",
                "systemCreatedAt": "2024-01-15T09:30:00Z",
                "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                "systemModifiedAt": "2024-01-15T09:30:00Z",
                "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
            }
            for org in organisations
            if org in visible
        ],
    }


def odata_error(code: str, message: str) -> dict[str, Any]:
    """An OData JSON error body."""
    return {"error": {"code": code, "message": message}}
