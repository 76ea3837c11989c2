"""Admin console pages. Each names the permission it needs (see guard.py)."""

from __future__ import annotations

import math

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app import audit
from app.admin import bp, sessions, sso, throttle
from app.admin.accounts import failed_sign_in, open_session, password_sign_in
from app.admin.forms import LoginForm
from app.admin.guard import PUBLIC, requires, safe_next
from app.admin.health_panel import health_panel
from app.admin.nav import section, visible_sections
from app.extensions import db, limiter
from app.metrics import ADMIN_LOGIN_FAILURES
from app.models import User
from app.ops.certification import cap_warnings
from app.security import allow_form_action
from app.urls import public_url

SSO_NEXT = "admin_sso_next"

section("admin.dashboard", "Overview", order=0)


@bp.context_processor
def _sections() -> dict[str, object]:
    return {"admin_sections": visible_sections}


def _login_rate_limit() -> str:
    return str(current_app.config["ADMIN_LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login() -> Response | str:
    target = safe_next(request.args.get("next")) or url_for("admin.dashboard")
    if current_user.is_authenticated:
        return redirect(target, 303)
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        try:
            user = password_sign_in(
                form.email.data or "", form.password.data or "", request.remote_addr
            )
        except throttle.Throttled as throttled:
            return _throttled_page(form, throttled.retry_after)
        if user is not None:
            return _signed_in(user, "password", target)
        failed = True
        ADMIN_LOGIN_FAILURES.inc()
        failed_sign_in(form.email.data, "password")
    return _login_page(form, failed=failed)


def _throttled_page(form: LoginForm, retry_after: int) -> Response:
    if retry_after < 60:
        wait = f"{retry_after} second{'s' if retry_after != 1 else ''}"
    else:
        minutes = math.ceil(retry_after / 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    response = make_response(_login_page(form, status=429, throttled_wait=wait))
    response.headers["Retry-After"] = str(retry_after)
    return response


def _login_page(
    form: LoginForm | None = None, status: int = 200, **context: object
) -> Response | str:
    if sso.enabled():
        allow_form_action(sso.authorization_origin())
    page = render_template(
        "admin/login.html", form=form or LoginForm(), sso=sso.enabled(), **context
    )
    return page if status == 200 else Response(page, status)


def _signed_in(user: User, via: str, target: str) -> Response:
    """Start the colleague's session (a fresh one: nothing from before survives)."""
    session.clear()
    login_user(open_session(user, request.remote_addr))
    audit.record("user", user.email, "user.login", "user", str(user.id), None, {"via": via})
    db.session.commit()
    return redirect(target, 303)


@bp.route("/login/sso", methods=["POST"])
@requires(PUBLIC)
@limiter.limit(_login_rate_limit)
def sso_start() -> Response:
    if not sso.enabled():
        abort(404)
    session[SSO_NEXT] = safe_next(request.args.get("next"))
    response: Response = sso.client().authorize_redirect(public_url("admin.sso_callback"))
    return response


@bp.route("/login/sso/callback")
@requires(PUBLIC)
@limiter.limit(_login_rate_limit)
def sso_callback() -> Response | str:
    if not sso.enabled():
        abort(404)
    target = session.pop(SSO_NEXT, None) or url_for("admin.dashboard")
    try:
        user = sso.account_for(sso.claims_from_callback())
    except sso.SignOnRefused as refused:
        ADMIN_LOGIN_FAILURES.inc()
        failed_sign_in(None, "single sign-on")
        return _login_page(status=400, sso_error=str(refused))
    return _signed_in(user, "single sign-on", target)


@bp.route("/logout", methods=["POST"])
@requires("read")
def logout() -> Response:
    sessions.end(current_user.session_id)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("admin.login"), 303)


@bp.route("/")
@requires("read")
def dashboard() -> str:
    return render_template("admin/dashboard.html", cap_warnings=cap_warnings(), **health_panel())
