"""A journey's data map and draft privacy impact assessment in the console, and its exports."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from app.extensions import db
from app.webhooks.endpoints import add_endpoint, disable_endpoint
from tests.admin import signed_in_as


@pytest.mark.parametrize("role", ["viewer", "support", "editor", "admin"])
def test_every_colleague_who_sees_journeys_sees_the_privacy_page(app: Flask, role: str) -> None:
    colleague = signed_in_as(app, role)
    page = colleague.get("/admin/journeys/default/privacy")
    assert page.status_code == 200
    text = page.text
    assert (
        "Data map and privacy impact assessment: Share your accounts for your loan application"
        in text
    )
    assert "Profit and loss, balance sheet and cash flow" in text
    assert "Consent (GDPR Art. 6(1)(a))" in text
    assert "accounting.banktransactions.read" in text
    assert "4. Necessity and proportionality" in text
    assert "<strong>To complete:</strong>" in text
    assert colleague.get("/admin/journeys/default/privacy.md").status_code == 200
    assert colleague.get("/admin/journeys/default/privacy.json").status_code == 200


def test_the_journey_page_links_to_its_privacy_page(app: Flask) -> None:
    page = signed_in_as(app, "viewer").get("/admin/journeys/business")
    assert 'href="/admin/journeys/business/privacy"' in page.text
    assert "Data map and privacy assessment" in page.text


def test_signed_out_visitors_are_sent_to_sign_in_and_unknown_journeys_are_404(app: Flask) -> None:
    anonymous = app.test_client()
    for path in ("privacy", "privacy.md", "privacy.json"):
        response = anonymous.get(f"/admin/journeys/default/{path}")
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
    viewer = signed_in_as(app, "viewer")
    for path in ("privacy", "privacy.md", "privacy.json"):
        assert viewer.get(f"/admin/journeys/nope/{path}").status_code == 404


def test_the_markdown_export_downloads_a_document_to_complete(app: Flask) -> None:
    response = signed_in_as(app, "viewer").get("/admin/journeys/business/privacy.md")
    assert response.mimetype == "text/markdown"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="privacy-business-')
    assert disposition.endswith('.md"')
    text = response.text
    assert text.startswith(
        "# Data map and privacy impact assessment (draft): "
        "Apply for a Harbour Capital business loan\n"
    )
    assert (
        "| `details.company_name` | Registered business name | text | required | always |" in text
    )
    assert "Abandoned runs' answers and events are purged after 30 days." in text
    assert "**To complete:** residual risks approved by (name, date)." in text


def test_the_json_export_names_the_enabled_webhook_hosts_as_recipients(app: Flask) -> None:
    with app.app_context():
        add_endpoint("https://93.184.215.14/hooks", ["consent.granted"])
        off, _ = add_endpoint("https://93.184.215.15/hooks", [])
        disable_endpoint(off, "test")
        db.session.commit()
    response = signed_in_as(app, "viewer").get("/admin/journeys/default/privacy.json")
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].endswith('.json"')
    data = json.loads(response.text)
    assert data["journey_id"] == "default"
    assert data["controller"] == "Northwind Lending"
    assert [item["key"] for item in data["consent_items"]] == [
        "financial_statements",
        "invoices_bills",
        "ongoing_monitoring",
    ]
    recipients = [flow["to"] for flow in data["flows"]]
    assert "93.184.215.14" in recipients
    assert "93.184.215.15" not in recipients
    assert [p["key"] for p in data["processors"]] == [
        "sandbox",
        "xero",
        "quickbooks",
        "sage",
        "freeagent",
    ]
