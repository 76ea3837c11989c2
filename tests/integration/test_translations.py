"""Onramp's own pages in French and German, and catalogues that cover every UI string.

Only Onramp's UI strings are checked here; a journey's own texts come from its YAML file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, render_template_string
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext, refresh

from tests.pages import text_of

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
CATALOGUES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
HTML_TAG = re.compile(r"</?[a-z][^>]*>")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=path.parts[-3] if path.suffix == ".po" else None)


def _sorted(pattern: re.Pattern[str], text: str | tuple[str, ...] | list[str] | None) -> list[str]:
    """What ``pattern`` finds in a msgid or msgstr (all forms of a plural), in order."""
    forms = [text] if isinstance(text, str) else list(text or ())
    return sorted(found for form in forms for found in pattern.findall(form))


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Compile any .po newer than its .mo, so `pytest` works without `make install`."""
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read(po)
        # Written aside and renamed, so a concurrent run never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalog)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a server run as another user
        os.replace(tmp, mo)


def _open(client: FlaskClient, link: str, language: str) -> None:
    response = client.get(link, headers={"Accept-Language": language})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["Étape 1 sur 5", 'value="Commencer"', "Aller au contenu principal"]),
        ("de", ["Schritt 1 von 5", 'value="Jetzt starten"', "Zum Hauptinhalt springen"]),
        ("de-CH,de;q=0.9,en;q=0.5", ["Schritt 1 von 5", 'value="Jetzt starten"']),
    ],
)
def test_the_welcome_page_speaks_the_browsers_language(
    client: FlaskClient, link: str, language: str, expected: list[str]
) -> None:
    _open(client, link, language)
    page = text_of(client.get("/journey/welcome", headers={"Accept-Language": language}))
    for text in expected:
        assert text in page
    assert "Step 1 of 5" not in page
    assert 'value="Get started"' not in page


def test_english_stays_the_default(client: FlaskClient, link: str) -> None:
    _open(client, link, "es, it;q=0.8")
    page = text_of(client.get("/journey/welcome"))
    assert "Step 1 of 5" in page
    assert 'value="Get started"' in page


def test_after_the_link_the_journeys_language_decides(client: FlaskClient, link: str) -> None:
    _open(client, link, "fr")
    page = text_of(client.get("/journey/welcome", headers={"Accept-Language": "de"}))
    assert "Étape 1 sur 5" in page


def test_the_language_switcher_changes_the_ui_strings(client: FlaskClient, link: str) -> None:
    _open(client, link, "fr")
    client.post("/journey/language", data={"locale": "de", "next": "/journey/welcome"})
    page = text_of(client.get("/journey/welcome"))
    assert "Schritt 1 von 5" in page
    assert 'value="Jetzt starten"' in page


def test_consent_labels_and_buttons_are_translated(client: FlaskClient, link: str) -> None:
    _open(client, link, "de")
    client.post("/journey/welcome")
    page = text_of(client.get("/journey/consent"))
    for text in (
        "Warum",
        "Wer die Daten erhält",
        "Erforderlich",
        "Zustimmen und weiter",
        "Mit „Zustimmen und weiter“ stimmen Sie zu",
    ):
        assert text in page


@pytest.mark.usefixtures("ticking")
def test_a_missing_tick_is_explained_in_the_customers_language(
    client: FlaskClient, link: str
) -> None:
    _open(client, link, "de")
    client.post("/journey/welcome")
    invalid = text_of(client.post("/journey/consent", data={"agree": "Zustimmen und weiter"}))
    assert "Setzen Sie ein Häkchen bei „" in invalid


@pytest.mark.parametrize(
    ("path", "language", "status", "title"),
    [
        ("/j/nope", "de", 400, "Dieser Link ist ungültig"),
        ("/j/nope", "fr", 400, "Ce lien n'est pas valide"),
        ("/journey/welcome", "de", 403, "Öffnen Sie Ihren Link, um fortzufahren"),
        ("/no-such-page", "fr", 404, "Page introuvable"),
    ],
)
def test_error_pages_speak_the_browsers_language(
    client: FlaskClient, path: str, language: str, status: int, title: str
) -> None:
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in text_of(response)


def test_there_are_catalogues_to_check() -> None:
    assert {po.parts[-3] for po in CATALOGUES} >= {"fr", "de"}


def test_the_template_lists_every_marked_string() -> None:
    """messages.pot is up to date: run `make translations` after marking new strings."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    # The same extraction as `make translations`: pybabel extract -F babel.cfg -k _l
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    extracted = extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
    in_code = {msgid if isinstance(msgid, str) else msgid[0] for _, _, msgid, *_ in extracted}
    in_template = {m.id for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    assert sorted(in_code - in_template) == [], "new strings: run `make translations`"
    assert sorted(in_template - in_code) == [], "stale strings: run `make translations`"


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: po.parts[-3])
def test_every_string_is_translated(po: Path) -> None:
    template = {m.id for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    catalog = _read(po)
    messages = [m for m in catalog if m.id]
    assert {m.id for m in messages} == template
    assert [m.id for m in messages if not m.string] == []
    assert [m.id for m in messages if m.fuzzy] == []
    assert not catalog.fuzzy
    # No unknown placeholder (what `pybabel compile` checks), and none left out either.
    assert [(m.id, errors) for m, errors in catalog.check()] == []
    assert [
        m.id for m in messages if _sorted(PLACEHOLDER, m.id) != _sorted(PLACEHOLDER, m.string)
    ] == []
    # Embedded HTML stays exactly as it is in the English.
    assert [m.id for m in messages if _sorted(HTML_TAG, m.id) != _sorted(HTML_TAG, m.string)] == []


def test_a_message_in_another_language_during_a_page_is_in_that_language(app: Flask) -> None:
    """An email written in the customer's language while the page is in another (finish
    later, a delegation): the catalogue follows the locale in force, and comes back."""
    page = "{{ _('Get started') }}"
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert render_template_string(page) == "Jetzt starten"
        with force_locale("fr"):
            assert render_template_string(page) == "Commencer"
            assert gettext("Get started") == "Commencer"
        assert render_template_string(page) == "Jetzt starten"
        # The journey's language decided later in the request (the switcher does this).
        g.locale = "fr"
        refresh()
        assert render_template_string(page) == "Commencer"
    with app.app_context():  # the CLI and the worker
        assert render_template_string(page) == "Get started"
