"""The sandbox's own security headers, as any platform sends its own.

Set on every sandbox response before the hosting app's: mounted inside Onramp, whose
headers only fill in what is missing, these are the ones the browser gets.
"""

from __future__ import annotations

from flask import Response, current_app, g

_FORM_ACTION = "sandbox_form_action"


def allow_form_action(origin: str) -> None:
    """Let this response's forms lead to ``origin``.

    Chromium applies ``form-action`` to the redirects that follow a form post, so the
    consent page must name the origin of the client it sends the customer back to.
    """
    g.setdefault(_FORM_ACTION, set()).add(origin)


def security_headers(response: Response) -> Response:
    """A strict Content-Security-Policy and the usual hardening headers."""
    form_action = " ".join(["'self'", *sorted(g.get(_FORM_ACTION, ()))])
    policy = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: Flask-WTF checks the Referer of HTTPS posts.
    headers.setdefault("Referrer-Policy", "same-origin")
    # An embedded journey opens the sign-in in a popup and watches for it to close:
    # the popup must stay in its opener's browsing context group.
    headers.setdefault("Cross-Origin-Opener-Policy", "unsafe-none")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
