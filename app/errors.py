"""Friendly error pages: every bad request ends on a page that says what to do next."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.problems import http_problem, is_api_request, problem_response

log = logging.getLogger(__name__)

# How long a browser or API client is asked to wait after the database could not be reached.
DATABASE_RETRY_AFTER_SECONDS = 30

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
    503: (
        _l("We're briefly unavailable"),
        _l("Nothing you have done so far is lost. Please try again in a moment."),
    ),
}


# The admin console speaks to colleagues, in English (staff-facing), not to customers.
ADMIN_MESSAGES = {
    403: (
        "You can't open this page",
        "Your role does not include this. Ask an admin of this Onramp if you need it.",
    ),
    404: ("Page not found", "Check the address, or go back to the console's overview."),
    503: (
        "The database can't be reached",
        "Nothing you have done so far is lost. Try again in a moment; /readyz says when "
        "the database answers again.",
    ),
}


def render_error(
    status: int, title: str | None = None, message: str | None = None, **context: object
) -> tuple[str, int]:
    default_title, default_message = MESSAGES.get(status, MESSAGES[400])
    body = render_template(
        "errors/error.html",
        status=status,
        staff=request.blueprint == "admin",
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
    def _http(exc: HTTPException) -> Response | tuple[str, int]:
        code = exc.code or 500
        if code < 500 and is_api_request():
            # Under /api but matched by no route (a line break in the path, say): the
            # API's own handlers never saw it, and its clients read problem+json only.
            return http_problem(code, exc.description or "")
        if request.blueprint == "admin" and code in ADMIN_MESSAGES:
            return render_error(code, *ADMIN_MESSAGES[code])
        return render_error(code)

    @app.errorhandler(InternalServerError)
    def _internal(error: InternalServerError) -> tuple[str, int]:
        return render_error(500)

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(InterfaceError, database_unavailable)


def database_unavailable(exc: DBAPIError) -> Response | tuple[str, int, dict[str, str]]:
    """The database could not be reached (down, restarting, locked, its file gone): 503 with
    Retry-After, a page for people, problem+json for the API. What the request would have
    changed is rolled back whole, so trying again is safe."""
    db.session.rollback()
    # The error's own text can hold the SQL and its parameters, customers' data among them.
    cause = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
    code = getattr(exc.orig, "sqlstate", None)
    log.error(
        "database unavailable (%s%s) during %s %s; answered 503",
        cause,
        f" {code}" if code else "",
        request.method,
        request.endpoint,
    )
    retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
    if request.blueprint == "api":
        return problem_response(
            "database-unavailable",
            "The database could not be reached. Try again after Retry-After seconds; a "
            "write sent again with the same Idempotency-Key is applied at most once.",
            headers=retry,
        )
    title, message = ADMIN_MESSAGES[503] if request.blueprint == "admin" else MESSAGES[503]
    retry_url = None
    if request.method in ("GET", "HEAD") and request.endpoint:
        # Built by the app, not echoed from the request line.
        retry_url = url_for(request.endpoint, **{**request.args, **(request.view_args or {})})
    # Rendered without the context processors: Flask-Login's would ask the database for a
    # signed-in colleague's account all over again.
    page = current_app.jinja_env.get_template("errors/error.html").render(
        status=503,
        title=title,
        message=message,
        retry_url=retry_url,
        staff=request.blueprint == "admin",
    )
    return page, 503, retry
