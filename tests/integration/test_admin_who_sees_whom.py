"""Who sees whom: assigning customers, colleagues who see only their own, the advisor role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from app import clock
from app.admin.accounts import PERMISSIONS, ROLES, create_user
from app.admin.guard import PUBLIC, customer_argument, required_permission
from app.admin.help import SCREENS
from app.engine.registry import get_journey
from app.extensions import db
from app.models import (
    AuditEntry,
    Connection,
    Customer,
    CustomerNote,
    Delegation,
    JourneyFeedback,
    JourneyLink,
    JourneyRun,
    OutboxEvent,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.admin import PASSWORD, make_user, sign_in, signed_in_as
from tests.consent_records import chained

OTHER_NAME = "Hidden Holdings Ltd"
OTHER_EMAIL = "books@hidden-holdings.example"


@dataclass(frozen=True)
class Seeded:
    mine: str
    other: str
    other_connection: str
    other_delegation: str
    other_link: str
    restricted: str  # the restricted support colleague's email


def _user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


def _restricted(app: Flask, role: str = "support", email: str | None = None) -> str:
    with app.app_context():
        user, _ = create_user(
            email or f"own-{role}@example.com", role, PASSWORD, own_customers_only=True
        )
        db.session.commit()
        return user.email


def _customer(name: str, email: str, assigned_to: int | None = None) -> Customer:
    customer = Customer(name=name, email=email, assigned_user_id=assigned_to)
    db.session.add(customer)
    db.session.flush()
    return customer


def _history(customer: Customer) -> tuple[Connection, Delegation]:
    """A run, a consent, feedback, a webhook delivery, a connection, a delegation, a note."""
    journey = get_journey("default")
    assert journey is not None
    run = JourneyRun(
        customer_id=customer.id,
        journey_id="default",
        journey_version=journey.version,
        current_step="done",
        status="completed",
    )
    db.session.add(run)
    db.session.flush()
    db.session.add(
        chained(
            customer_id=customer.id,
            run_id=run.id,
            journey_id="default",
            journey_version=journey.version,
            item_key="financial_statements",
            text="Financial statements",
            text_sha256="b" * 64,
            decision="granted",
            locale="en",
            recorded_at=clock.now(),
        )
    )
    db.session.add(
        JourneyFeedback(
            run_id=run.id,
            customer_id=customer.id,
            journey_id="default",
            journey_version=journey.version,
            step="done",
            rating=5,
            comment=f"Loved it, {customer.name}",
        )
    )
    endpoint = WebhookEndpoint(url="https://hooks.example/onramp", secrets_ciphertext="x")
    event = OutboxEvent(
        type="consent.granted",
        data={"customer": {"name": customer.name, "email": customer.email}},
        customer_id=customer.id,
    )
    db.session.add_all([endpoint, event])
    db.session.flush()
    db.session.add(WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, status="failed"))
    connection = Connection(
        customer_id=customer.id,
        run_id=run.id,
        platform="sandbox",
        status="linked",
        org_name=f"{customer.name} books",
    )
    delegation = Delegation(
        customer_id=customer.id,
        run_id=run.id,
        token_sha256=customer.public_id.replace("-", "").ljust(64, "0"),
        role="accountant",
        expires_at=clock.now() + timedelta(days=1),
    )
    link = JourneyLink(
        customer_id=customer.id,
        journey_id="default",
        actor_type="user",
        actor_id="someone@example.com",
        expires_at=clock.now() + timedelta(days=1),
        sent_to=customer.email,
    )
    db.session.add_all([connection, delegation, link])
    db.session.add(CustomerNote(customer_id=customer.id, body=f"Called {customer.email}"))
    db.session.flush()
    return connection, delegation, link


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    """Two customers with a full history; a restricted support colleague owns one."""
    restricted = _restricted(app)
    with app.app_context():
        me = db.session.scalars(select(User.id).where(User.email == restricted)).one()
        mine = _customer("Mine Trading Ltd", "owner@mine.example", assigned_to=me)
        other = _customer(OTHER_NAME, OTHER_EMAIL)
        _history(mine)
        connection, delegation, link = _history(other)
        db.session.commit()
        return Seeded(
            mine.public_id,
            other.public_id,
            connection.public_id,
            delegation.public_id,
            link.public_id,
            restricted,
        )


def _as(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, email)
    return client


# The permission table (app/admin/accounts.py), as the help pages describe it.
EXPECTED = {
    "viewer": {"read", "settings.read"},
    "advisor": {"read", "customers.create", "links.send"},
    "support": {
        "read",
        "settings.read",
        "customers.create",
        "links.send",
        "customers.act",
        "customers.assign",
    },
    "editor": {"read", "settings.read", "journeys.edit"},
    "admin": {
        "read",
        "settings.read",
        "customers.create",
        "links.send",
        "customers.act",
        "customers.assign",
        "journeys.edit",
        "users.manage",
        "api_keys.manage",
        "webhooks.manage",
        "audit.read",
    },
}


def test_the_permission_table_per_role() -> None:
    assert set(ROLES) == set(EXPECTED)
    assert {role: set(permissions) for role, permissions in PERMISSIONS.items()} == EXPECTED


def _fill(rule_arguments: set[str], endpoint: str, seeded: Seeded) -> dict[str, str]:
    """URL arguments naming the other customer's things, or real objects of other kinds."""
    journey = get_journey("default")
    assert journey is not None
    values = {
        "connection_id": seeded.other_connection,
        "delegation_id": seeded.other_delegation,
        "link_id": seeded.other_link,
        "journey_id": "default",
        "version": journey.version,
        "source": journey.version,
        "step_id": "welcome",
        "screen": SCREENS[0].key,
        "public_id": seeded.other if customer_argument(endpoint) else "no-such-draft",
    }
    return {name: values[name] for name in rule_arguments}


def test_a_restricted_colleague_sees_nothing_of_another_customer_on_any_page(
    app: Flask, seeded: Seeded
) -> None:
    support = _as(app, seeded.restricted)
    visited = 0
    with app.test_request_context():
        rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
        # Every route declares its permission, and every customer route its customer.
        known = set().union(*PERMISSIONS.values()) | {PUBLIC}
        for rule in rules:
            assert required_permission(rule.endpoint) in known, rule.rule
            if "/customers/<public_id>" in rule.rule:
                assert customer_argument(rule.endpoint) == "public_id", rule.rule
        pages = [
            (
                url_for(
                    rule.endpoint,
                    **_fill(set(rule.arguments) - set(rule.defaults or {}), rule.endpoint, seeded),
                    **(rule.defaults or {}),
                ),
                customer_argument(rule.endpoint) is not None,
            )
            for rule in rules
            if "GET" in (rule.methods or set())
        ]
    for path, names_a_customer in pages:
        response = support.get(path)
        visited += 1
        assert response.status_code < 500, (path, response.status_code)
        text = unescape(response.get_data().decode("utf-8", "replace"))
        response.close()
        assert OTHER_NAME not in text, path
        assert OTHER_EMAIL not in text, path
        if names_a_customer:
            assert response.status_code == 404, path
    assert visited > 20
    # The colleague's own customer is there, on the list and on their page.
    assert "Mine Trading Ltd" in support.get("/admin/customers").text
    assert support.get(f"/admin/customers/{seeded.mine}").status_code == 200


def test_the_guard_refuses_every_route_of_another_customer(app: Flask, seeded: Seeded) -> None:
    support = _as(app, seeded.restricted)
    with app.test_request_context():
        routes = [
            (url_for(r.endpoint, **_fill(set(r.arguments), r.endpoint, seeded)), method)
            for r in app.url_map.iter_rules()
            if r.endpoint.startswith("admin.") and customer_argument(r.endpoint)
            for method in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})
        ]
    assert len(routes) >= 8
    for path, method in routes:
        response = support.open(path, method=method, data={"body": "x", "journey": "default"})
        assert response.status_code == 404, (method, path)
    with app.app_context():
        other = db.session.scalars(select(Customer).where(Customer.public_id == seeded.other))
        assert other.one().assigned_user_id is None
        notes = db.session.scalars(select(CustomerNote.body)).all()
    assert "x" not in notes
    # The same routes open for the colleague's own customer (the guard lets them through).
    mine = support.post(f"/admin/customers/{seeded.mine}/notes", data={"body": "Rang back"})
    assert mine.status_code == 303


def test_lists_and_exports_hold_only_the_colleagues_own_customers(
    app: Flask, seeded: Seeded
) -> None:
    support = _as(app, seeded.restricted)
    ledger = support.get("/admin/consents")
    assert "Mine Trading Ltd" in ledger.text
    assert OTHER_NAME not in ledger.text
    export = support.get("/admin/consents/export.jsonl")
    assert export.status_code == 200
    lines = export.get_data(as_text=True).splitlines()
    assert len(lines) == 1
    assert seeded.mine in lines[0]
    assert seeded.other not in lines[0]
    # Pages that sum up every customer are not theirs, and the navigation does not offer them.
    for path in ("/admin/funnel", "/admin/go-live", "/admin/webhooks"):
        assert support.get(path).status_code == 403, path
    overview = support.get("/admin/").text
    for label in ("Funnel", "Go-live checklist", 'href="/admin/webhooks'):
        assert label not in overview
    assert 'href="/admin/webhooks' in signed_in_as(app, "support").get("/admin/").text
    # The customer figures count only their own customers, like the lists they lead to.
    started = re.search(r'<a href="(/admin/customers\?state=started-today)">(\d+)<', overview)
    assert started is not None and started.group(2) == "1"
    listed = support.get(started.group(1)).text
    assert "Mine Trading Ltd" in listed and OTHER_NAME not in listed


def _run_counts(html: str) -> list[str]:
    return re.findall(r'<td class="numeric">(\d+)</td>', html)


def test_journey_run_counts_count_only_the_colleagues_own_customers(
    app: Flask, seeded: Seeded
) -> None:
    # Each customer ran the current default journey once.
    assert _run_counts(_as(app, seeded.restricted).get("/admin/journeys/default").text) == ["1"]
    assert _run_counts(signed_in_as(app, "viewer").get("/admin/journeys/default").text) == ["2"]


def test_an_unrestricted_colleague_still_sees_every_customer(app: Flask, seeded: Seeded) -> None:
    viewer = signed_in_as(app, "viewer")
    assert OTHER_NAME in viewer.get("/admin/customers").text
    assert viewer.get(f"/admin/customers/{seeded.other}").status_code == 200
    # The setting means nothing for admins and editors.
    admin_email = _restricted(app, "admin", "own-admin@example.com")
    assert OTHER_NAME in _as(app, admin_email).get("/admin/customers").text


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/customers/[0-9a-f-]{36}">([^<]+)</a>', html)


def test_the_list_filters_by_assignee_and_shows_the_assignee(app: Flask, seeded: Seeded) -> None:
    support_email = make_user(app, "support")
    me = _user_id(app, support_email)
    with app.app_context():
        _customer("Assigned To Me Ltd", "me@customer.example", assigned_to=me)
        db.session.commit()
    support = _as(app, support_email)
    assert _names(support.get("/admin/customers?assigned=me").text) == ["Assigned To Me Ltd"]
    assert _names(support.get("/admin/customers?assigned=nobody").text) == [OTHER_NAME]
    everyone = support.get("/admin/customers").text
    assert set(_names(everyone)) == {"Assigned To Me Ltd", OTHER_NAME, "Mine Trading Ltd"}
    assert seeded.restricted in everyone  # the "Assigned to" column
    bad = support.get("/admin/customers?assigned=someone")
    assert bad.status_code == 400
    assert "Choose anyone, me or nobody." in bad.text


def test_the_pager_keeps_the_assignee_filter(app: Flask) -> None:
    support_email = make_user(app, "support")
    me = _user_id(app, support_email)
    with app.app_context():
        for n in range(52):
            _customer(f"Mine {n:02d}", f"m{n}@example.com", assigned_to=me)
        _customer("Nobody's Ltd", "nobody@example.com")
        db.session.commit()
    support = _as(app, support_email)
    first = support.get("/admin/customers?assigned=me").text
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None
    assert "assigned=me" in unescape(older.group(1))
    second = support.get(unescape(older.group(1))).text
    assert _names(second) == ["Mine 01", "Mine 00"]


def test_a_colleague_assigns_a_customer_and_the_timeline_shows_it(
    app: Flask, seeded: Seeded
) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.get(f"/admin/customers/{seeded.other}").text
    assert 'id="assignee"' in page
    restricted_id = _user_id(app, seeded.restricted)
    done = admin.post(
        f"/admin/customers/{seeded.other}/assignee",
        data={"assignee": str(restricted_id)},
        follow_redirects=True,
    )
    assert f"Assigned to {seeded.restricted}." in done.text
    assert "customer.assign by admin@example.com (user)" in unescape(done.text)
    assert f"assigned_to: nobody → {seeded.restricted}" in unescape(done.text)
    # Now the restricted colleague sees them.
    assert _as(app, seeded.restricted).get(f"/admin/customers/{seeded.other}").status_code == 200
    bad = admin.post(f"/admin/customers/{seeded.other}/assignee", data={"assignee": "999999"})
    assert bad.status_code == 422
    assert "Choose one of the colleagues listed, or nobody." in bad.text


def test_a_restricted_colleague_cannot_assign_a_customer_to_someone_else(
    app: Flask, seeded: Seeded
) -> None:
    other_colleague = _user_id(app, make_user(app, "support"))
    support = _as(app, seeded.restricted)
    page = support.get(f"/admin/customers/{seeded.mine}").text
    assert ">support@example.com<" not in page
    refused = support.post(
        f"/admin/customers/{seeded.mine}/assignee", data={"assignee": str(other_colleague)}
    )
    assert refused.status_code == 422
    # Letting go of their own customer is allowed: it leaves their list.
    released = support.post(
        f"/admin/customers/{seeded.mine}/assignee", data={"assignee": ""}, follow_redirects=True
    )
    assert "no longer in your list" in released.text
    assert support.get(f"/admin/customers/{seeded.mine}").status_code == 404


def test_viewers_and_advisors_see_the_assignee_but_cannot_change_it(
    app: Flask, seeded: Seeded
) -> None:
    for role in ("viewer", "advisor"):
        client = signed_in_as(app, role)
        page = client.get(f"/admin/customers/{seeded.mine}").text
        assert f"Assigned to {seeded.restricted}." in page
        assert 'id="assignee"' not in page
        posted = client.post(f"/admin/customers/{seeded.mine}/assignee", data={"assignee": ""})
        assert posted.status_code == 403


SETTINGS = (
    "/admin/journeys",
    "/admin/journeys/default",
    "/admin/journey-drafts/new",
    "/admin/users",
    "/admin/api-keys",
    "/admin/webhooks",
    "/admin/audit",
    "/admin/go-live",
)


def test_an_advisor_sees_no_settings(app: Flask) -> None:
    advisor = signed_in_as(app, "advisor")
    for path in SETTINGS:
        assert advisor.get(path).status_code == 403, path
    overview = advisor.get("/admin/").text
    assert "Customers" in overview
    for label in ("Journeys", "Users", "API keys", "Webhooks", "Audit log", "Go-live"):
        assert f">{label}<" not in overview, label


def _link_in(html: str) -> str:
    found = re.search(r'id="new-link" type="text" readonly value="([^"]+)"', html)
    assert found is not None, "no link shown"
    return unescape(found.group(1))


def _added(app: Flask, name: str) -> Customer:
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.name == name)).one()
        db.session.expunge(customer)
        return customer


def test_an_advisor_adds_a_customer_gets_a_link_and_looks_after_them(app: Flask) -> None:
    advisor = signed_in_as(app, "advisor")
    form = advisor.get("/admin/customers/new")
    assert form.status_code == 200
    added = advisor.post(
        "/admin/customers/new",
        data={
            "name": "Newco Ltd",
            "email": "Hello@Newco.example",
            "external_id": "LOAN-1",
            "journey": "business",
        },
    )
    assert added.status_code == 200
    assert "<h1>Newco Ltd</h1>" in added.text
    assert _link_in(added.text).startswith("http")
    assert "Assigned to advisor@example.com." in added.text
    customer = _added(app, "Newco Ltd")
    assert (customer.email, customer.external_id) == ("hello@newco.example", "LOAN-1")
    public_id = customer.public_id
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == public_id)
        ).all()
    assert set(actions) == {"customer.create", "customer.link_created"}
    # The advisor sends links from the customer's page too, but changes nothing else.
    again = advisor.post(f"/admin/customers/{public_id}/links", data={"journey": "business"})
    assert again.status_code == 200
    assert _link_in(again.text)
    assert (
        advisor.post(f"/admin/customers/{public_id}/notes", data={"body": "x"}).status_code == 403
    )


def test_a_customer_added_by_support_is_assigned_to_nobody(app: Flask) -> None:
    support = signed_in_as(app, "support")
    added = support.post(
        "/admin/customers/new",
        data={"name": "Plain Ltd", "email": "a@plain.example", "journey": "default"},
    )
    assert added.status_code == 200
    customer = _added(app, "Plain Ltd")
    assert (customer.assigned_user_id, customer.external_id) == (None, None)


def test_a_customer_added_by_a_restricted_colleague_is_theirs(app: Flask) -> None:
    email = _restricted(app)
    added = _as(app, email).post(
        "/admin/customers/new",
        data={"name": "Kept Ltd", "email": "k@kept.example", "journey": "default"},
    )
    assert added.status_code == 200
    me = _user_id(app, email)
    assert f'<option selected value="{me}">{email}</option>' in added.text
    assert _added(app, "Kept Ltd").assigned_user_id == me


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "a@b.example", "journey": "default"}, "Enter the customer&#39;s business name."),
        ({"name": "X", "journey": "default"}, "Enter the customer&#39;s email address."),
        ({"name": "X", "email": "not-an-email", "journey": "default"}, "Enter an email address"),
        ({"name": "X", "email": "a@b.example", "journey": "nope"}, "Choose one of the journeys"),
        (
            {"name": "X", "email": "a@b.example", "journey": "default", "external_id": "TAKEN"},
            "Another customer already has this external id",
        ),
    ],
)
def test_adding_a_customer_explains_what_is_wrong(
    app: Flask, data: dict[str, str], message: str
) -> None:
    with app.app_context():
        db.session.add(Customer(name="Taken", email="t@example.com", external_id="TAKEN"))
        db.session.commit()
    response = signed_in_as(app, "advisor").post("/admin/customers/new", data=data)
    assert response.status_code == 422
    assert message in response.text
    with app.app_context():
        assert len(db.session.scalars(select(Customer)).all()) == 1


def test_adding_a_customer_needs_the_permission(app: Flask) -> None:
    for role in ("viewer", "editor"):
        client = signed_in_as(app, role)
        assert client.get("/admin/customers/new").status_code == 403
        assert "Add a customer" not in client.get("/admin/customers").text
    assert "Add a customer" in signed_in_as(app, "advisor").get("/admin/customers").text


def test_admins_set_who_sees_only_their_own_customers(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.get("/admin/users").text
    assert "Sees only their own customers" in page
    created = admin.post(
        "/admin/users",
        data={"email": "new@example.com", "role": "advisor", "own_customers_only": "y"},
    )
    assert created.status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "new@example.com")).one()
        assert user.own_customers_only is True
        user_id = user.id
    # Changing it applies at the colleague's next request: no need to sign in again.
    viewer_email = make_user(app, "viewer")
    viewer = _as(app, viewer_email)
    with app.app_context():
        db.session.add(Customer(name="Anyone's Ltd", email="x@example.com"))
        db.session.commit()
    assert "Anyone&#39;s Ltd" in viewer.get("/admin/customers").text
    viewer_id = _user_id(app, viewer_email)
    changed = admin.post(f"/admin/users/{viewer_id}/customers", data={"own_customers_only": "y"})
    assert changed.status_code == 303
    assert "Anyone&#39;s Ltd" not in viewer.get("/admin/customers").text
    admin.post(f"/admin/users/{viewer_id}/customers", data={})
    assert "Anyone&#39;s Ltd" in viewer.get("/admin/customers").text
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.own_customers_only")
        ).all()
        assert [(e.before, e.after) for e in entries] == [
            ({"own_customers_only": False}, {"own_customers_only": True}),
            ({"own_customers_only": True}, {"own_customers_only": False}),
        ]
    assert user_id != viewer_id
    # For an admin the setting is kept but said to mean nothing.
    admin_id = _user_id(app, "admin@example.com")
    note = admin.post(
        f"/admin/users/{admin_id}/customers",
        data={"own_customers_only": "y"},
        follow_redirects=True,
    )
    assert "sees every customer" in note.text
