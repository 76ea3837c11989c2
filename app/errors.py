"""Friendly error pages: every bad request ends on a page that says what to do next."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

# Status → (title, what to do), in the customer's words.
MESSAGES = {
    400: ("Something in that request wasn't right", "Go back and try again."),
    403: ("You can't open this page", "Open the link you were sent to continue your journey."),
    404: ("Page not found", "Check the address, or open the link you were sent."),
    405: ("That action isn't possible here", "Go back and use the buttons on the page."),
    410: ("This page has gone", "Ask for a new link to continue."),
    413: ("That was too much to send", "Go back and send less."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong on our side", "Please try again in a few minutes."),
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
    def _csrf(_: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "This form has expired",
            "For your security, forms stop working after a while or in another browser. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[str, int]:
        return render_error(exc.code or 500)

    @app.errorhandler(InternalServerError)
    def _internal(_: InternalServerError) -> tuple[str, int]:
        return render_error(500)
