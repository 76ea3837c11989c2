"""Onramp's own words (buttons, labels, notices) in a customer's language, for locating
them the way a person reads them.

They come from the same Babel catalogues the app uses (app/translations, compiled by
``make install``), looked up by their English msgid: a page object names the English
words and finds them in whichever language the page is in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from babel.support import Translations

TRANSLATIONS = Path(__file__).resolve().parent.parent / "app" / "translations"


@cache
def _catalogue(lang: str) -> Translations:
    if not (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").exists():
        pytest.fail(
            f"Onramp's {lang!r} translations are not compiled ({TRANSLATIONS}): run `make install`",
            pytrace=False,
        )
    return Translations.load(str(TRANSLATIONS), [lang])


def in_language(lang: str, english: str, **values: str) -> str:
    """``english`` as Onramp says it in ``lang``, with ``values`` filled in."""
    words = english if lang == "en" else _catalogue(lang).gettext(english)
    return words % values if values else words
