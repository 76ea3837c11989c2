"""Upload instead of connecting: the customer sends files of the kinds the journey
accepts; the business gets an event, sees them in the timeline and downloads them
through the API while the consent covering them holds."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app import clock
from app.connections.uploads import purge_expired
from app.customers.records import create_customer
from app.engine.registry import EXTENSION_KEY
from app.engine.schema import Journey
from app.extensions import db
from app.links import journey_link
from app.models import JourneyEvent, JourneyRun, OutboxEvent, Upload
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of
from tests.uploads import CSV, PDF, docx, xlsx

UPLOAD = "/journey/upload"


@pytest.fixture
def uploader(app: Flask, client: FlaskClient) -> FlaskClient:
    """A customer (external id acme-1) who said their software isn't listed."""
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example", external_id="acme-1")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client.get(link)
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    client.post("/journey/software", data={"software": "Ledgerly", "tell": "y"})
    return client


def _choose_upload(client: FlaskClient) -> None:
    chosen = client.post("/journey/software", data={"upload_instead": "1"})
    assert chosen.status_code == 303
    assert chosen.location.endswith(UPLOAD)


def _send(client: FlaskClient, *files: tuple[bytes, str]) -> Any:
    """Post the files as a browser would (the body built in memory: the test client's own
    spooled file would be left open when the app refuses the body unread)."""
    parts = [FileStorage(io.BytesIO(content), name, "files") for content, name in files]
    boundary, body = encode_multipart(MultiDict([*(("files", p) for p in parts), ("upload", "y")]))
    return client.post(UPLOAD, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _reader(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "files", name="data pipeline"))


def test_offered_after_saying_the_software_isnt_listed(uploader: FlaskClient) -> None:
    text = text_of(uploader.get("/journey/software?told=1"))
    assert "Upload my accounts instead" in text
    # Not offered (nor reachable) until chosen: the step isn't counted either.
    assert uploader.get(UPLOAD).status_code == 303
    assert "Step 3 of 5" in text


def test_two_files_are_kept_told_and_downloaded_through_the_api(
    app: Flask, uploader: FlaskClient
) -> None:
    _choose_upload(uploader)
    page = text_of(uploader.get(UPLOAD))
    assert 'enctype="multipart/form-data"' in page
    assert 'accept=".pdf,application/pdf,.csv,text/csv,.xlsx,' in page
    assert "Step 3 of 4" in page

    sent = _send(uploader, (PDF, "accounts.pdf"), (CSV, "ledger.csv"))
    assert sent.status_code == 303
    assert sent.location.endswith("/journey/done")
    done = text_of(uploader.get("/journey/done"))
    assert "2 files sent to Northwind Lending" in done
    assert "<h1" in done and "Your accounts are sent</h1>" in done
    assert "You're connected" not in done.replace("&#39;", "'")
    assert "accounts.pdf" in done and "ledger.csv" in done
    # The customer's own page lists what they sent.
    mine = text_of(uploader.get("/my"))
    assert "Files you sent" in mine
    assert "<h3>accounts.pdf</h3>" in mine and "<h3>ledger.csv</h3>" in mine

    with app.app_context():
        event = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "upload.received")
        ).one()
        assert len(event.data["upload_ids"]) == 2
        assert event.data["external_id"] == "acme-1"
        noted = db.session.scalars(
            select(JourneyEvent).where(JourneyEvent.kind == "uploaded")
        ).one()
        assert noted.detail == "2 files (accounts.pdf, ledger.csv)"
        stored = db.session.scalars(select(Upload)).all()
        # Encrypted at rest: the bytes are not in the table.
        assert all(PDF not in u.content_ciphertext for u in stored)
        assert db.session.scalars(select(JourneyRun)).one().status == "completed"

    api = _reader(app, uploader)
    listed = api.get("/api/v1/customers/acme-1/uploads").get_json()["data"]
    assert [(u["filename"], u["kind"], u["available"]) for u in listed] == [
        ("accounts.pdf", "pdf", True),
        ("ledger.csv", "csv", True),
    ]
    for upload, original in zip(listed, (PDF, CSV), strict=True):
        got = api.get(f"/api/v1/uploads/{upload['id']}/content")
        assert got.status_code == 200
        assert got.data == original
        assert got.headers["Content-Disposition"] == f"attachment; filename={upload['filename']}"
    assert got.mimetype == "text/csv"


def test_an_xlsx_workbook_is_accepted(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    assert _send(uploader, (xlsx(), "Accounts 2026.XLSX")).status_code == 303
    assert _count(app, Upload) == 1


def test_downloading_needs_the_files_scope(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"))
    reader = Api(uploader, create_key(app, "read"))
    [upload] = reader.get("/api/v1/customers/acme-1/uploads").get_json()["data"]
    refused = reader.get(f"/api/v1/uploads/{upload['id']}/content")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    assert "'files' scope" in refused.get_json()["detail"]


HOSTILE = [
    pytest.param(
        [(b"%PDF-" + b"x" * 10, "ok.pdf"), (b"MZ\x90\x00 not a pdf", "fake.pdf")],
        "What fake.pdf holds is not PDF",
        id="wrong-type-behind-pdf",
    ),
    pytest.param(
        [(docx(), "book.xlsx")], "What book.xlsx holds is not Excel (XLSX)", id="docx-as-xlsx"
    ),
    pytest.param([(b"a,b\x00c\n", "nul.csv")], "What nul.csv holds is not CSV", id="binary-csv"),
    pytest.param(
        [(b"\xff\xfe\xfa", "latin.csv")], "What latin.csv holds is not CSV", id="not-utf8"
    ),
    pytest.param([(b"", "empty.pdf")], "empty.pdf is empty", id="zero-bytes"),
    pytest.param([(PDF, "photo.png")], "photo.png is not a file we accept", id="other-kind"),
    pytest.param([(PDF, "../../etc/accounts.pdf")], "can't contain folders", id="dot-dot"),
    # Escaped in the part's header (a quoted string), as a backslash must be to arrive.
    pytest.param([(PDF, "a\\\\b.pdf")], "can't contain folders", id="backslash"),
    pytest.param([(PDF, "acc\x00ounts.pdf")], "can't contain folders", id="nul-in-name"),
    pytest.param([(PDF, f"f{i}.pdf") for i in range(11)], "Choose at most 10 files", id="11-files"),
    pytest.param([], "Choose at least one file", id="no-file"),
]


@pytest.mark.parametrize(("files", "message"), HOSTILE)
def test_hostile_uploads_are_refused_and_nothing_is_kept(
    app: Flask, uploader: FlaskClient, files: list[tuple[bytes, str]], message: str
) -> None:
    _choose_upload(uploader)
    refused = _send(uploader, *files)
    assert refused.status_code == 422
    text = text_of(refused)
    assert "There is a problem" in text
    assert message in text.replace("&#39;", "'")
    assert _count(app, Upload) == 0
    with app.app_context():
        assert not db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "upload.received")
        ).all()


def test_an_over_size_file_is_refused(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    big = PDF + b"0" * (10 * 1024 * 1024)
    refused = _send(uploader, (big, "huge.pdf"))
    assert refused.status_code == 422
    assert "huge.pdf is larger than 10 MB" in text_of(refused)
    assert _count(app, Upload) == 0


def test_a_thousand_files_get_a_friendly_413(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    refused = _send(uploader, *[(PDF, f"f{i}.pdf") for i in range(1000)])
    assert refused.status_code == 413
    text = text_of(refused)
    assert "Too many files, or files too large" in text
    assert "choose at most 10 files, each of 10 MB or less" in text
    assert "Northwind Lending" in text and "Onramp" not in text
    assert _count(app, Upload) == 0


def test_files_are_refused_without_the_consent_that_covers_them(
    app: Flask, client: FlaskClient
) -> None:
    journeys = app.extensions[EXTENSION_KEY]
    data = journeys["default"].model_dump(mode="json")
    upload = next(s for s in data["steps"] if s["type"] == "upload")
    upload["covered_by"] = ["ongoing_monitoring"]  # optional: not ticked below
    journeys["default"] = Journey.model_validate(data)
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example", external_id="acme-1")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client.get(link)
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    _choose_upload(client)
    page = text_of(client.get(UPLOAD))
    assert "To upload files, first agree to share: Monthly updates" in page
    refused = _send(client, (PDF, "accounts.pdf"))
    assert refused.status_code == 422
    assert _count(app, Upload) == 0


def test_withdrawn_consent_stops_the_download(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"))
    api = _reader(app, uploader)
    [upload] = api.get("/api/v1/customers/acme-1/uploads").get_json()["data"]
    writer = Api(uploader, create_key(app, "read", "write"))
    consents = writer.get("/api/v1/consents?item=financial_statements").get_json()["data"]
    assert writer.post(f"/api/v1/consents/{consents[0]['id']}/withdraw").status_code == 200

    refused = api.get(f"/api/v1/uploads/{upload['id']}/content")
    assert refused.status_code == 409
    assert "withdrawn or has expired" in refused.get_json()["detail"]
    assert api.get(f"/api/v1/uploads/{upload['id']}").get_json()["available"] is False


def test_the_customer_can_go_back_to_connecting(uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    back = uploader.post(UPLOAD, data={"connect_instead": "y"})
    assert back.status_code == 303
    assert back.location.endswith("/journey/software")
    assert uploader.get(UPLOAD).status_code == 303
    assert "Sandbox Accounting" in text_of(uploader.get("/journey/software"))


def test_offered_on_the_connect_step_after_a_failed_connection(
    app: Flask, at_connect: FlaskClient
) -> None:
    from app.models import Connection

    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        db.session.add(
            Connection(
                customer_id=run.customer_id,
                run_id=run.id,
                platform="sandbox",
                status="failed",
                last_error="access_denied",
            )
        )
        db.session.commit()
    text = text_of(at_connect.get("/journey/connect"))
    assert "Upload my accounts instead" in text
    chosen = at_connect.post("/journey/connect", data={"upload_instead": "1"})
    assert chosen.location.endswith(UPLOAD)


def test_erasing_the_customer_deletes_their_files(app: Flask, uploader: FlaskClient) -> None:
    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"), (CSV, "ledger.csv"))
    result = app.test_cli_runner().invoke(args=["customers", "erase", "acme-1", "--yes"])
    assert result.exit_code == 0, result.output
    assert "2 uploaded file(s) deleted" in result.output
    assert _count(app, Upload) == 0


def test_retention_deletes_old_files_and_says_so(app: Flask, uploader: FlaskClient) -> None:
    journeys = app.extensions[EXTENSION_KEY]
    data = journeys["default"].model_dump(mode="json")
    data["retention"] = {"uploads_days": 30}
    journeys["default"] = Journey.model_validate(data)
    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"))
    with app.app_context():
        assert purge_expired(clock.now() + timedelta(days=29)) == 0
        assert purge_expired(clock.now() + timedelta(days=31)) == 1
        noted = db.session.scalars(
            select(JourneyEvent).where(JourneyEvent.kind == "uploads_deleted")
        ).one()
        assert noted.detail == "1 file (retention)"
    assert _count(app, Upload) == 0
    result = app.test_cli_runner().invoke(args=["journeys", "purge-uploads"])
    assert result.exit_code == 0 and "0 uploaded file(s) deleted." in result.output


def test_the_customers_export_lists_their_files_without_content(
    app: Flask, uploader: FlaskClient
) -> None:
    from app.customers.records import export_customer, find_by_external_id

    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"))
    with app.app_context():
        customer = find_by_external_id("acme-1")
        assert customer is not None
        [listed] = export_customer(customer)["uploads"]
    assert (listed["filename"], listed["kind"], listed["size"]) == ("accounts.pdf", "pdf", len(PDF))
    assert "content_ciphertext" not in listed


def test_the_console_timeline_says_what_was_uploaded(app: Flask, uploader: FlaskClient) -> None:
    from tests.admin import signed_in_as

    viewer = signed_in_as(app, "viewer")
    funnel = {"journey": "default"}
    # Off the path most take, the fallback step joins the funnel once reached.
    assert "Upload your accounts" not in text_of(viewer.get("/admin/funnel", query_string=funnel))
    _choose_upload(uploader)
    _send(uploader, (PDF, "accounts.pdf"), (CSV, "ledger.csv"))
    with app.app_context():
        customer_id = db.session.scalars(select(JourneyRun)).one().customer.public_id
    timeline = text_of(viewer.get(f"/admin/customers/{customer_id}"))
    assert "Chose to upload their accounts instead of connecting" in timeline
    assert "Uploaded 2 files (accounts.pdf, ledger.csv)" in timeline
    page = text_of(viewer.get("/admin/funnel", query_string=funnel))
    assert 'Upload your accounts <span class="admin-muted">(upload)</span>' in page


def test_the_preview_checks_files_and_keeps_none(app: Flask) -> None:
    from tests.admin import preview_at_software

    viewer, base = preview_at_software(app)
    chosen = viewer.post(f"{base}/step/software", data={"upload_instead": "1"})
    assert chosen.status_code == 303
    assert chosen.location.endswith(f"{base}/step/upload")
    assert "Upload your accounts" in text_of(viewer.get(chosen.location))
    parts = [FileStorage(io.BytesIO(b"not a pdf"), "a.pdf", "files")]
    boundary, body = encode_multipart(MultiDict([*(("files", p) for p in parts), ("upload", "y")]))
    refused = viewer.post(
        f"{base}/step/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert refused.status_code == 422
    assert "What a.pdf holds is not PDF" in text_of(refused)
    parts = [FileStorage(io.BytesIO(PDF), "a.pdf", "files")]
    boundary, body = encode_multipart(MultiDict([*(("files", p) for p in parts), ("upload", "y")]))
    sent = viewer.post(
        f"{base}/step/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert sent.status_code == 303
    assert sent.location.endswith(f"{base}/step/done")
    assert _count(app, Upload) == 0


def test_the_openapi_document_describes_the_download(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    download = document["paths"]["/api/v1/uploads/{upload_id}/content"]["get"]
    assert download["x-required-scope"] == "files"
    assert set(download["responses"]["200"]["content"]) == {
        "application/pdf",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert {"404", "409"} <= set(download["responses"])
    listing = document["paths"]["/api/v1/customers/{external_id}/uploads"]["get"]
    assert listing["x-required-scope"] == "read"


def test_an_ordinary_upload_step_is_on_every_customers_path(
    app: Flask, client: FlaskClient
) -> None:
    journeys = app.extensions[EXTENSION_KEY]
    data = journeys["default"].model_dump(mode="json")
    data["steps"] = [s for s in data["steps"] if s["type"] not in ("platform_select", "connect")]
    upload = next(s for s in data["steps"] if s["type"] == "upload")
    upload.update(fallback=False, kinds=["csv"], max_files=1)
    journeys["default"] = Journey.model_validate(data)
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example", external_id="acme-1")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client.get(link)
    client.post("/journey/welcome")
    consented = client.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert consented.location.endswith(UPLOAD)
    page = text_of(client.get(UPLOAD))
    assert "Step 3 of 4" in page
    assert "One CSV file, up to 10 MB." in page
    assert "Connect my software instead" not in page
    refused = _send(client, (PDF, "accounts.pdf"))
    assert "accounts.pdf is not a file we accept: choose CSV files" in text_of(refused)
    two = _send(client, (CSV, "a.csv"), (CSV, "b.csv"))
    assert two.status_code == 422 and "Choose one file only" in text_of(two)
    assert _send(client, (CSV, "ledger.csv")).status_code == 303
    assert _count(app, Upload) == 1
