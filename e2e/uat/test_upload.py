"""Upload my accounts instead: a customer whose software isn't listed, or whose
connection failed, sends their accounts as files; the business downloads them through
the API. Files that aren't what they claim are refused, and nothing is kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages.base import without_javascript
from e2e.pages.journey import DefaultSent, DefaultUpload, DefaultWelcome
from e2e.uat.api import UatCustomer
from tests.uploads import CSV, PDF, xlsx


def _write(folder: Path, files: dict[str, bytes]) -> list[str]:
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return [str(folder / name) for name in files]


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_upload_my_accounts_instead(
    new_context: Callable[..., BrowserContext],
    customer: UatCustomer,
    tmp_path: Path,
    javascript: bool,
) -> None:
    context = new_context(java_script_enabled=javascript)
    browser = (context if javascript else without_javascript(context)).new_page()
    software = DefaultWelcome.open(browser, customer.url("default")).get_started().agree()
    software = software.tell_not_listed("Ledgerly")

    upload = software.upload_instead_to(DefaultUpload)
    files = {"accounts.pdf": PDF, "ledger.csv": CSV, "balances.xlsx": xlsx()}
    done = upload.choose(*_write(tmp_path, files)).upload_to(DefaultSent)

    expect(done.files_sent(3)).to_be_visible()
    [run] = customer.runs()
    assert run["status"] == "completed"
    uploads = customer.uploads()
    assert [(u["filename"], u["kind"]) for u in uploads] == [
        ("accounts.pdf", "pdf"),
        ("ledger.csv", "csv"),
        ("balances.xlsx", "xlsx"),
    ]
    for upload_ in uploads:
        got = customer.download(upload_["id"])
        assert got.status_code == 200
        assert got.content == files[upload_["filename"]]


def test_upload_after_the_connection_failed(
    page: Page, customer: UatCustomer, tmp_path: Path
) -> None:
    connect = (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .agree()
        .choose_sandbox()
        .continue_to_sandbox()
        .sign_in()
        .deny()
    )
    expect(connect.alert).to_contain_text("You chose not to allow access")

    upload = connect.upload_instead_to(DefaultUpload)
    done = upload.choose(*_write(tmp_path, {"accounts.pdf": PDF})).upload_to(DefaultSent)

    expect(done.files_sent(1)).to_be_visible()
    assert [u["filename"] for u in customer.uploads()] == ["accounts.pdf"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "accounts.pdf",
            b"MZ\x90\x00 a program",
            "What accounts.pdf holds is not PDF: save it again as PDF and upload that",
        ),
        ("empty.csv", b"", "empty.csv is empty: choose the file with your accounts in it"),
    ],
    ids=["wrong-type-behind-pdf", "zero-bytes"],
)
def test_a_file_that_isnt_accounts_is_refused(
    page: Page, customer: UatCustomer, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    software = DefaultWelcome.open(page, customer.url("default")).get_started().agree()
    upload = software.tell_not_listed("Ledgerly").upload_instead_to(DefaultUpload)
    good = _write(tmp_path, {"ledger.csv": CSV, name: content})

    upload = upload.choose(*good).upload_expecting_problem()

    expect(upload.error_summary.get_by_role("link", name=message)).to_be_visible()
    # Nothing is kept from a refused submission, not even the good file beside it.
    assert customer.uploads() == []
    [run] = customer.runs()
    assert run["status"] == "active"
