"""The security evidence pack: `flask security report` and the console's page, read from the
installation, answering every question of the seed's security and compliance requirements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from app.ops import evidence
from app.webhooks.endpoints import add_endpoint
from tests.admin import signed_in_as
from tests.conftest import reset_database, test_settings

# The seed's "Security and compliance requirements" (004_826e199e3d528c28.txt): the four
# things a risk assessment looks for, and the key outputs.
SEED_QUESTIONS = (
    "webhook_encryption",
    "secure_authentication",
    "regulations",
    "monitoring",
    "data_ingestion_retention_transfer",
    "customer_connection_auth",
)
SECTIONS = (
    "webhooks",
    "authentication",
    "regulations",
    "personal_data",
    "retention",
    "keys",
    "transport",
    "sub_processors",
    "monitoring",
    "consent_ledger",
    "hostile_inputs",
    "golive",
)


def _report(app: Flask) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(args=["security", "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def _section(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in report["sections"] if s["key"] == key)


def _facts(report: dict[str, Any], key: str) -> dict[str, str]:
    return {f["label"]: f["value"] for f in _section(report, key)["facts"]}


def test_the_json_report_has_every_section_and_answers_every_seed_question(app: Flask) -> None:
    report = _report(app)
    assert [s["key"] for s in report["sections"]] == list(SECTIONS)
    answers = {a["key"]: a for a in report["answers"]}
    assert set(answers) == set(SEED_QUESTIONS)
    for answer in answers.values():
        assert answer["question"] and answer["answer"]
        assert answer["sections"] and set(answer["sections"]) <= set(SECTIONS)
    assert "HMAC-SHA256" in answers["webhook_encryption"]["answer"]
    assert "mutual TLS" in answers["webhook_encryption"]["answer"]
    assert "PKCE" in answers["customer_connection_auth"]["answer"]
    assert "HIPAA: not applicable and not claimed" in answers["regulations"]["answer"]
    regulations = _facts(report, "regulations")
    assert "flask customers erase" in regulations["Erasure (Art. 17)"]
    assert "flask customers export" in regulations["Access and portability (Art. 15, 20)"]


def test_the_report_reads_the_installations_journeys_platforms_and_alert_rules(
    app: Flask,
) -> None:
    report = _report(app)
    retention = _section(report, "retention")["tables"][0]
    business = next(row for row in retention["rows"] if row[0] == "business")
    assert business[2] == "30 days"  # journeys/business.yaml: retention.abandoned_runs_days
    platforms = _section(report, "sub_processors")["tables"][0]
    assert [row[0] for row in platforms["rows"]] == ["Sandbox Accounting"]
    assert "PKCE S256" in platforms["rows"][0][2]
    assert "accounting.read" in platforms["rows"][0][4]
    held = _section(report, "personal_data")["tables"]
    assert "Held for journey default" in [t["caption"] for t in held]
    alerts = _section(report, "monitoring")["tables"][0]
    assert "OnrampConsentLedgerBroken" in [row[0] for row in alerts["rows"]]
    hostile = _facts(report, "hostile_inputs")
    assert hostile["Recorded on"] == "2026-12-05"
    assert hostile["Server errors (5xx)"] == "0"
    golive = _section(report, "golive")["tables"][0]
    assert "Platform credentials for every platform offered" in [r[0] for r in golive["rows"]]


def test_a_new_webhook_endpoint_appears_with_its_protections(app: Flask) -> None:
    assert _facts(_report(app), "webhooks")["Endpoints registered"] == "0"
    with app.app_context():
        endpoint, secret = add_endpoint("https://93.184.215.14/onramp?token=abc", [])
        db.session.commit()
        public_id = endpoint.public_id
    result = app.test_cli_runner().invoke(args=["security", "report"])
    report = _report(app)
    assert _facts(report, "webhooks")["Endpoints registered"] == "1"
    table = _section(report, "webhooks")["tables"][0]
    row = dict(zip(table["headers"], table["rows"][0], strict=True))
    assert row["Endpoint"] == public_id
    assert row["Host"] == "93.184.215.14"
    assert row["Transport"] == "HTTPS (TLS)"
    assert row["Signature"] == "HMAC-SHA256 (Standard Webhooks)"
    assert row["Mutual TLS"] == "not configured"
    for output in (json.dumps(report), result.output):
        assert secret not in output
        assert "token=abc" not in output


def test_an_endpoint_without_tls_is_counted_and_shown_as_such(app: Flask) -> None:
    with app.app_context():
        add_endpoint("http://127.0.0.1:8080/hooks", [])  # loopback: development only
        db.session.commit()
    report = _report(app)
    assert _facts(report, "webhooks")["Endpoints not on HTTPS"] == "1"
    table = _section(report, "webhooks")["tables"][0]
    assert dict(zip(table["headers"], table["rows"][0], strict=True))["Transport"] == ("plain HTTP")


def test_a_recorded_verification_and_checkpoint_appear(app: Flask) -> None:
    ledger = _facts(_report(app), "consent_ledger")
    assert ledger["Last `consents verify`"] == "never run here"
    assert ledger["Latest signed checkpoint"] == evidence.NONE_YET
    runner = app.test_cli_runner()
    assert runner.invoke(args=["consents", "verify"]).exit_code == 0
    assert runner.invoke(args=["consents", "checkpoint"]).exit_code == 0
    ledger = _facts(_report(app), "consent_ledger")
    assert ledger["Last `consents verify`"].startswith("whole: 0 records, ")
    assert ledger["Last verified whole"] != evidence.NONE_YET
    assert ledger["Latest signed checkpoint"].startswith("sequence 0, ")


@pytest.fixture
def https_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        test_settings(
            tmp_path,
            PUBLIC_URL="https://onramp.example.com",
            METRICS_TOKEN="metrics-token-not-to-be-shown",
            TOKEN_ENCRYPTION_KEY="oWv9zY5s6RzqkNq3iBq2pPq6YlqS3m4b8m7m2K3oQxk=,"
            "Qrs1g5zRA4biChR4OoqxnDFuQZdbET8gQkeFEInHUgQ=",
        )
    )
    reset_database(app)
    yield app
    # Its connections are closed now, not by the garbage collector during a later test.
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_settings_change_the_report_and_no_secret_is_in_it(app: Flask, https_app: Flask) -> None:
    before = _facts(_report(app), "transport")
    assert before["HTTPS"].startswith("no")
    assert before["HSTS"] == "off"
    report = _report(https_app)
    after = _facts(report, "transport")
    assert after["HTTPS"] == "yes"
    assert after["HSTS"] == "max-age=31536000"
    assert after["Session cookie Secure"] == "True"
    assert _facts(report, "keys")["TOKEN_ENCRYPTION_KEY"].startswith("2 key(s) configured")
    assert _facts(report, "monitoring")["Metrics"] == "/metrics, bearer token set"
    text = (
        json.dumps(report) + https_app.test_cli_runner().invoke(args=["security", "report"]).output
    )
    config = https_app.config
    for name in ("SECRET_KEY", "SANDBOX_CLIENT_SECRET", "CONSENT_SIGNING_KEY", "METRICS_TOKEN"):
        assert config[name] not in text, name
    for key in config["TOKEN_ENCRYPTION_KEY"].split(","):
        assert key not in text


def test_the_terminal_report_is_markdown_with_the_questions_first(app: Flask) -> None:
    output = app.test_cli_runner().invoke(args=["security", "report"]).output
    assert output.startswith("# Security evidence pack: http://localhost\n")
    questions = output.index("## Questions and where they are answered")
    assert questions < output.index("## Webhooks")
    assert "- **Secure authentication methods (OAuth)**: " in output
    assert "| Journey | Consent lasts | Abandoned runs purged after | Uploads deleted after |" in (
        output
    )


@pytest.mark.parametrize("role", ["viewer", "support", "advisor", "editor"])
def test_only_admins_open_the_evidence_pages(app: Flask, role: str) -> None:
    colleague = signed_in_as(app, role)
    assert colleague.get("/admin/security").status_code == 403
    assert colleague.get("/admin/security.json").status_code == 403
    assert 'href="/admin/security"' not in colleague.get("/admin/").text


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/admin/security")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_an_admin_sees_the_printable_page_and_downloads_the_json(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    assert 'href="/admin/security"' in admin.get("/admin/").text
    page = admin.get("/admin/security")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Security evidence pack</h1>" in text
    assert "Data encryption on webhooks (such as mTLS, HMAC)" in text
    assert 'href="/admin/security.json" download' in text
    assert "HIPAA: not applicable and not claimed" in text
    assert 'id="evidence-consent_ledger"' in text
    assert "style=" not in text
    download = admin.get("/admin/security.json")
    assert download.mimetype == "application/json"
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="security-evidence.json"'
    )
    assert {a["key"] for a in download.json["answers"]} == set(SEED_QUESTIONS)


def test_the_page_speaks_french_and_german(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    french = admin.get("/admin/security", headers={"Accept-Language": "fr"}).text
    assert "Télécharger le JSON" in french
    german = admin.get("/admin/security", headers={"Accept-Language": "de"}).text
    assert "JSON herunterladen" in german


def test_an_endpoint_with_mutual_tls_and_encrypted_payloads_says_so(app: Flask) -> None:
    from joserfc.jwk import RSAKey

    from app.webhooks import encryption, mutual_tls
    from tests.integration.tls_receiver import issue

    authority = issue("Receiver CA", ca=True)
    client = issue("onramp-client", authority)
    receiver_key = RSAKey.generate_key(2048)
    with app.app_context():
        endpoint, _ = add_endpoint("https://93.184.215.14/onramp", [])
        mutual_tls.configure(
            endpoint,
            client_certificate=client.certificate_pem,
            client_key=client.key_pem,
            pinned_ca=authority.certificate_pem,
        )
        encryption.set_key(endpoint, receiver_key.as_dict(private=False))
        db.session.commit()
    report = _report(app)
    assert "in use on 1 and 1 of them" in _section(report, "webhooks")["summary"]
    table = _section(report, "webhooks")["tables"][0]
    row = dict(zip(table["headers"], table["rows"][0], strict=True))
    assert row["Mutual TLS"].startswith("client certificate ")
    assert row["Receiver's certificate"] == "pinned to 1 certificate(s)"
    assert row["Payload encryption"].startswith("compact JWE, RSA-OAEP-256 + A256GCM")
    # The client's private key never leaves the vault.
    body = client.key_pem.split("-----")[2].strip().splitlines()[1]
    assert body not in json.dumps(report)


def test_the_monitoring_answer_names_where_security_events_go(app: Flask) -> None:
    label = "Security events for a SIEM (ONRAMP_SECURITY_EVENTS)"
    assert _facts(_report(app), "monitoring")[label].startswith("off: ")
    app.config["SECURITY_EVENTS"] = "syslog://siem.example:514"
    report = _report(app)
    assert _facts(report, "monitoring")[label].startswith("JSON lines to syslog://siem.example:514")
    assert "security events go to a SIEM" in _section(report, "monitoring")["summary"]
