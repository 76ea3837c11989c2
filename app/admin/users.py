"""Colleagues' accounts in the console (admins only): create, change role, deactivate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import audit
from app.admin import accounts, bp
from app.admin.accounts import AccountError, create_user
from app.admin.forms import OWN_CUSTOMERS_HINT, CustomerAccessForm, NewUserForm, RoleForm
from app.admin.guard import requires
from app.admin.nav import section
from app.extensions import db
from app.models import User

section("admin.users", "Users", permission="users.manage", order=80)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page(form: NewUserForm | None = None, created: tuple[str, str] | None = None) -> str:
    users = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template(
        "admin/users/index.html",
        users=users,
        form=form or NewUserForm(),
        role_form=RoleForm,
        access_form=CustomerAccessForm,
        own_customers_hint=OWN_CUSTOMERS_HINT,
        created=created,
    )


@bp.route("/users")
@requires("users.manage")
def users() -> str:
    return _page()


@bp.route("/users", methods=["POST"])
@requires("users.manage")
def create_user_view() -> str | Response:
    form = NewUserForm()
    if not form.validate_on_submit():
        return _page(form)
    try:
        user, password = create_user(
            form.email.data or "",
            form.role.data or "",
            own_customers_only=bool(form.own_customers_only.data),
        )
    except AccountError as exc:
        form.email.errors = [*form.email.errors, str(exc)]
        return _page(form)
    audit.record(
        "user",
        current_user.email,
        "user.create",
        "user",
        str(user.id),
        None,
        {"email": user.email, "role": user.role, "own_customers_only": user.own_customers_only},
    )
    db.session.commit()
    # Shown once, on this response only: it is never stored or shown again.
    return _page(created=(user.email, password))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@requires("users.manage")
def change_role(user_id: int) -> Response:
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the roles.", "error")
        return redirect(url_for("admin.users"), 303)
    if user.id == current_user.user_id and form.role.data != "admin":
        flash("You cannot take away your own admin role: ask another admin.", "error")
        return redirect(url_for("admin.users"), 303)
    before = {"role": user.role}
    accounts.change_role(user, form.role.data or user.role)
    audit.record(
        "user", current_user.email, "user.role", "user", str(user.id), before, {"role": user.role}
    )
    db.session.commit()
    flash(f"{user.email} now has the {user.role} role.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/customers", methods=["POST"])
@requires("users.manage")
def change_customer_access(user_id: int) -> Response:
    user = _user_or_404(user_id)
    form = CustomerAccessForm()
    if not form.validate_on_submit():
        flash("The form expired: try again.", "error")
        return redirect(url_for("admin.users"), 303)
    before = {"own_customers_only": user.own_customers_only}
    if accounts.set_own_customers_only(user, bool(form.own_customers_only.data)):
        audit.record(
            "user",
            current_user.email,
            "user.own_customers_only",
            "user",
            str(user.id),
            before,
            {"own_customers_only": user.own_customers_only},
        )
        db.session.commit()
    if user.role not in accounts.RESTRICTABLE_ROLES:
        flash(
            f"Saved, but {user.email} has the {user.role} role and sees every customer: "
            "this applies to support, viewer and advisor colleagues.",
            "info",
        )
    else:
        sees = "only their own customers" if user.own_customers_only else "every customer"
        flash(f"{user.email} now sees {sees}.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@requires("users.manage")
def deactivate_user(user_id: int) -> Response:
    user = _user_or_404(user_id)
    if user.id == current_user.user_id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.users"), 303)
    accounts.deactivate(user)
    audit.record(
        "user",
        current_user.email,
        "user.deactivate",
        "user",
        str(user.id),
        {"active": True},
        {"active": False},
    )
    db.session.commit()
    flash(f"{user.email} can no longer sign in.", "info")
    return redirect(url_for("admin.users"), 303)
