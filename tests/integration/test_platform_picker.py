"""The software step: one press chooses a platform, a search box narrows the list (with
or without JavaScript), and what can't be connected here is not offered to customers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.admin import preview_at_software
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of

# The default journey offers these; the Sandbox plays the vendors to make them available.
DEFAULT_OFFERED = {
    "sandbox": "Sandbox Accounting",
    "xero": "Xero",
    "quickbooks": "QuickBooks Online",
    "sage": "Sage Business Cloud Accounting",
    "freeagent": "FreeAgent",
}


class Listing(HTMLParser):
    """The platforms a page lists, as a person sees them: shown or hidden, and which are
    buttons that choose (their value) with the text they show."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, object]] = []
        self._button: dict[str, object] | None = None
        self.search_label: str | None = None
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "li" and "data-platform-name" in found:
            self.items.append(
                {"name": found["data-platform-name"], "hidden": "hidden" in found, "value": None}
            )
        if tag == "button" and found.get("name") == "platform" and self.items:
            self._button = self.items[-1]
            self._button.update(value=found["value"], text="")
        if tag == "label" and found.get("for") == "platform-search":
            self._in_label = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None
        if tag == "label":
            self._in_label = False

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] = " ".join(f"{self._button['text']} {data}".split())
        if self._in_label:
            self.search_label = data.strip()

    @property
    def shown(self) -> list[str]:
        return [str(item["name"]) for item in self.items if not item["hidden"]]

    @property
    def buttons(self) -> dict[str, str]:
        return {str(i["value"]): str(i["text"]) for i in self.items if i["value"] is not None}


def listing(html: str) -> Listing:
    parser = Listing()
    parser.feed(html)
    return parser


@pytest.fixture
def every_platform(app: Flask) -> Flask:
    """Every platform the default journey offers can be connected here."""
    app.config["SANDBOX_PLAYS"] = ["xero", "quickbooks", "sage", "freeagent"]
    return app


@pytest.fixture
def at_software(customer_client: FlaskClient) -> FlaskClient:
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    return customer_client


def test_one_press_chooses_and_goes_on(at_software: FlaskClient) -> None:
    page = listing(text_of(at_software.get("/journey/software")))
    assert page.buttons == {"sandbox": "SB Sandbox Accounting"}

    chosen = at_software.post("/journey/software", data={"platform": "sandbox"})

    assert chosen.status_code == 303
    assert chosen.location.endswith("/journey/connect")
    assert "How to connect Sandbox Accounting" in text_of(at_software.get(chosen.location))
    # Coming back, the platform chosen says so.
    again = listing(text_of(at_software.get("/journey/software")))
    assert again.buttons == {"sandbox": "SB Sandbox Accounting Your choice"}


def test_platforms_not_configured_here_are_not_shown(at_software: FlaskClient) -> None:
    text = text_of(at_software.get("/journey/software"))

    assert listing(text).shown == ["Sandbox Accounting"]
    for name in ("Xero", "QuickBooks Online", "Sage Business Cloud Accounting", "FreeAgent"):
        assert name not in text
    assert "Not available yet" not in text
    # One platform needs no search box.
    assert listing(text).search_label is None


@pytest.mark.parametrize(
    ("sent", "problem"),
    [
        ({"platform": "xero"}, "That software can't be connected yet: choose one from the list"),
        ({"platform": "no-such-thing"}, "That software can't be connected yet"),
        ({}, "Choose your accounting software to continue"),
    ],
)
def test_a_tampered_choice_gets_the_form_error(
    at_software: FlaskClient, sent: dict[str, str], problem: str
) -> None:
    refused = at_software.post("/journey/software", data=sent)

    assert refused.status_code == 422
    text = text_of(refused)
    assert "There is a problem" in text
    assert problem in text
    # The summary's link lands on the first platform's button.
    assert '<a href="#platform">' in text
    assert re.search(r'<button type="submit"[^>]*value="sandbox" id="platform"', text)


def test_search_without_javascript_filters_the_list(
    every_platform: Flask, at_software: FlaskClient
) -> None:
    whole = listing(text_of(at_software.get("/journey/software")))
    assert whole.search_label == "Search for your software"
    assert whole.shown == list(DEFAULT_OFFERED.values())
    assert set(whole.buttons) == set(DEFAULT_OFFERED)

    found = at_software.get("/journey/software?q=quick")
    page = listing(text_of(found))
    assert found.status_code == 200
    assert page.shown == ["QuickBooks Online"]
    assert "1 match" in text_of(found)
    assert 'value="quick"' in text_of(found)
    assert '<a href="/journey/software">Show all software</a>' in text_of(found)
    # A result is chosen with one press, as from the whole list.
    chosen = at_software.post("/journey/software", data={"platform": "quickbooks"})
    assert chosen.location.endswith("/journey/connect")


@pytest.mark.parametrize("query", ["SAGE", "sâge", "  Sagé ", "business cloud"])
def test_search_ignores_case_and_accents(
    every_platform: Flask, at_software: FlaskClient, query: str
) -> None:
    page = listing(text_of(at_software.get("/journey/software", query_string={"q": query})))

    assert page.shown == ["Sage Business Cloud Accounting"]


def test_a_search_that_finds_nothing_says_so(
    every_platform: Flask, at_software: FlaskClient
) -> None:
    response = at_software.get("/journey/software?q=ledgerly")
    text = text_of(response)

    assert listing(text).shown == []
    assert "No software matches “ledgerly”" in text
    assert '<a href="/journey/software">Show all software</a>' in text


def test_no_platform_available_names_who_to_ask(app: Flask, at_software: FlaskClient) -> None:
    app.config["SANDBOX_URL"] = None  # the Sandbox off, and nothing else configured

    text = text_of(at_software.get("/journey/software"))

    assert listing(text).items == []
    assert "Your software can't be connected online yet" in text
    assert "Northwind Lending can't connect accounting software online" in text
    assert "mailto:" in text


def test_the_preview_lists_platforms_not_configured_here(app: Flask) -> None:
    viewer, base = preview_at_software(app)

    text = text_of(viewer.get(f"{base}/step/software"))

    page = listing(text)
    assert page.shown == list(DEFAULT_OFFERED.values())
    assert set(page.buttons) == {"sandbox"}
    assert text.count("Not configured here: customers don't see it") == 4
    assert viewer.post(f"{base}/step/software", data={"platform": "xero"}).status_code == 422


def test_platforms_show_their_logo_or_their_letters(
    every_platform: Flask, at_software: FlaskClient
) -> None:
    text = text_of(at_software.get("/journey/software"))

    # A logo is decorative: the name beside it is the button's name.
    for slug in ("xero", "quickbooks", "sage"):
        assert re.search(
            rf'<img class="platform-logo" src="/static/vendor/icons/{slug}-[0-9a-f]{{32}}\.svg"'
            r' alt=""',
            text,
        )
    assert listing(text).buttons["xero"] == "Xero"
    # The Sandbox and FreeAgent have no icon in simple-icons: their letters on a tile.
    assert listing(text).buttons["sandbox"] == "SB Sandbox Accounting"
    assert listing(text).buttons["freeagent"] == "FA FreeAgent"
    with at_software.get("/static/vendor/icons/xero.svg") as served:
        assert served.status_code == 200
        assert served.mimetype == "image/svg+xml"
