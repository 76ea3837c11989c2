"""Admin access, enforced once: every admin route names the permission it needs.

``before_request`` of the admin blueprint looks the permission up on the view
function; a route that names none is refused, so forgetting is safe. It also decides
which customers the colleague sees (scope.py): a route names the URL argument that
holds a customer, and the guard refuses another's customer before the view runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from app import clock
from app.admin import sessions
from app.admin.scope import CustomerScope
from app.urls import safe_path

F = TypeVar("F", bound=Callable[..., object])
PUBLIC = "public"
_ATTRIBUTE = "admin_permission"
_CUSTOMER = "admin_customer_argument"
_EVERY_CUSTOMER = "admin_every_customer"


def requires(
    permission: str, customer: str | None = None, every_customer: bool = False
) -> Callable[[F], F]:
    """Mark an admin view with the permission it needs (``PUBLIC`` for none).

    ``customer``: the URL argument holding a customer's public id; a colleague who may
    not see that customer gets "not found". ``every_customer``: the page names or counts
    customers across the board; refused to a colleague who sees only their own.
    """

    def mark(view: F) -> F:
        setattr(view, _ATTRIBUTE, permission)
        setattr(view, _CUSTOMER, customer)
        setattr(view, _EVERY_CUSTOMER, every_customer)
        return view

    return mark


def required_permission(endpoint: str | None) -> str | None:
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, _ATTRIBUTE, None)


def customer_argument(endpoint: str) -> str | None:
    """The URL argument of ``endpoint`` that names a customer, if any."""
    return getattr(current_app.view_functions.get(endpoint), _CUSTOMER, None)


def shows_every_customer(endpoint: str) -> bool:
    return bool(getattr(current_app.view_functions.get(endpoint), _EVERY_CUSTOMER, False))


def scope_of_current_user() -> CustomerScope:
    """The customers the signed-in colleague sees (see scope.py)."""
    return CustomerScope(current_user.user_id if current_user.sees_only_own else None)


def may_open(endpoint: str) -> bool:
    """Whether the signed-in colleague may open ``endpoint`` (for the navigation)."""
    permission = required_permission(endpoint)
    if permission is None or not current_user.can(permission):
        return False
    return not (shows_every_customer(endpoint) and scope_of_current_user().restricted)


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
    # The clock the session's start and last use were stamped with (app.admin.sessions).
    now = clock.now()
    idle = timedelta(seconds=current_app.config["ADMIN_IDLE_TIMEOUT_SECONDS"])
    if not sessions.keep_alive(current_user.session_id, current_user.last_seen_at, now, idle):
        logout_user()
        flash("You were signed out after a period of inactivity. Sign in again.", "info")
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    if permission is None or not current_user.can(permission):
        abort(403)
    scope = g.customer_scope = scope_of_current_user()
    if scope.restricted:
        if shows_every_customer(request.endpoint):
            abort(403)
        argument = customer_argument(request.endpoint)
        if argument is not None and not scope.allows(str((request.view_args or {})[argument])):
            abort(404)
    return None
