"""Security headers on every response, with a strict Content-Security-Policy."""

from __future__ import annotations

from flask import Flask, Response, g


def allow_form_action(origin: str) -> None:
    """Let this response's forms lead to ``origin``.

    Chromium applies ``form-action`` to the redirects that follow a form post, so
    the page whose form starts a sign-in at a provider must name that provider.
    """
    g.setdefault("csp_form_action", set()).add(origin)


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _set_headers(response: Response) -> Response:
        form_action = " ".join(["'self'", *sorted(g.get("csp_form_action", ()))])
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
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
