"""Security headers on every response, with a strict Content-Security-Policy.

Pages are unframeable (``frame-ancestors 'none'``) unless a journey page names the
origins its journey allows to embed it (``allow_framing``). The session cookie is
``SameSite=Lax`` except in an embedded journey, where it is a partitioned (CHIPS)
``SameSite=None; Secure; Partitioned`` cookie: see docs/embedding.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flask import Flask, Response, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer

from app.extensions import compress

# The session key present only in a journey opened inside a business's frame.
EMBED_SESSION_KEY = "embed"
# The areas whose every answer may name a customer or carry a token: journey steps and
# the provider's redirect back, the customer's page (/my) and receipts, the admin
# console and the API. No cache, shared or the browser's, may keep them.
NO_STORE_BLUEPRINTS = (
    "journey",
    "delegated",
    "connections",
    "account",
    "receipts",
    "admin",
    "api",
)
_NO_STORE_KEY = "onramp.no_store"
# The console's pages echo what a colleague searched for beside customers' details and
# links: never compressed (BREACH, docs/security.md).
UNCOMPRESSED_BLUEPRINTS = ("admin",)


def allow_form_action(origin: str) -> None:
    """Let this response's forms lead to ``origin``.

    Chromium applies ``form-action`` to the redirects that follow a form post, so
    the page whose form starts a sign-in at a provider must name that provider.
    """
    g.setdefault("csp_form_action", set()).add(origin)


def send_uncompressed() -> None:
    """Send this response uncompressed: it shows a credential (a link that opens a
    customer's journey) whose bytes a compressed length could give away (BREACH)."""
    g.uncompressed = True


def allow_framing(origins: Iterable[str]) -> None:
    """Let this response be shown in frames on ``origins`` (a journey's allowed origins)."""
    g.setdefault("csp_frame_ancestors", set()).update(origins)


def allow_opener() -> None:
    """Keep this page in its opener's browsing context group (a provider popup's page)."""
    g.keep_opener = True


@lru_cache(maxsize=256)
def content_security_policy(form_action: tuple[str, ...], frame_ancestors: tuple[str, ...]) -> str:
    """The Content-Security-Policy for a page posting to and framed by these origins (none:
    only itself, and no frame): the same few for every page, written out once each."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action " + " ".join(["'self'", *form_action]),
            "frame-ancestors " + (" ".join(frame_ancestors) if frame_ancestors else "'none'"),
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


# Flask-WTF's name for the token, in ``g`` and in forms (templates name it too).
CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    """The CSRF token for templates: Flask-WTF's, made on a page's first use and then read
    from ``g`` (``generate_csrf`` reads its settings again on each of a page's five calls).
    """
    return str(g.get(CSRF_FIELD) or generate_csrf())


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _set_headers(response: Response) -> Response:
        policy = content_security_policy(
            tuple(sorted(g.get("csp_form_action", ()))),
            tuple(sorted(g.get("csp_frame_ancestors", ()))),
        )
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # frame-ancestors decides; X-Frame-Options can only say DENY to everyone.
        if not g.get("csp_frame_ancestors"):
            headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: Flask-WTF checks the Referer of HTTPS posts.
        headers.setdefault("Referrer-Policy", "same-origin")
        keep_opener = g.get("keep_opener")
        headers.setdefault(
            "Cross-Origin-Opener-Policy", "unsafe-none" if keep_opener else "same-origin"
        )
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # A view may say otherwise (a journey version's theme never changes: public).
        if request.blueprint in NO_STORE_BLUEPRINTS:
            headers.setdefault("Cache-Control", "no-store")
        return response

    app.extensions[_NO_STORE_KEY] = NO_STORE_BLUEPRINTS


def init_compression(app: Flask) -> None:
    """Compress what the browser accepts, except where a credential sits beside input
    a page may echo back (docs/security.md, "Compression")."""
    compress.init_app(app)

    @app.after_request
    def _compress(response: Response) -> Response:
        if g.get("uncompressed") or request.blueprint in UNCOMPRESSED_BLUEPRINTS:
            return response
        return compress.after_request(response)


def no_store_installed(app: Flask) -> bool:
    """Whether ``app`` sends ``Cache-Control: no-store`` from every sensitive area."""
    return app.extensions.get(_NO_STORE_KEY) == NO_STORE_BLUEPRINTS


class EmbeddableSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, partitioned when the journey runs in a frame.

    Browsers that block third-party cookies still keep a partitioned cookie, keyed
    to the embedding site: the frame keeps its run and its CSRF token, and the same
    customer's top-level tabs (or another site's frame) never see it. ``SameSite=None``
    needs ``Secure``: browsers accept it on HTTPS and on http://localhost or 127.0.0.1.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Flask builds the serializer afresh for every request: here once per set of keys.
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]

    def _embedded(self) -> bool:
        # ``in`` does not mark the session accessed: no needless ``Vary: Cookie``.
        return EMBED_SESSION_KEY in session

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if self._embedded() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if self._embedded() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if self._embedded() else super().get_cookie_partitioned(app)


def init_session_cookie(app: Flask) -> None:
    app.session_interface = EmbeddableSessionInterface()
