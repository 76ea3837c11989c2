"""The floor a step page is measured against: a bare Flask route rendering a Jinja
template of the same size as that page (Flask's ``render_template_string``, as the
issue's method has it), and nothing else: no database, session, forms or extensions.

Served by bench/page_speed.py under the same gunicorn settings as Onramp:
``gunicorn -k gthread -w 2 --threads 4 'floor_app:make(BYTES)'`` from this folder.
"""

from __future__ import annotations

from flask import Flask, render_template_string

SOURCE = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{{ heading }}</title>'
    "</head>\n<body><main><h1>{{ heading }}</h1>\n"
    "{% for line in lines %}<p>{{ line }}</p>\n{% endfor %}</main></body></html>\n"
)
LINE = "We read your invoices and bank transactions only for the purpose you agree to."


def make(page_bytes: int = 4000) -> Flask:
    """A Flask app whose one page renders about ``page_bytes`` bytes of HTML each time."""
    app = Flask(__name__)
    lines = [LINE] * max(1, page_bytes // (len(LINE) + 8))

    @app.get("/")
    def page() -> str:
        return render_template_string(SOURCE, heading="A step of the floor", lines=lines)

    return app
