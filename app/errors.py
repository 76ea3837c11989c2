"""Friendly error pages: every bad request ends on a page that says what to do next."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

# Status → (title, what to do), in the customer's words.
MESSAGES = {
    400: (_l("Something in that request wasn't right"), _l("Go back and try again.")),
    403: (
        _l("You can't open this page"),
        _l("Open the link you were sent to continue your journey."),
    ),
    404: (_l("Page not found"), _l("Check the address, or open the link you were sent.")),
    405: (_l("That action isn't possible here"), _l("Go back and use the buttons on the page.")),
    410: (_l("This page has gone"), _l("Ask for a new link to continue.")),
    413: (_l("That was too much to send"), _l("Go back and send less.")),
    414: (
        _l("That address is too long"),
        _l("Go back and try again with fewer search terms or filters."),
    ),
    429: (_l("Too many attempts"), _l("Wait a minute, then try again.")),
    500: (_l("Something went wrong on our side"), _l("Please try again in a few minutes.")),
}


# The admin console speaks to colleagues, in English (staff-facing), not to customers.
ADMIN_MESSAGES = {
    403: (
        "You can't open this page",
        "Your role does not include this. Ask an admin of this Onramp if you need it.",
    ),
    404: ("Page not found", "Check the address, or go back to the console's overview."),
}


def render_error(
    status: int, title: str | None = None, message: str | None = None, **context: object
) -> tuple[str, int]:
    default_title, default_message = MESSAGES.get(status, MESSAGES[400])
    body = render_template(
        "errors/error.html",
        status=status,
        title=title or default_title,
        message=message or default_message,
        **context,
    )
    return body, status


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            _("This form has expired"),
            _(
                "For your security, forms stop working after a while or in another browser. "
                "Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        if request.blueprint == "admin" and code in ADMIN_MESSAGES:
            return render_error(code, *ADMIN_MESSAGES[code])
        return render_error(code)

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError) -> tuple[str, int]:
        return render_error(500)
