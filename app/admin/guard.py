"""Admin access, enforced once: every admin route names the permission it needs.

``before_request`` of the admin blueprint looks the permission up on the view
function; a route that names none is refused, so forgetting is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app.urls import safe_path

F = TypeVar("F", bound=Callable[..., object])
PUBLIC = "public"
_ATTRIBUTE = "admin_permission"
SEEN_KEY = "admin_seen"


def requires(permission: str) -> Callable[[F], F]:
    """Mark an admin view with the permission it needs (``PUBLIC`` for none)."""

    def mark(view: F) -> F:
        setattr(view, _ATTRIBUTE, permission)
        return view

    return mark


def required_permission(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, _ATTRIBUTE, None)


def safe_next(target: str | None) -> str | None:
    """A place to return to after signing in: a path on this site, nothing else."""
    return safe_path(target)


def guard() -> Response | None:
    if request.endpoint is None:
        return None  # no such page: a plain 404
    permission = required_permission(request.endpoint)
    if permission == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    seen = session.get(SEEN_KEY)
    now = int(time.time())
    idle = current_app.config["ADMIN_IDLE_TIMEOUT_SECONDS"]
    if not isinstance(seen, int) or now - seen > idle:
        logout_user()
        session.pop(SEEN_KEY, None)
        flash("You were signed out after a period of inactivity. Sign in again.", "info")
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    session[SEEN_KEY] = now
    if permission is None or not current_user.can(permission):
        abort(403)
    return None
