"""Customers: find one, see everything that happened to them, and help them along."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from htmx_flask import request
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin import customers_service as service
from app.admin.customers_forms import (
    AssignForm,
    DisconnectForm,
    LinkActionForm,
    LinkForm,
    NewCustomerForm,
    NoteForm,
    ReconnectLinkForm,
    SearchForm,
)
from app.admin.guard import requires
from app.admin.keyset import newest_first
from app.admin.nav import section
from app.admin.scope import current_scope
from app.admin.timeline import grouped
from app.connections import delegation as delegations
from app.connections.authorization import can_reconnect, reconnect_journey
from app.customers.journey_links import AlreadyReplaced, NotSendable
from app.customers.standing import headings
from app.customers.summary import summary
from app.mail import enabled as mail_enabled
from app.models import Connection, Customer, JourneyLink

section("admin.customers", "Customers", order=20)

RESULTS_TARGET = "div#customer-results"


@bp.route("/customers")
@requires("read")
def customers() -> Response:
    form = SearchForm(request.args)
    status = 200 if form.validate() else 400
    window = None
    state = form.state.data or ""
    if status == 200:
        query = service.in_state(service.search(form.q.data or ""), state)
        query = service.narrowed(query, form.assigned.data, current_user.user_id)
        window = newest_first(query, Customer.id, *form.position())
    q, assigned = form.q.data or "", form.assigned.data or ""
    context = {
        "form": form,
        "window": window,
        "q": q,
        "state": state if status == 200 else "",
        "state_heading": headings().get(state),
        "params": {k: v for k, v in (("q", q), ("state", state), ("assigned", assigned)) if v},
        "assignees": service.assignee_emails(window.rows if window else []),
    }
    template = "admin/customers/index.html"
    if request.htmx and request.htmx.target == RESULTS_TARGET:
        html = render_block(template, "results", **context)
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _customer_or_404(public_id: str) -> Customer:
    customer = service.find_customer(public_id)
    if customer is None:
        abort(404)
    return customer


def _connection_or_404(customer: Customer, connection_id: str) -> Connection:
    connection = service.find_connection(customer, connection_id)
    if connection is None:
        abort(404)
    return connection


def _customer_page(customer: Customer, status: int = 200, **forms: Any) -> Response:
    connections = service.connections_of(customer)
    choices = service.journey_choices()
    context: dict[str, Any] = {
        "customer": customer,
        "connections": connections,
        "summary": summary(customer),
        "timeline": grouped(customer, connections),
        "link_form": LinkForm(
            choices,
            service.mail_to(customer),
            formdata=None,
            journey=service.usual_journey(customer),
        ),
        "links": service.links_of(customer),
        "note_form": NoteForm(formdata=None),
        "assign_form": AssignForm(
            service.colleague_choices(current_user.user_id),
            formdata=None,
            assignee=str(customer.assigned_user_id or ""),
        ),
        "assignee": service.assignee_emails([customer]).get(customer.assigned_user_id or 0),
        "new_link": None,
        "disconnectable": service.DISCONNECTABLE,
        "can_reconnect": can_reconnect,
        "reconnect_journey": reconnect_journey,
        "delegations": [
            {
                "public_id": d.public_id,
                "name": delegations.name_of(d) or "—",
                "role": d.role,
                "state": delegations.state(d),
                "open": delegations.is_open(d),
                "created_at": d.created_at,
                "expires_at": d.expires_at,
            }
            for d in delegations.for_customer(customer)
        ],
    }
    context.update(forms)
    response = make_response(render_template("admin/customers/detail.html", **context), status)
    # A page that may show a fresh journey link is not kept by the browser.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/customers/new", methods=["GET", "POST"])
@requires("customers.create")
def new_customer() -> Response | str:
    form = NewCustomerForm(
        service.journey_choices(), service.external_id_taken, can_email=mail_enabled()
    )
    if not form.validate_on_submit():
        status = 422 if form.errors else 200
        return make_response(render_template("admin/customers/new.html", form=form), status)
    # A colleague who sees only their own customers, and an advisor, look after the
    # customers they add; others leave the assignment to whoever hands customers out.
    mine = current_user.role == "advisor" or current_scope().restricted
    try:
        customer, link = service.add_customer(
            form.name.data or "",
            form.email.data or "",
            (form.external_id.data or "").strip() or None,
            form.journey.data,
            current_user.email,
            assign_to=current_user.user_id if mine else None,
            send="send_email" in form and bool(form.send_email.data),
            single_use=bool(form.single_use.data),
        )
    except service.CustomerTaken:
        form.external_id.errors = ["Another customer already has this external id."]
        return make_response(render_template("admin/customers/new.html", form=form), 422)
    return _shown_or_emailed(customer, link)


@bp.route("/customers/<public_id>")
@requires("read", customer="public_id")
def customer(public_id: str) -> Response:
    return _customer_page(_customer_or_404(public_id))


@bp.route("/customers/<public_id>/links", methods=["POST"])
@requires("links.send", customer="public_id")
def create_link(public_id: str) -> Response:
    customer = _customer_or_404(public_id)
    form = LinkForm(service.journey_choices(), service.mail_to(customer))
    if not form.validate_on_submit():
        return _customer_page(customer, 422, link_form=form)
    link = service.create_link(
        customer,
        form.journey.data,
        current_user.email,
        send="send_email" in form and bool(form.send_email.data),
        single_use=bool(form.single_use.data),
    )
    return _shown_or_emailed(customer, link)


def _shown_or_emailed(customer: Customer, link: service.NewLink) -> Response:
    """A link to copy is shown this once; an emailed one is not: the page is reached by a
    redirect, so that reloading it sends nothing twice."""
    if link.sent_to is None:
        return _customer_page(customer, new_link=link)
    flash(
        f"Link emailed to {link.sent_to}. The Links section shows when it is sent and opened.",
        "success",
    )
    return redirect(url_for("admin.customer", public_id=customer.public_id, _anchor="links"), 303)


def _link_or_404(customer: Customer, link_id: str) -> JourneyLink:
    link = service.find_link(customer, link_id)
    if link is None:
        abort(404)
    if not LinkActionForm().validate_on_submit():
        abort(400)
    return link


@bp.route("/customers/<public_id>/links/<link_id>/revoke", methods=["POST"])
@requires("links.send", customer="public_id")
def revoke_link(public_id: str, link_id: str) -> Response:
    """Stop a journey link at once, even in a browser that opened it."""
    link = _link_or_404(_customer_or_404(public_id), link_id)
    if service.revoke_link(link, current_user.email):
        flash(
            "The link is revoked: it no longer opens the journey, even where it was opened.",
            "success",
        )
    else:
        flash("This link was already revoked.", "info")
    return redirect(url_for("admin.customer", public_id=public_id, _anchor="links"), 303)


@bp.route("/customers/<public_id>/links/<link_id>/reissue", methods=["POST"])
@requires("links.send", customer="public_id")
def reissue_link(public_id: str, link_id: str) -> Response:
    """Revoke a journey link and make a new one like it, emailed again if it was."""
    customer = _customer_or_404(public_id)
    link = _link_or_404(customer, link_id)
    try:
        new_link = service.reissue_link(link, current_user.email)
    except AlreadyReplaced:
        flash("This link was reissued already: reissue the newer one instead.", "info")
    except NotSendable:
        flash(
            "This link was emailed, but mail cannot be sent from here now: nothing changed. "
            "Create a new link to copy instead.",
            "error",
        )
    else:
        return _shown_or_emailed(customer, new_link)
    return redirect(url_for("admin.customer", public_id=public_id, _anchor="links"), 303)


@bp.route("/customers/<public_id>/connections/<connection_id>/reconnect-link", methods=["POST"])
@requires("links.send", customer="public_id")
def create_reconnect_link(public_id: str, connection_id: str) -> Response:
    customer = _customer_or_404(public_id)
    connection = _connection_or_404(customer, connection_id)
    journey_id = reconnect_journey(connection)
    if not can_reconnect(connection) or journey_id is None:
        flash("This connection cannot be reconnected: send a new link instead.", "error")
        return redirect(url_for("admin.customer", public_id=public_id), 303)
    form = ReconnectLinkForm()
    if not form.validate_on_submit():
        abort(400)
    link = service.create_link(
        customer,
        journey_id,
        current_user.email,
        reconnects=connection,
        send=bool(form.send_email.data) and service.mail_to(customer) is not None,
    )
    return _shown_or_emailed(customer, link)


@bp.route("/customers/<public_id>/connections/<connection_id>/disconnect", methods=["GET", "POST"])
@requires("customers.act", customer="public_id")
def disconnect(public_id: str, connection_id: str) -> Response | str:
    customer = _customer_or_404(public_id)
    connection = _connection_or_404(customer, connection_id)
    back = url_for("admin.customer", public_id=public_id)
    if connection.status not in service.DISCONNECTABLE:
        flash(f"This connection is {connection.status}: there is nothing to disconnect.", "info")
        return redirect(back, 303)
    form = DisconnectForm()
    if not form.validate_on_submit():
        return render_template(
            "admin/customers/disconnect.html",
            customer=customer,
            connection=connection,
            name=service.platform_name(connection),
            form=form,
        )
    revoked = service.disconnect(connection, current_user.email)
    if revoked:
        flash("Disconnected, and the stored tokens are deleted.", "success")
    else:
        flash(
            "Disconnected and the tokens are deleted, but the provider did not confirm the "
            "revocation: the customer may also remove access in their accounting software.",
            "info",
        )
    return redirect(back, 303)


@bp.route("/customers/<public_id>/delegations/<delegation_id>/revoke", methods=["POST"])
@requires("customers.act", customer="public_id")
def revoke_delegation(public_id: str, delegation_id: str) -> Response:
    """Stop a link the customer made for someone to connect for them, at once."""
    customer = _customer_or_404(public_id)
    delegation = delegations.by_public_id(delegation_id, customer)
    if delegation is None:
        abort(404)
    if not DisconnectForm().validate_on_submit():
        abort(400)
    if delegations.revoke(delegation, by="user", actor_id=current_user.email):
        flash("The link is revoked: it no longer works, even where it was opened.", "success")
    else:
        flash("This link was already used up, revoked or expired.", "info")
    return redirect(url_for("admin.customer", public_id=public_id), 303)


@bp.route("/customers/<public_id>/notes", methods=["POST"])
@requires("customers.act", customer="public_id")
def add_note(public_id: str) -> Response:
    customer = _customer_or_404(public_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _customer_page(customer, 422, note_form=form)
    service.add_note(customer, form.body.data, current_user.user_id, current_user.email)
    flash("Note added.", "success")
    return redirect(url_for("admin.customer", public_id=public_id, _anchor="timeline"), 303)


@bp.route("/customers/<public_id>/assignee", methods=["POST"])
@requires("customers.assign", customer="public_id")
def assign_customer(public_id: str) -> Response:
    customer = _customer_or_404(public_id)
    form = AssignForm(service.colleague_choices(current_user.user_id))
    if not form.validate_on_submit():
        return _customer_page(customer, 422, assign_form=form)
    if service.assign(customer, form.user_id, current_user.email):
        flash(f"Assigned to {form.chosen_label()}.", "success")
    if not current_scope().allows(public_id):
        flash("You see only your own customers: this one is no longer in your list.", "info")
        return redirect(url_for("admin.customers"), 303)
    return redirect(url_for("admin.customer", public_id=public_id), 303)
