"""Upload instead of connecting, in a browser: a customer whose software isn't listed
sends two files, sees them confirmed, and the business downloads them through the API
with a key that has the ``files`` scope. With and without JavaScript; axe on each page
(the page objects run it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, expect

from e2e.live import LiveServer
from e2e.pages.base import without_javascript
from e2e.pages.journey import DefaultSent, DefaultSoftware, DefaultUpload, DefaultWelcome
from tests.uploads import CSV, PDF

TIMEOUT = 30


def _customer_link(live_server: LiveServer) -> tuple[str, str]:
    """A fresh customer with an external id, and their journey link."""
    from app.customers.records import create_customer
    from app.links import journey_link

    external_id = f"upload-{uuid.uuid4().hex[:8]}"
    with live_server.app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example", external_id=external_id)
        return external_id, journey_link(customer.public_id, "default")


def _files_key(live_server: LiveServer) -> str:
    from app.api.keys import create_key

    with live_server.app.app_context():
        _, key = create_key("data pipeline", ["read", "files"], actor=("cli", "e2e"))
    return key


def _files(tmp_path: Path) -> tuple[Path, Path]:
    pdf, csv = tmp_path / "accounts.pdf", tmp_path / "ledger.csv"
    pdf.write_bytes(PDF)
    csv.write_bytes(CSV)
    return pdf, csv


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_customer_uploads_two_files_and_the_business_downloads_them(
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    tmp_path: Path,
    javascript: bool,
) -> None:
    external_id, link = _customer_link(live_server)
    context = new_context(java_script_enabled=javascript)
    page = (context if javascript else without_javascript(context)).new_page()
    software = DefaultWelcome.open(page, link).get_started().agree()

    software = software.tell_not_listed("Ledgerly")
    upload = software.upload_instead_to(DefaultUpload)
    expect(upload.files).to_have_attribute("multiple", "")
    done = upload.choose(*map(str, _files(tmp_path))).upload_to(DefaultSent)

    notice = done.files_sent(2)
    expect(notice).to_be_visible()
    expect(notice.get_by_role("listitem")).to_have_text(["accounts.pdf", "ledger.csv"])
    # Their own page lists what they sent (axe runs on it too).
    mine = done.your_connections()
    sent = mine.main.get_by_role("region", name="Files you sent")
    expect(sent.get_by_role("heading", level=3)).to_have_text(["accounts.pdf", "ledger.csv"])

    headers = {"Authorization": f"Bearer {_files_key(live_server)}"}
    api = f"{live_server.url}/api/v1"
    listed = requests.get(
        f"{api}/customers/{external_id}/uploads", headers=headers, timeout=TIMEOUT
    )
    uploads = listed.json()["data"]
    assert [u["filename"] for u in uploads] == ["accounts.pdf", "ledger.csv"]
    for upload_, original in zip(uploads, (PDF, CSV), strict=True):
        got = requests.get(
            f"{api}/uploads/{upload_['id']}/content", headers=headers, timeout=TIMEOUT
        )
        assert got.status_code == 200
        assert got.content == original
        assert got.headers["Content-Disposition"].startswith("attachment")


def test_a_file_that_isnt_what_its_name_says_is_refused(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    _, link = _customer_link(live_server)
    software = DefaultWelcome.open(page, link).get_started().agree().tell_not_listed("Ledgerly")
    upload = software.upload_instead_to(DefaultUpload)
    fake = tmp_path / "accounts.pdf"
    fake.write_bytes(b"MZ\x90\x00 a program, not a PDF")

    upload = upload.choose(str(fake)).upload_expecting_problem()

    message = "What accounts.pdf holds is not PDF: save it again as PDF and upload that"
    upload.error_summary.get_by_role("link", name=message).click()
    expect(upload.files).to_be_focused()
    # Nothing kept: the customer can still go back to connecting instead.
    software = upload.connect_instead_to(DefaultSoftware)
    expect(software.platform("Sandbox Accounting")).to_be_visible()
