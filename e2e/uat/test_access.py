"""Every customer can get through: without JavaScript, on a phone, in each language,
with the keyboard only. (axe-core checks every page of these as of every scenario.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from e2e.accessibility import assert_no_horizontal_scroll, tab_to
from e2e.pages.journey import (
    SANDBOX,
    DefaultConnect,
    DefaultConsent,
    DefaultDone,
    DefaultSoftware,
    DefaultWelcome,
)
from e2e.pages.sandbox import SandboxConsent, SandboxSignIn
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, BLUEBELL


def test_javascript_disabled(no_script_page: Page, customer: UatCustomer) -> None:
    done = (
        DefaultWelcome.open(no_script_page, customer.url("default"))
        .get_started()
        .agree_and_connect(ACME)
    )
    expect(done.connected(ACME)).to_be_visible()
    assert customer.statuses() == [("linked", ACME)]


@pytest.mark.parametrize("width", [320, 390], ids=["320px", "390px"])
def test_phone_viewport(
    new_context: Callable[..., BrowserContext], customer: UatCustomer, width: int
) -> None:
    page = new_context(
        viewport={"width": width, "height": 740}, is_mobile=True, has_touch=True
    ).new_page()
    welcome = DefaultWelcome.open(page, customer.url("default"))
    assert_no_horizontal_scroll(page)
    consent = welcome.get_started()
    assert_no_horizontal_scroll(page)
    software = consent.agree()
    assert_no_horizontal_scroll(page)
    connect = software.choose_sandbox()
    assert_no_horizontal_scroll(page)
    sandbox = connect.continue_to_sandbox().sign_in()
    assert_no_horizontal_scroll(page)
    done = sandbox.choose(BLUEBELL).approve_to(DefaultDone)
    assert_no_horizontal_scroll(page)
    expect(done.connected(BLUEBELL)).to_be_visible()


@pytest.mark.parametrize(
    ("lang", "position"),
    [("en", "Step 5 of 5"), ("fr", "Étape 5 sur 5"), ("de", "Schritt 5 von 5")],
)
def test_every_shipped_language(
    page: Page, customer: UatCustomer, lang: str, position: str
) -> None:
    welcome = DefaultWelcome.open(page, customer.url("default", locale=lang), lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)

    done = welcome.get_started().tick_keys("ongoing_monitoring").agree_and_connect(ACME)

    expect(done.progress).to_have_text(position)
    expect(done.connected(ACME)).to_be_visible()
    # The ledger keeps what the customer read, in their language.
    assert {record["locale"] for record in customer.consents()} == {lang}
    assert [run["locale"] for run in customer.runs()] == [lang]


def test_keyboard_only(page: Page, customer: UatCustomer) -> None:
    welcome = DefaultWelcome.open(page, customer.url("default"))
    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    tab_to(page, welcome.get_started_button)
    page.keyboard.press("Enter")

    consent = DefaultConsent(page)
    tab_to(page, consent.item("ongoing_monitoring"))
    page.keyboard.press("Space")
    expect(consent.item("ongoing_monitoring")).to_be_checked()
    tab_to(page, consent.agree_button)
    page.keyboard.press("Enter")

    software = DefaultSoftware(page)
    tab_to(page, software.platform(SANDBOX))
    page.keyboard.press("Enter")

    connect = DefaultConnect(page)
    tab_to(page, connect.continue_button)
    page.keyboard.press("Enter")

    # The platform's pages, with the keyboard too.
    sign_in = SandboxSignIn(page, back=DefaultConnect)
    tab_to(page, sign_in.main.get_by_label("Email address"))
    page.keyboard.type(SANDBOX_LOGIN_EMAIL)
    tab_to(page, sign_in.main.get_by_label("Password"))
    page.keyboard.type(SANDBOX_LOGIN_PASSWORD)
    page.keyboard.press("Enter")
    sandbox = SandboxConsent(page, back=DefaultConnect)
    tab_to(page, sandbox.organisation(ACME))
    page.keyboard.press("Space")
    expect(sandbox.organisation(ACME)).to_be_checked()
    tab_to(page, sandbox.main.get_by_role("button", name="Approve"))
    page.keyboard.press("Enter")

    done = DefaultDone(page)
    expect(done.connected(ACME)).to_be_visible()
    tab_to(page, done.link("Your connections and consents"))
    assert customer.statuses() == [("linked", ACME)]
