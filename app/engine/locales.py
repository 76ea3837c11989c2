"""Which language a customer sees: the link, the switcher, the browser, the journey's default."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import get_locale

from app.engine.schema import Journey
from app.extensions import babel

# The languages Onramp's own pages are translated into (app/translations).
UI_LOCALES = ("en", "fr", "de")
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "de": "Deutsch"}


def choose_locale(journey: Journey, asked: str | None) -> str:
    """The journey locale to start in: one asked for, else the browser's, else the default."""
    if asked in journey.locales:
        return str(asked)
    best = request.accept_languages.best_match(journey.locales)
    return best or journey.default_locale


def _ui_locale() -> str:
    if not has_request_context():
        return "en"  # the CLI and the worker: messages shared with pages read in English
    locale = g.get("locale") or request.accept_languages.best_match(UI_LOCALES) or "en"
    # A journey in a language Onramp's own pages lack falls back to English for those.
    return locale.split("-")[0] if locale.split("-")[0] in UI_LOCALES else "en"


def init_locales(app: Flask) -> None:
    babel.init_app(app, locale_selector=_ui_locale, default_translation_directories="translations")
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["ui_locale"] = lambda: str(get_locale() or "en")
