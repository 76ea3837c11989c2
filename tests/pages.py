"""Read a response the way a person reads the page: entities decoded."""

from __future__ import annotations

import html

from werkzeug.test import TestResponse


def text_of(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))
