"""The customer's own page, "Your connections and consents" (blueprint ``account``).

A browser reaches it through a signed manage link (``/my/<token>``) or while on one of
the customer's journeys. Everything works with plain links and form posts: a change
is two clicks (a button, then its confirmation), keeping a consent going is one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import mail
from app.account.forms import (
    DisconnectForm,
    FreshLinkForm,
    ReconfirmForm,
    ReconnectForm,
    WithdrawForm,
)
from app.connections import delegation as delegations
from app.connections import repair, uploads
from app.consent import ledger
from app.consent.account_links import read_manage_token
from app.customers import manage
from app.customers.records import find_by_public_id
from app.engine.locales import UI_LOCALES
from app.extensions import db, limiter
from app.input_guard import signed_path
from app.journey.customer_access import current_customer, remember_customer
from app.journey.run_access import current_run
from app.links import LinkExpired, LinkInvalid
from app.models import Connection, ConsentReceipt, Customer
from app.platforms import get_platform

bp = Blueprint("account", __name__)

PageResponse = Response | tuple[str, int]
# Pages a browser may open without holding a customer.
OPEN_ENDPOINTS = {"account.open_link", "account.fresh_link", "account.link_sent"}
SESSION_LOCALE = "account_locale"
# What the last change did, shown once on the next page (role="status").
SESSION_NOTICE = "account_notice"
FRESH_LINK_LIMIT = "5 per hour"


@bp.before_request
def _guard() -> PageResponse | None:
    """Choose the page's language, then guard once: the pages need a customer."""
    _choose_locale()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    customer = current_customer()
    if customer is None:
        # How to get in, honestly: a fresh link by email only where mail can be sent.
        return _page("account/open_your_link.html", 403)
    g.customer = customer
    return None


def _choose_locale() -> None:
    """A language asked for (``?lang=``) is kept; else the journey's; else the browser's."""
    asked = request.args.get("lang")
    if asked in UI_LOCALES:
        session[SESSION_LOCALE] = asked
    locale = session.get(SESSION_LOCALE)
    if locale not in UI_LOCALES:
        run = current_run()
        locale = run.locale.split("-")[0] if run is not None else None
    if locale in UI_LOCALES:
        g.locale = locale


def _page(template: str, status: int = 200, **context: Any) -> Response:
    locale = str(get_locale() or "en")
    here = request.path
    context.update(
        locale=locale,
        languages=[(code, f"{here}?lang={code}") for code in UI_LOCALES],
        fresh_link_form=context.get("fresh_link_form") or FreshLinkForm(formdata=None),
        mail_enabled=mail.enabled(),
    )
    return make_response(render_template(template, **context), status)


def _notify(kind: str, **values: Any) -> None:
    session[SESSION_NOTICE] = {"kind": kind, **values}


def _to_overview() -> Response:
    return redirect(url_for(".overview"), 303)


def _evidence() -> ledger.Evidence:
    return ledger.Evidence(
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
        locale=str(get_locale() or "en"),
        collection_method=ledger.BY_CUSTOMER_PAGE,
    )


def _category(record: Any) -> str:
    return str(record.data_categories[0]) if record.data_categories else str(record.item_key)


def _platform_name(connection: Connection) -> str:
    platform = get_platform(connection.platform)
    return platform.name if platform else connection.platform


@bp.get("/my/<token>")
@signed_path
def open_link(token: str) -> PageResponse:
    """A customer arrives from their manage link (or a reminder's reconfirm link)."""
    try:
        public_id = read_manage_token(token)
    except LinkExpired:
        return _link_problem(
            410,
            _("This link has expired"),
            _("Links to your page work for a limited time. We can email you a fresh one.")
            if mail.enabled()
            else _("Links to your page work for a limited time."),
        )
    except LinkInvalid:
        return _link_problem(
            400,
            _("This link isn't valid"),
            _(
                "It may have been copied incompletely. Open the link from your email again, "
                "or ask for a fresh one."
            ),
        )
    customer = find_by_public_id(public_id)
    if customer is None or customer.erased_at is not None:
        return _link_problem(
            404,
            _("This link is no longer in use"),
            _("Ask for a fresh one by email.")
            if mail.enabled()
            else _("Ask the business that sent it for a new one."),
        )
    remember_customer(customer)
    args: dict[str, Any] = {}
    if request.args.get("reconfirm"):
        args["reconfirm"] = request.args["reconfirm"]
    return redirect(url_for(".overview", **args), 303)


def _link_problem(status: int, title: str, message: str) -> tuple[str, int]:
    page = _page("account/link_problem.html", status, title=title, message=message)
    return page.get_data(as_text=True), status


@bp.get("/my")
def overview() -> Response:
    """What the customer granted, to whom, when and until when, and what they connected."""
    customer: Customer = g.customer
    runs = manage.customer_consents(customer)
    highlight = None
    asked = request.args.get("reconfirm")
    if asked:
        record = manage.find_record(customer, asked)
        highlight = manage.current_state(record) if record is not None else None
    receipts = db.session.scalars(
        select(ConsentReceipt)
        .where(ConsentReceipt.customer_id == customer.id)
        .order_by(ConsentReceipt.issued_at.desc())
    ).all()
    return _page(
        "account/overview.html",
        customer=customer,
        runs=runs,
        highlight=highlight,
        receipts=receipts,
        notice=_pop_notice(),
        reconfirm_form=ReconfirmForm(formdata=None),
        reconnect_form=ReconnectForm(formdata=None),
        category=_category,
        platform_name=_platform_name,
        needs_repair=repair.needs_repair,
        reason_words=repair.reason_words,
        refresh_expires_at=repair.refresh_expires_at,
        delegations=[_delegation_view(d) for d in delegations.for_customer(customer)],
        connected_by=_connected_by,
        uploaded=uploads.customer_uploads(customer),
    )


def role_words(role: str) -> str:
    return {
        "accountant": _("your accountant"),
        "bookkeeper": _("your bookkeeper"),
        "other": _("someone you asked"),
    }.get(role, role)


def _connected_by(connection: Connection) -> str:
    name = ledger.delegate_name(connection)
    role = role_words(connection.authorised_by_role)
    return f"{name} ({role})" if name else role


def _delegation_view(delegation: Any) -> dict[str, Any]:
    state = delegations.state(delegation)
    words = {
        delegations.WAITING: _("Waiting for them to connect"),
        delegations.OPENED: _("They opened the link"),
        delegations.COMPLETED: _("Connected"),
        delegations.REVOKED: _("Cancelled"),
        delegations.NOT_NEEDED: _("Not needed: you connected yourself"),
        delegations.EXPIRED: _("Expired"),
    }
    name = delegations.name_of(delegation)
    role = role_words(delegation.role)
    return {
        "public_id": delegation.public_id,
        "who": f"{name} ({role})" if name else role,
        "state_words": words[state],
        "open": delegations.is_open(delegation),
        "created_at": delegation.created_at,
        "expires_at": delegation.expires_at,
    }


@bp.post("/my/delegations/<delegation_id>/revoke")
def revoke_delegation(delegation_id: str) -> Response:
    """The customer cancels a request to connect for them: the link stops at once."""
    customer: Customer = g.customer
    delegation = delegations.by_public_id(delegation_id, customer)
    if delegation is None:
        abort(404)
    if not ReconnectForm().validate_on_submit():
        abort(400)
    if delegations.revoke(delegation, by="customer", actor_id=customer.public_id):
        _notify("delegation_revoked", name=delegations.name_of(delegation))
    return _to_overview()


def _pop_notice() -> dict[str, Any] | None:
    notice = session.pop(SESSION_NOTICE, None)
    if not isinstance(notice, dict):
        return None
    if notice.get("until"):
        notice["until"] = datetime.fromisoformat(notice["until"])
    return notice


@bp.route("/my/consents/<record_id>/withdraw", methods=["GET", "POST"])
def withdraw(record_id: str) -> Response:
    """Withdrawing a consent: what it means, then the button that does it."""
    customer: Customer = g.customer
    record = manage.find_record(customer, record_id)
    if record is None:
        abort(404)
    state = manage.current_state(record)
    if not state.active:
        _notify("not_active", item=_category(record))
        return _to_overview()
    form = WithdrawForm()
    if form.validate_on_submit():
        outcome = manage.withdraw(record, evidence=_evidence())
        if outcome is None:
            _notify("not_active", item=_category(record))
        else:
            _notify(
                "withdrawn",
                item=_category(record),
                ended=[_platform_name(c) for c in outcome.ended],
            )
        return _to_overview()
    return _page(
        "account/withdraw.html",
        state=state,
        item=_category(state.latest),
        business=", ".join(c["name"] for c in state.latest.controllers if c.get("name")),
        dependents=manage.dependents(state.latest),
        platform_name=_platform_name,
        form=form,
    )


@bp.route("/my/connections/<connection_id>/disconnect", methods=["GET", "POST"])
def disconnect(connection_id: str) -> Response:
    """Disconnecting a platform: what it means, then the button that does it."""
    customer: Customer = g.customer
    connection = manage.find_connection(customer, connection_id)
    if connection is None:
        abort(404)
    name = _platform_name(connection)
    if connection.status == "disconnected":
        _notify("already_disconnected", platform=name)
        return _to_overview()
    form = DisconnectForm()
    if form.validate_on_submit():
        manage.disconnect_by_customer(connection, customer)
        _notify("disconnected", platform=name)
        return _to_overview()
    return _page("account/disconnect.html", connection=connection, platform=name, form=form)


@bp.post("/my/connections/<connection_id>/reconnect")
def reconnect(connection_id: str) -> Response:
    """Reconnect a broken (or soon expiring) connection: straight to the software's sign-in,
    where the same organisation must be chosen again; the connection keeps its id."""
    customer: Customer = g.customer
    connection = manage.find_connection(customer, connection_id)
    if connection is None:
        abort(404)
    if not ReconnectForm().validate_on_submit():
        abort(400)
    try:
        link = repair.repair_link(connection, str(get_locale() or "en"))
    except repair.NotRepairable:
        _notify("not_repairable", platform=_platform_name(connection))
        return _to_overview()
    return redirect(link.url, 303)


@bp.post("/my/consents/<record_id>/reconfirm")
def reconfirm(record_id: str) -> Response:
    """One click keeps a consent going for another full period."""
    customer: Customer = g.customer
    record = manage.find_record(customer, record_id)
    if record is None:
        abort(404)
    if not ReconfirmForm().validate_on_submit():
        abort(400)
    reconfirmed = manage.reconfirm(record, _evidence())
    if reconfirmed is None:
        _notify("not_active", item=_category(record))
    else:
        until = reconfirmed.expires_at.isoformat() if reconfirmed.expires_at else None
        _notify("reconfirmed", item=_category(record), until=until)
    return _to_overview()


@bp.route("/my/link", methods=["GET", "POST"])
@limiter.limit(FRESH_LINK_LIMIT, methods=["POST"])
def fresh_link() -> Response:
    """Email me a fresh link: the same answer whether or not we know the address.

    Without a mail server nothing can be sent, so nothing is claimed: the page says how
    to get in touch with the business instead, to a GET and a POST alike.
    """
    if not mail.enabled():
        return _page("account/no_fresh_link.html")
    form = FreshLinkForm()
    if form.validate_on_submit():
        manage.email_manage_links(form.email.data or "")
        return redirect(url_for(".link_sent"), 303)
    return _page("account/fresh_link.html", 422 if form.errors else 200, fresh_link_form=form)


@bp.get("/my/link/sent")
def link_sent() -> Response:
    if not mail.enabled():
        return _page("account/no_fresh_link.html")
    return _page(
        "account/link_sent.html",
        days=current_app.config["LINK_MAX_AGE_SECONDS"] // 86400,
    )
