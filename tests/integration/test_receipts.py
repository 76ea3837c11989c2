"""Consent receipts: issued at the consent step, shown to their customer, emailed, and
verifiable offline by anyone holding the public key, failing when any byte changes."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiosmtpd.controller import Controller
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import clock, create_app, mail
from app.consent import ledger_signing, receipts
from app.consent.personal import destroy_key
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import ConsentReceipt, ConsentRecord, Customer, JourneyRun
from tests.conftest import test_settings
from tests.consent_records import chained
from tests.integration.conftest import ALL_CONSENTS, REQUIRED_CONSENTS
from tests.mail_sink import smtp_sink

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "app" / "consent" / "receipt_schema.json").read_text()
)
EMAIL = "owner@acme.example"
FINANCIAL_STATEMENTS = "Profit and loss, balance sheet and cash flow"
# Another Ed25519 seed than the test settings': the offline checker's app never signed anything.
OTHER_SIGNING_KEY = "b3RoZXItY29uc2VudC1zaWduaW5nLWtleS0zMmJ5dGU"


def consent(client: FlaskClient, answers: dict[str, str] = REQUIRED_CONSENTS) -> Any:
    client.post("/journey/welcome")
    return client.post("/journey/consent", data=answers)


def only_receipt(app: Flask) -> ConsentReceipt:
    with app.app_context():
        [receipt] = db.session.scalars(select(ConsentReceipt)).all()
        db.session.expunge(receipt)
        return receipt


def signed_token(app: Flask, receipt: ConsentReceipt) -> str:
    with app.app_context():
        return receipts.open_receipt(db.session.merge(receipt)).token


def public_key_pem(app: Flask) -> str:
    return app.test_cli_runner().invoke(args=["consents", "public-key"]).output


def another_browser(app: Flask, name: str, email: str) -> FlaskClient:
    """A browser that opened a different customer's journey link."""
    with app.app_context():
        customer = create_customer(name, email)
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    browser = app.test_client()
    browser.get(link)
    return browser


# Issuing


def test_consent_step_issues_a_signed_kantara_receipt(
    app: Flask, customer_client: FlaskClient
) -> None:
    response = consent(customer_client, ALL_CONSENTS)
    assert response.status_code == 303

    receipt = only_receipt(app)
    with app.app_context():
        records = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.sequence)).all()
        claims = receipts.verify_receipt(signed_token(app, receipt), ledger_signing.public_key())
        pem = ledger_signing.public_key_pem()
    jsonschema.validate(claims, SCHEMA)
    assert receipt.record_ids == [r.public_id for r in records]
    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["consentReceiptID"] == receipt.public_id
    assert claims["piiPrincipalId"] == EMAIL
    assert claims["jurisdiction"] == "GB"
    assert claims["language"] == "en"
    assert claims["publicKey"] == pem
    assert claims["policyUrl"] == "https://northwind-lending.example/privacy"
    assert claims["consentTimestamp"] == int(records[0].recorded_at.timestamp())
    [controller] = claims["piiControllers"]
    assert controller["piiController"] == "Northwind Lending"
    assert controller["email"] == "support@northwind-lending.example"
    [service] = claims["services"]
    purposes = {tuple(p["piiCategory"]): p for p in service["purposes"]}
    assert len(purposes) == 3
    statements = purposes[(FINANCIAL_STATEMENTS,)]
    assert statements["consentType"] == "EXPLICIT"
    assert statements["primaryPurpose"] is True
    assert statements["purpose"] == records[0].purpose
    # The 90-day lifetime of journeys/default.yaml, and the retention the customer read.
    assert records[0].expires_at is not None
    expires = format_date(records[0].expires_at, "long", locale="en")
    assert f"Consent ends on {expires} unless you reconfirm it" in statements["termination"]
    assert "6 years after it ends" in statements["termination"]
    # "Northwind Lending and our credit risk team." names more than the controller.
    assert statements["thirdPartyDisclosure"] is True
    assert statements["thirdPartyName"] == "Northwind Lending and our credit risk team."
    monitoring = [p for p in service["purposes"] if not p["primaryPurpose"]]
    assert [p["thirdPartyDisclosure"] for p in monitoring] == [False]
    assert [r["recordHash"] for r in claims["onramp"]["records"]] == [
        r.record_hash for r in records
    ]


def test_receipt_is_stored_encrypted(app: Flask, customer_client: FlaskClient) -> None:
    consent(customer_client)
    receipt = only_receipt(app)
    assert receipt.jws_ciphertext is not None
    token = signed_token(app, receipt)
    # The stored form is not the token: it names the customer, so only their key opens it.
    assert token not in receipt.jws_ciphertext
    assert token.split(".")[1] not in receipt.jws_ciphertext


def test_declining_or_repeating_the_same_answers_issues_no_receipt(
    app: Flask, customer_client: FlaskClient
) -> None:
    consent(customer_client, {"decline": "Decline and stop"})
    with app.app_context():
        assert db.session.scalars(select(ConsentReceipt)).all() == []

    customer_client.post("/journey/declined")
    consent(customer_client)
    customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    # One receipt: the second submission changed nothing, so nothing new was consented to.
    assert len(only_receipt(app).record_ids) == 2


def test_receipt_without_privacy_notice_or_contact_details_still_validates(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    with app.app_context():
        [run] = db.session.scalars(select(JourneyRun)).all()
        # A grant whose journey named no privacy notice, email or phone (chained()'s defaults).
        record = chained(
            customer_id=run.customer_id,
            run_id=run.id,
            journey_id=run.journey_id,
            journey_version=run.journey_version,
            item_key="financial_statements",
            text="Financial statements",
            text_sha256="0" * 64,
            decision="granted",
            recorded_at=clock.now(),
            locale="en",
        )
        receipt = receipts.issue_receipt(run, [record])
        assert receipt is not None
        claims = receipts.open_receipt(receipt).claims
    jsonschema.validate(claims, SCHEMA)
    assert claims["policyUrl"] == ""
    assert claims["piiControllers"] == [
        {
            "piiController": "Northwind Lending",
            "contact": "Northwind Lending",
            "address": {},
            "email": "",
            "phone": "",
        }
    ]
    [purpose] = claims["services"][0]["purposes"]
    assert purpose["termination"].startswith("Consent lasts until you withdraw it.")


# The customer's pages


def test_receipt_page_shows_the_receipt_to_its_customer(
    app: Flask, customer_client: FlaskClient
) -> None:
    consent(customer_client)
    receipt = only_receipt(app)

    page = customer_client.get(f"/my/receipts/{receipt.public_id}")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert '<h1 id="receipt-title">Your consent receipt</h1>' in html
    assert FINANCIAL_STATEMENTS in html
    assert "Invoices" in html
    assert "Northwind Lending" in html
    assert EMAIL in html
    assert receipt.public_id in html
    assert "Print or save as PDF" in html
    assert f'href="/my/receipts/{receipt.public_id}.jwt"' in html
    assert f'href="/my/receipts/{receipt.public_id}.json"' in html
    assert re.search(r"/static/css/onramp-[0-9a-f]{32}\.css", html)


def test_receipt_files_download_and_json(app: Flask, customer_client: FlaskClient) -> None:
    consent(customer_client)
    receipt = only_receipt(app)

    download = customer_client.get(f"/my/receipts/{receipt.public_id}.jwt")
    assert download.status_code == 200
    assert download.mimetype == "application/jwt"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="consent-receipt-{receipt.public_id}.jwt"'
    )
    with app.app_context():
        claims = receipts.verify_receipt(
            download.get_data(as_text=True), ledger_signing.public_key()
        )

    as_json = customer_client.get(f"/my/receipts/{receipt.public_id}.json")
    assert as_json.status_code == 200
    assert as_json.mimetype == "application/json"
    assert as_json.get_json() == claims
    assert as_json.get_data(as_text=True).startswith("{\n  ")


@pytest.mark.parametrize("suffix", ["", ".json", ".jwt"])
def test_receipt_refused_to_other_browsers(
    app: Flask, customer_client: FlaskClient, suffix: str
) -> None:
    consent(customer_client)
    receipt = only_receipt(app)
    url = f"/my/receipts/{receipt.public_id}{suffix}"

    stranger = app.test_client().get(url)
    assert stranger.status_code == 403
    assert "Open your link to see this receipt" in stranger.get_data(as_text=True)

    other = another_browser(app, "Other Ltd", "someone@other.example").get(url)
    assert other.status_code == 404
    assert "Receipt not found" in other.get_data(as_text=True)
    assert EMAIL not in other.get_data(as_text=True)


def test_a_receipt_that_is_not_yours_is_answered_alike_whether_it_exists_or_not(
    app: Flask, customer_client: FlaskClient
) -> None:
    """Whether an id exists must not show through the answer to a browser it isn't for,
    even when the receipt's owner was erased."""
    consent(customer_client)
    receipt = only_receipt(app)
    with app.app_context():
        customer = db.session.get(Customer, receipt.customer_id)
        assert customer is not None
        destroy_key(customer)
        customer.erased_at = clock.now()
        db.session.commit()
    existing = f"/my/receipts/{receipt.public_id}"
    missing = "/my/receipts/00000000-0000-0000-0000-000000000000"

    def answer(browser: FlaskClient, url: str) -> tuple[int, str]:
        response = browser.get(url)
        # The page, but for the CSRF token every page carries (it is signed with the time).
        return response.status_code, re.sub(r"[\w.-]{40,}", "…", response.text)

    stranger = app.test_client()
    assert answer(stranger, existing) == answer(stranger, missing)
    assert answer(stranger, existing)[0] == 403
    other = another_browser(app, "Other Ltd", "someone@other.example")
    assert answer(other, existing) == answer(other, missing)
    assert answer(other, existing)[0] == 404


@pytest.mark.parametrize("receipt_id", ["no-such-receipt", "00000000-0000-0000-0000-000000000000"])
def test_unknown_receipt_is_a_friendly_404(customer_client: FlaskClient, receipt_id: str) -> None:
    response = customer_client.get(f"/my/receipts/{receipt_id}")
    assert response.status_code == 404
    assert "Receipt not found" in response.get_data(as_text=True)


def test_erased_customers_receipt_is_gone(app: Flask, customer_client: FlaskClient) -> None:
    consent(customer_client)
    receipt = only_receipt(app)
    with app.app_context():
        customer = db.session.get(Customer, receipt.customer_id)
        assert customer is not None
        destroy_key(customer)
        customer.erased_at = clock.now()
        db.session.commit()

    for suffix in ("", ".json", ".jwt"):
        response = customer_client.get(f"/my/receipts/{receipt.public_id}{suffix}")
        assert response.status_code == 410
        assert "This receipt has been deleted" in response.get_data(as_text=True)


# Verifying offline


@pytest.fixture
def receipt_files(app: Flask, customer_client: FlaskClient, tmp_path: Path) -> tuple[Path, Path]:
    """The signed receipt and the public key, as a customer and an auditor would keep them."""
    consent(customer_client)
    receipt = only_receipt(app)
    token_file = tmp_path / f"consent-receipt-{receipt.public_id}.jwt"
    token_file.write_bytes(customer_client.get(f"/my/receipts/{receipt.public_id}.jwt").data)
    key_file = tmp_path / "onramp-public.pem"
    key_file.write_text(public_key_pem(app))
    return token_file, key_file


@pytest.fixture
def offline_app(tmp_path: Path) -> Iterator[Flask]:
    """Another Onramp: another signing key, and a database without a single table."""
    folder = tmp_path / "offline"
    folder.mkdir()
    app = create_app(
        test_settings(
            folder,
            CONSENT_SIGNING_KEY=OTHER_SIGNING_KEY,
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'empty.db'}",
        )
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def verify_receipt_cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["consents", "verify-receipt", *args])


def test_verify_receipt_offline_with_only_the_public_key(
    app: Flask, offline_app: Flask, receipt_files: tuple[Path, Path]
) -> None:
    token_file, key_file = receipt_files
    receipt = only_receipt(app)
    with app.app_context():
        kid = ledger_signing.key_id()

    result = verify_receipt_cli(offline_app, str(token_file), "--public-key", str(key_file))

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: receipt {receipt.public_id} signed by {kid}, ")
    assert "consent given " in result.output
    assert result.output.rstrip().endswith("to Northwind Lending")
    with offline_app.app_context():
        assert db.inspect(db.engine).get_table_names() == []


def test_verify_receipt_with_the_configured_key(
    app: Flask, offline_app: Flask, receipt_files: tuple[Path, Path]
) -> None:
    token_file, _ = receipt_files
    assert verify_receipt_cli(app, str(token_file)).exit_code == 0

    # The other Onramp's key never signed it.
    refused = verify_receipt_cli(offline_app, str(token_file))
    assert refused.exit_code == 1
    assert "INVALID" in refused.output
    assert "signature does not match" in refused.output


def altered(token: str, position: int) -> list[str]:
    """``token`` with the character at ``position`` replaced, in two different ways."""
    replacements = [c for c in ("A", "_", ".") if c != token[position]][:2]
    return [token[:position] + c + token[position + 1 :] for c in replacements]


def test_changing_any_byte_of_a_receipt_makes_it_fail(
    app: Flask, receipt_files: tuple[Path, Path]
) -> None:
    token_file, key_file = receipt_files
    token = token_file.read_text()
    key = ledger_signing.load_public_key(key_file.read_text())
    assert receipts.verify_receipt(token, key)["piiPrincipalId"] == EMAIL

    for position in range(len(token)):
        for changed in altered(token, position):
            with pytest.raises(ledger_signing.SignatureInvalid):
                receipts.verify_receipt(changed, key)
    for shortened in (token[1:], token[:-1], token + "A", "A" + token):
        with pytest.raises(ledger_signing.SignatureInvalid):
            receipts.verify_receipt(shortened, key)


def test_verify_receipt_cli_refuses_an_altered_file(
    app: Flask, offline_app: Flask, receipt_files: tuple[Path, Path], tmp_path: Path
) -> None:
    token_file, key_file = receipt_files
    original = token_file.read_bytes()
    header_end, payload_end = original.index(b"."), original.rindex(b".")
    positions = [0, header_end // 2, header_end, (header_end + payload_end) // 2, len(original) - 1]
    changed_file = tmp_path / "changed.jwt"
    for position in positions:
        for byte in (b"A", b"\xff"):
            if original[position : position + 1] == byte:
                continue
            changed_file.write_bytes(original[:position] + byte + original[position + 1 :])
            result = verify_receipt_cli(
                offline_app, str(changed_file), "--public-key", str(key_file)
            )
            assert result.exit_code == 1, (position, byte, result.output)
            assert result.output.startswith("INVALID: changed.jwt: "), result.output


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a compact JWS"),
        (b"hello", "not a compact JWS"),
        (b'{"consentReceiptID": "x"}', "not a compact JWS"),
        ("caf\u00e9".encode(), "not ASCII"),
    ],
)
def test_verify_receipt_cli_explains_a_file_that_is_no_receipt(
    offline_app: Flask,
    receipt_files: tuple[Path, Path],
    tmp_path: Path,
    content: bytes,
    reason: str,
) -> None:
    _, key_file = receipt_files
    bad = tmp_path / "bad.jwt"
    bad.write_bytes(content)
    result = verify_receipt_cli(offline_app, str(bad), "--public-key", str(key_file))
    assert result.exit_code == 1
    assert reason in result.output


def test_verify_receipt_refuses_a_genuine_checkpoint(
    app: Flask, receipt_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, key_file = receipt_files
    checkpoint = tmp_path / "head.jws"
    assert (
        app.test_cli_runner()
        .invoke(args=["consents", "checkpoint", "--output", str(checkpoint)])
        .exit_code
        == 0
    )
    result = verify_receipt_cli(app, str(checkpoint), "--public-key", str(key_file))
    assert result.exit_code == 1
    assert "not a consent receipt" in result.output


# Email


def send_mail(app: Flask) -> int:
    """The worker's mail pass: what is queued and due goes out."""
    with app.app_context():
        return mail.send_due()


def body(message: Any, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def attachment_of(message: Any) -> tuple[str, str, bytes]:
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_payload(decode=True)


def test_receipt_is_emailed_with_the_signed_file(app: Flask, customer_client: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        response = consent(customer_client)
        assert response.status_code == 303
        # The page did not wait for the mail server: the worker sends the email.
        assert sink.messages == []
        assert only_receipt(app).emailed_at is None
        send_mail(app)

    receipt = only_receipt(app)
    assert receipt.emailed_at is not None
    [message] = sink.to(EMAIL)
    assert message["Subject"] == "Your consent receipt from Northwind Lending"
    text = body(message, "plain")
    assert FINANCIAL_STATEMENTS in text
    assert "Northwind Lending" in text
    assert f"http://localhost/my/receipts/{receipt.public_id}" in text
    assert receipt.public_id in text
    html = body(message, "html")
    assert f'href="http://localhost/my/receipts/{receipt.public_id}"' in html
    # The signed link to the customer's page works in any browser: withdrawing is one visit away.
    links = re.findall(r"http://localhost/my/\S+", text)
    [manage] = [url for url in links if "/my/receipts/" not in url]
    fresh = app.test_client()
    assert fresh.get(manage.removeprefix("http://localhost")).status_code == 303
    assert "Your connections and consents" in fresh.get("/my").text

    filename, content_type, content = attachment_of(message)
    assert filename == f"consent-receipt-{receipt.public_id}.jwt"
    assert content_type == "application/jwt"
    with app.app_context():
        claims = receipts.verify_receipt(content.decode(), ledger_signing.public_key())
    assert claims["consentReceiptID"] == receipt.public_id


def test_receipt_email_is_in_the_runs_language(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        customer = create_customer("Café Lumière SARL", "gerant@cafe.example")
        link = journey_link(customer.public_id, "default", "fr").removeprefix("http://localhost")
    browser = app.test_client()
    browser.get(link)
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        consent(browser)
        send_mail(app)
    [message] = sink.to("gerant@cafe.example")
    text = body(message, "plain")
    assert "Compte de résultat, bilan et flux de trésorerie" in text
    receipt = only_receipt(app)
    with app.app_context():
        claims = receipts.open_receipt(db.session.merge(receipt)).claims
    assert claims["language"] == "fr"


def test_no_email_and_no_error_without_smtp(app: Flask, customer_client: FlaskClient) -> None:
    with smtp_sink() as (sink, _settings):
        # The sink runs, but SMTP_HOST is not set: nothing may reach it.
        response = consent(customer_client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/journey/software")
    assert sink.messages == []
    assert only_receipt(app).emailed_at is None


class Refusing:
    """An SMTP server that refuses every recipient."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 Mailbox unavailable"


@contextmanager
def refusing_smtp() -> Iterator[dict[str, Any]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none"}
    finally:
        controller.stop()


def closed_port() -> dict[str, Any]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none"}


@pytest.mark.parametrize("server", ["refuses", "is down"])
def test_a_failing_mail_server_does_not_stop_the_customer(
    app: Flask, customer_client: FlaskClient, server: str
) -> None:
    if server == "refuses":
        with refusing_smtp() as settings:
            app.config.update(settings)
            response = consent(customer_client)
            assert send_mail(app) == 1
    else:
        app.config.update(closed_port())
        response = consent(customer_client)
        assert send_mail(app) == 1

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/journey/software")
    receipt = only_receipt(app)
    assert receipt.emailed_at is None
    # The receipt is still there to see.
    assert customer_client.get(f"/my/receipts/{receipt.public_id}").status_code == 200
