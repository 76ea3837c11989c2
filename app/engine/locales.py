"""Which language a customer sees: the link, the switcher, the browser, the journey's default."""

from __future__ import annotations

from gettext import NullTranslations
from typing import Any

from babel import Locale
from flask import Flask, g, has_request_context, request
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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


# Parsed once: Flask-Babel parses what the selector names on every request, and parsing
# looks for the locale's data file on disk each time.
_UI_LOCALE_OBJECTS = {code: Locale.parse(code) for code in UI_LOCALES}


def _ui_locale() -> Locale:
    if not has_request_context():
        # The CLI and the worker: messages shared with pages read in English.
        return _UI_LOCALE_OBJECTS["en"]
    locale = g.get("locale") or request.accept_languages.best_match(UI_LOCALES) or "en"
    # A journey in a language Onramp's own pages lack falls back to English for those.
    return _UI_LOCALE_OBJECTS.get(locale.split("-")[0], _UI_LOCALE_OBJECTS["en"])


def _babel_state() -> Any:
    """Flask-Babel's state for this request (or app context), if it has made it yet."""
    try:
        # One look-up of ``g``: this runs for every string a page translates.
        return g._flask_babel
    except (AttributeError, RuntimeError):  # not made yet; no app context
        return None


def translations() -> NullTranslations:
    """The catalogue of the locale in force, found once per request and locale.

    Flask-Babel's ``get_translations`` finds the request's locale and domain afresh on each
    call, a dozen context look-ups, and a step page translates a dozen strings: a tenth of
    its time. The catalogue is kept in Flask-Babel's own state for the request, beside the
    locale it is for, so a locale that ``force_locale`` puts in (an email in the customer's
    language) or ``refresh`` takes out is seen at once.
    """
    state = _babel_state()
    kept = getattr(state, "onramp_translations", None)
    if kept is not None and kept[0] is getattr(state, "babel_locale", None):
        return kept[1]  # type: ignore[no-any-return]
    found: NullTranslations = get_translations()
    state = _babel_state()
    locale = getattr(state, "babel_locale", None)
    if state is not None and locale is not None:
        state.onramp_translations = (locale, found)
    return found


@pass_context
def template_gettext(context: Context, text: str, **variables: Any) -> str:
    """``_()`` in templates: what Jinja's newstyle ``gettext`` does, in one call.

    Jinja's wraps the function it is given and calls it through the template's context,
    then formats the result with ``%`` even when nothing is put in, to turn ``%%`` into
    ``%``. A step page translates a dozen strings, most with nothing to put in: those skip
    the formatting when the text holds no ``%``, which gives the same text.
    """
    found = translations().gettext(text)
    if context.eval_ctx.autoescape:
        found = Markup(found)
    if not variables and "%" not in found:
        return found
    return found % variables


def init_locales(app: Flask) -> None:
    babel.init_app(app, locale_selector=_ui_locale, default_translation_directories="translations")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: translations().gettext(text),
        ngettext=lambda one, many, n: translations().ngettext(one, many, n),
        pgettext=lambda context, text: translations().pgettext(context, text),
        npgettext=lambda context, one, many, n: translations().npgettext(context, one, many, n),
        newstyle=True,
    )
    # ``_`` is the i18n extension's alias, which looks ``gettext`` up in each template's
    # context and calls it there: twice the cost of calling it directly. No template
    # brings a ``gettext`` of its own, so ``_`` is the function itself.
    app.jinja_env.globals["gettext"] = app.jinja_env.globals["_"] = template_gettext
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["ui_locale"] = lambda: str(get_locale() or "en")
