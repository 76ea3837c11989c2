"""A journey's data map and draft privacy impact assessment, built from its configuration."""

from __future__ import annotations

import json
from pathlib import Path

from app.engine.loading import load_journey
from app.engine.privacy_map import (
    CONSENT_BASIS,
    AnswerEntry,
    ConsentEntry,
    Flow,
    Processor,
    WebhookTarget,
    build,
    to_markdown,
)

JOURNEYS = Path(__file__).parents[2] / "journeys"
REQUIRED_NOTE = (
    "To complete: required to go on: check that consent is freely given (Art. 7(4)), or "
    "name another basis, such as a contract (Art. 6(1)(b)) or a legal obligation (Art. 6(1)(c))."
)
DEFAULT_LASTS = "90 days, then the customer is asked to reconfirm (reminded 14 days before it ends)"


def test_the_default_journeys_consent_items_are_mapped_with_their_legal_basis() -> None:
    pm = build(load_journey(JOURNEYS / "default.yaml"))
    assert (pm.controller, pm.jurisdiction, pm.policy_version) == (
        "Northwind Lending",
        "GB",
        "2026-11",
    )
    assert pm.privacy_url == "https://northwind-lending.example/privacy"
    assert pm.consent_lasts == DEFAULT_LASTS
    assert pm.consent_items == (
        ConsentEntry(
            key="financial_statements",
            step_id="consent",
            category="Profit and loss, balance sheet and cash flow",
            purpose="To check your business's income, costs and ability to repay.",
            retention="For the length of your loan and 6 years after it ends, as the law requires.",
            recipients="Northwind Lending and our credit risk team.",
            required=True,
            legal_basis=CONSENT_BASIS,
            lasts=DEFAULT_LASTS,
            jurisdiction="GB",
            notes=(REQUIRED_NOTE, "Also covers the files uploaded at step upload."),
        ),
        ConsentEntry(
            key="invoices_bills",
            step_id="consent",
            category="Invoices, bills and the people you trade with",
            purpose="To understand who pays you, how quickly, and who you owe.",
            retention="For the length of your loan and 6 years after it ends.",
            recipients="Northwind Lending.",
            required=True,
            legal_basis=CONSENT_BASIS,
            lasts=DEFAULT_LASTS,
            jurisdiction="GB",
            notes=(REQUIRED_NOTE,),
        ),
        ConsentEntry(
            key="ongoing_monitoring",
            step_id="consent",
            category="Monthly updates of the same records while your loan is open",
            purpose=(
                "To offer you better terms and spot difficulties early, without asking you again."
            ),
            retention="12 months after each update.",
            recipients="Northwind Lending.",
            required=False,
            legal_basis=CONSENT_BASIS,
            lasts=DEFAULT_LASTS,
            jurisdiction="GB",
            notes=(),
        ),
    )
    assert pm.answers == ()


def test_the_default_journeys_platforms_are_its_processors_with_their_scopes() -> None:
    pm = build(load_journey(JOURNEYS / "default.yaml"))
    assert pm.processors == (
        Processor(
            "sandbox",
            "Sandbox Accounting",
            ("accounting.read", "offline_access"),
            ("{sandbox_url}",),
        ),
        Processor(
            "xero",
            "Xero",
            (
                "offline_access",
                "accounting.settings.read",
                "accounting.contacts.read",
                "accounting.invoices.read",
                "accounting.payments.read",
                "accounting.banktransactions.read",
                "accounting.reports.profitandloss.read",
            ),
            ("login.xero.com", "identity.xero.com", "api.xero.com"),
        ),
        Processor(
            "quickbooks",
            "QuickBooks Online",
            ("com.intuit.quickbooks.accounting",),
            ("appcenter.intuit.com", "oauth.platform.intuit.com"),
        ),
        Processor(
            "sage",
            "Sage Business Cloud Accounting",
            ("readonly",),
            ("www.sageone.com", "oauth.accounting.sage.com", "api.accounting.sage.com"),
        ),
        Processor("freeagent", "FreeAgent", (), ("{api}",)),
    )


def test_the_default_journeys_data_goes_to_the_business_the_delegate_the_site_and_the_mail() -> (
    None
):
    pm = build(
        load_journey(JOURNEYS / "default.yaml"),
        [WebhookTarget("https://hooks.northwind-lending.example/onramp", ("consent.granted",))],
    )
    assert [(f.to, f.how) for f in pm.flows] == [
        (
            "Northwind Lending",
            "Onramp's API, with the business's API keys (credentials: only keys with that scope).",
        ),
        (
            "Northwind Lending",
            "The console, the funnel and the journey.software_not_listed event.",
        ),
        (
            "The person the customer asks to connect for them (accountant, bookkeeper, other)",
            "Email from Onramp, in the business's name.",
        ),
        (
            "Northwind Lending",
            "Onramp's API, only while financial_statements stays granted.",
        ),
        (
            "hooks.northwind-lending.example",
            "Signed webhooks (Standard Webhooks) to the business's endpoint.",
        ),
        ("northwind-lending.example", "Embedding (allowed origins)."),
        ("The mail server Onramp is set up with", "Reminder emails, 14 days before consent ends."),
    ]
    assert pm.flows[3].what == (
        "Files the customer uploads at step upload (pdf, csv, xlsx; at most 10, 10 MB each)."
    )
    assert pm.flows[4] == Flow(
        "hooks.northwind-lending.example",
        "Event notices (consent.granted): ids, statuses, the customer's external id; "
        "no accounting data.",
        "Signed webhooks (Standard Webhooks) to the business's endpoint.",
    )


def test_what_onramp_keeps_names_blanks_where_the_journey_sets_no_retention() -> None:
    pm = build(load_journey(JOURNEYS / "default.yaml"))
    kept = {h.what: h.kept for h in pm.held}
    assert kept["The journey's runs: answers, journey events (which step, when)"] == (
        "To complete: the journey sets no retention.abandoned_runs_days: abandoned runs are "
        "kept until the customer is erased."
    )
    assert kept["Files uploaded at step upload"] == (
        "To complete: the journey sets no retention.uploads_days: files are kept until the "
        "customer is erased."
    )
    assert "Access and refresh tokens of each connection" in kept


def test_the_business_journey_maps_its_questions_and_its_retention() -> None:
    pm = build(load_journey(JOURNEYS / "business.yaml"))
    assert [(e.key, e.required, e.recipients, e.retention) for e in pm.consent_items] == [
        (
            "accounts",
            True,
            "Harbour Capital and its lending partner, Quay Bank plc.",
            "7 years after the loan ends.",
        ),
        ("marketing", False, "Harbour Capital.", "Until you unsubscribe."),
    ]
    assert pm.consent_lasts == "until the customer withdraws it"
    assert pm.policy_version.startswith("the journey version (")
    basis = "To complete: the legal basis for asking it (the journey's text doesn't say)."
    assert pm.answers[0] == AnswerEntry(
        "details", "company_name", "Registered business name", "text", True, None, basis
    )
    assert pm.answers[-1] == AnswerEntry(
        "company",
        "registration_number",
        "Company registration number",
        "text",
        True,
        'details.company_type == "limited"',
        basis,
    )
    assert len(pm.answers) == 9
    assert [p.key for p in pm.processors] == ["sandbox", "xero", "freeagent"]
    kept = {h.what: h.kept for h in pm.held}
    assert kept["The journey's runs: answers, journey events (which step, when)"] == (
        "Abandoned runs' answers and events are purged after 30 days."
    )
    assert [f.to for f in pm.flows] == ["Harbour Capital", "Harbour Capital"]


def test_the_draft_assessment_follows_the_icos_sections_with_blanks_to_complete() -> None:
    pm = build(load_journey(JOURNEYS / "business.yaml"))
    assert [s.title for s in pm.dpia] == [
        "1. The need for a DPIA",
        "2. Description of the processing",
        "3. Consultation",
        "4. Necessity and proportionality",
        "5. Risks to individuals",
        "6. Measures to reduce risk",
        "7. Sign off and outcomes",
    ]
    necessity = pm.dpia[3].paragraphs
    assert (
        "To complete: the lawful basis for the journey's 9 questions "
        "(the journey's text doesn't say)." in necessity
    )
    assert (
        "The journey links to the privacy policy at https://harbour-capital.example/privacy."
        in necessity
    )
    assert all(p.startswith("To complete:") for p in pm.dpia[6].paragraphs)
    assert [r.risk for r in pm.risks] == [
        "More of the business's financial records is read than the purpose needs.",
        "Consent is not freely given, or the customer cannot withdraw it easily.",
        "Access tokens are stolen and used to read the accounts.",
        "Data is kept longer than the customer was told.",
    ]


def test_the_exports_carry_the_same_map() -> None:
    pm = build(load_journey(JOURNEYS / "default.yaml"))
    data = json.loads(json.dumps(pm.as_dict()))
    assert data["journey_id"] == "default"
    assert [i["key"] for i in data["consent_items"]] == [
        "financial_statements",
        "invoices_bills",
        "ongoing_monitoring",
    ]
    assert data["consent_items"][0]["legal_basis"] == "Consent (GDPR Art. 6(1)(a))"
    markdown = to_markdown(pm)
    assert markdown.startswith(
        "# Data map and privacy impact assessment (draft): "
        "Share your accounts for your loan application\n"
    )
    assert (
        "| `ongoing_monitoring` | Monthly updates of the same records while your loan is open | "
        in markdown
    )
    assert (
        "### 7. Sign off and outcomes\n\n**To complete:** measures approved by (name, date)."
        in markdown
    )
