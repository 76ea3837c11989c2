"""Admin access, enforced once: every admin route names the permission it needs.

``before_request`` of the admin blueprint looks the permission up on the view
function; a route that names none is refused, so forgetting is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app.admin import sessions
from app.urls import safe_path

F = TypeVar("F", bound=Callable[..., object])
PUBLIC = "public"
_ATTRIBUTE = "admin_permission"


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
    now = datetime.fromtimestamp(time.time(), UTC)
    idle = timedelta(seconds=current_app.config["ADMIN_IDLE_TIMEOUT_SECONDS"])
    if not sessions.keep_alive(current_user.session_id, current_user.last_seen_at, now, idle):
        logout_user()
        flash("You were signed out after a period of inactivity. Sign in again.", "info")
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    if permission is None or not current_user.can(permission):
        abort(403)
    return None
