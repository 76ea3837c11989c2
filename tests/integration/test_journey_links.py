"""Send, don't copy: a colleague emails a journey link from the customer's page, follows
it (sent, bounced, opened, used), revokes or reissues it; single-use links stay in the
first browser that opens them."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import mail
from app.customers.records import create_customer, erase_customer, find_by_public_id
from app.extensions import db
from app.links import journey_link, read_token
from app.models import AuditEntry, JourneyLink, MailMessage
from tests.admin import signed_in_as
from tests.conftest import Clock
from tests.mail_sink import REFUSED_FOR_NOW, smtp_sink
from tests.pages import text_of

EMAIL = "owner@acme.example"
JOURNEY = "Apply for a Harbour Capital business loan"


@pytest.fixture
def acme(app: Flask) -> str:
    with app.app_context():
        return create_customer("Acme Trading Ltd", EMAIL, "CRM-4711").public_id


@pytest.fixture
def support(app: Flask) -> FlaskClient:
    return signed_in_as(app, "support")


def _page(colleague: FlaskClient, customer: str) -> str:
    return text_of(colleague.get(f"/admin/customers/{customer}"))


def _links_section(page: str) -> str:
    found = re.search(r'<section aria-labelledby="links">(.*?)</section>', page, re.S)
    assert found is not None, "no Links section"
    return found.group(1)


def _shown_link(page: str) -> str:
    found = re.search(r'id="new-link" type="text" readonly value="([^"]+)"', page)
    assert found is not None, "no link shown"
    return unescape(found.group(1)).removeprefix("http://localhost")


def _emailed_link(message: object) -> str:
    body = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    found = re.search(r"http://localhost(/j/\S+)", body)
    assert found is not None, body
    return found.group(1)


def _make(colleague: FlaskClient, customer: str, **data: str) -> str:
    """The page after creating a link: shown to copy, or (emailed) the customer's page
    reached by a redirect, so that reloading it sends nothing twice."""
    response = colleague.post(
        f"/admin/customers/{customer}/links", data={"journey": "business", **data}
    )
    if data.get("send_email"):
        assert response.status_code == 303, response.text
        assert response.location == f"/admin/customers/{customer}#links"
        return text_of(colleague.get(response.location))
    assert response.status_code == 200, response.text
    return text_of(response)


def _only_link(app: Flask) -> JourneyLink:
    with app.app_context():
        link = db.session.scalars(select(JourneyLink)).one()
        db.session.expunge(link)
        return link


def _send(app: Flask) -> None:
    with app.app_context():
        mail.send_due()


def _state(colleague: FlaskClient, customer: str) -> list[str]:
    return re.findall(
        r'<span class="tag tag--[a-z-]+">([a-z ]+)</span>',
        _links_section(_page(colleague, customer)),
    )


def test_without_mail_the_form_says_so_and_the_link_is_shown_to_copy(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    page = _page(support, acme)
    assert "Mail is not configured here, so Onramp cannot email the link" in page
    assert "Email it to" not in page
    assert "No links made here or through the API yet." in page
    made = _make(support, acme)
    url = _shown_link(made)
    with app.test_request_context():
        claims = read_token(url.rsplit("/", 1)[1])
    link = _only_link(app)
    assert claims.link_id == link.public_id
    assert (link.actor_type, link.actor_id, link.sent_to) == ("user", "support@example.com", None)
    section = _links_section(_page(support, acme))
    assert JOURNEY in section and "support@example.com" in section and "not emailed" in section
    assert _state(support, acme) == ["not sent"]


def test_with_mail_the_link_is_emailed_in_the_business_name_and_followed(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        page = _page(support, acme)
        assert re.search(
            r'<input checked id="send_email" name="send_email" type="checkbox" value="y">', page
        )
        assert f"Email it to {EMAIL}" in page
        made = _make(support, acme, send_email="y")
        assert f"Link emailed to {EMAIL}." in made
        assert 'id="new-link"' not in made
        assert _state(support, acme) == ["sending"]
        _send(app)
        [message] = sink.to(EMAIL)
    assert message["Subject"] == "Harbour Capital: connect your accounting software"
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Harbour Capital asks you to connect your accounting software" in body
    assert "help@harbour-capital.example" in body
    assert _state(support, acme) == ["sent"]
    with app.app_context():
        queued = db.session.scalars(select(MailMessage)).one()
        assert (queued.kind, queued.about) == ("journey_link", _only_link(app).public_id)
    # The customer opens it from the email: the console says so.
    customer = app.test_client()
    assert customer.get(_emailed_link(message)).status_code == 303
    assert _state(support, acme) == ["opened"]
    page = _page(support, acme)
    made_by = f"Link to the '{JOURNEY}' journey emailed to o•••@acme.example by support@"
    assert made_by in page
    assert f"Link to the '{JOURNEY}' journey opened" in page


def test_a_recipient_the_mail_server_refuses_bounces_at_once(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    with smtp_sink(refuse=(EMAIL,)) as (sink, settings):
        app.config.update(settings)
        _make(support, acme, send_email="y")
        _send(app)
        assert sink.messages == []
        _send(app)  # nothing is tried again
    with app.app_context():
        message = db.session.scalars(select(MailMessage)).one()
        assert (message.status, message.attempts) == ("failed", 1)
        assert message.last_error == "bounced: SMTPRecipientsRefused"
        assert message.message_ciphertext is None
    assert _state(support, acme) == ["bounced"]
    assert "the mail server refused o•••@acme.example" in _page(support, acme)


def test_a_refusal_for_now_is_tried_again_not_a_bounce(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    with smtp_sink(refuse=(EMAIL,), refusal=REFUSED_FOR_NOW) as (_, settings):
        app.config.update(settings)
        _make(support, acme, send_email="y")
        _send(app)
    with app.app_context():
        message = db.session.scalars(select(MailMessage)).one()
        assert (message.status, message.attempts) == ("pending", 1)
        assert message.last_error == "SMTPRecipientsRefused"
    assert _state(support, acme) == ["sending"]


def test_a_down_mail_server_is_no_bounce(app: Flask, acme: str, support: FlaskClient) -> None:
    with smtp_sink() as (_, settings):
        app.config.update(settings)
    # The sink has stopped: nobody answers on its port.
    _make(support, acme, send_email="y")
    _send(app)
    with app.app_context():
        message = db.session.scalars(select(MailMessage)).one()
        assert (message.status, message.attempts) == ("pending", 1)
    assert _state(support, acme) == ["sending"]


def test_the_first_opening_is_written_once(
    app: Flask, acme: str, support: FlaskClient, clock: Clock
) -> None:
    url = _shown_link(_make(support, acme))
    browser = app.test_client()
    assert browser.get(url).location == "/journey/welcome"
    first = _only_link(app).opened_at
    assert first == clock.now
    clock.advance(timedelta(hours=1))
    assert browser.get(url).status_code == 303
    assert app.test_client().get(url).status_code == 303  # not single-use
    assert _only_link(app).opened_at == first


def test_a_revoked_link_says_it_was_withdrawn(app: Flask, acme: str, support: FlaskClient) -> None:
    url = _shown_link(_make(support, acme))
    browser = app.test_client()
    assert browser.get(url).status_code == 303
    link = _only_link(app)
    revoked = support.post(f"/admin/customers/{acme}/links/{link.public_id}/revoke")
    assert revoked.status_code == 303
    assert revoked.location == f"/admin/customers/{acme}#links"
    page = text_of(support.get(revoked.location))
    assert "The link is revoked" in page
    assert _state(support, acme) == ["revoked"]
    for opener in (browser, app.test_client()):
        refused = opener.get(url)
        assert refused.status_code == 410
        text = text_of(refused)
        assert "This link was withdrawn" in text
        assert "Harbour Capital withdrew this link" in text
        assert "help@harbour-capital.example" in text and "020 7946 0000" in text
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.link_revoked")
        ).one()
        assert (entry.actor_id, entry.subject_id) == ("support@example.com", acme)
    again = support.post(f"/admin/customers/{acme}/links/{link.public_id}/revoke")
    assert "This link was already revoked." in text_of(support.get(again.location))
    assert f"Link to the '{JOURNEY}' journey revoked by support@example.com" in _page(support, acme)


def test_the_withdrawn_page_speaks_the_customers_language(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    url = _shown_link(_make(support, acme))
    support.post(f"/admin/customers/{acme}/links/{_only_link(app).public_id}/revoke")
    french = text_of(app.test_client().get(url, headers={"Accept-Language": "fr"}))
    assert "Ce lien a été retiré" in french
    german = text_of(app.test_client().get(url, headers={"Accept-Language": "de"}))
    assert "Dieser Link wurde zurückgezogen" in german


def test_a_single_use_link_stays_in_the_first_browser(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    url = _shown_link(_make(support, acme, single_use="y"))
    first = app.test_client()
    assert first.get(url).status_code == 303
    assert first.get(url).status_code == 303  # the same browser carries on
    second = app.test_client()
    refused = second.get(url)
    assert refused.status_code == 410
    assert "This link has already been used" in text_of(refused)
    assert second.get("/journey").status_code == 403  # it holds no journey
    assert _state(support, acme) == ["used"]


def test_reissue_revokes_and_emails_a_new_link(app: Flask, acme: str, support: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        _make(support, acme, send_email="y", single_use="y")
        _send(app)
        old = _only_link(app)
        reissued = support.post(f"/admin/customers/{acme}/links/{old.public_id}/reissue")
        assert reissued.status_code == 303
        assert f"Link emailed to {EMAIL}." in text_of(support.get(reissued.location))
        _send(app)
        first, second = sink.to(EMAIL)
    old_url, new_url = _emailed_link(first), _emailed_link(second)
    assert old_url != new_url
    with app.app_context():
        rows = list(db.session.scalars(select(JourneyLink).order_by(JourneyLink.id)))
        assert rows[0].replaced_by == rows[1].public_id and rows[0].revoked_at is not None
        assert rows[1].single_use and rows[1].journey_id == "business"
        assert rows[1].sent_to == EMAIL
    assert _state(support, acme) == ["sent", "revoked"]
    assert app.test_client().get(old_url).status_code == 410
    assert app.test_client().get(new_url).status_code == 303
    again = support.post(f"/admin/customers/{acme}/links/{old.public_id}/reissue")
    assert again.status_code == 303
    assert "reissued already" in text_of(support.get(again.location))
    assert "journey reissued by support@example.com" in _page(support, acme)


def test_revoke_and_reissue_need_the_permission_and_the_form(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    _make(support, acme)
    link = _only_link(app).public_id
    viewer = signed_in_as(app, "viewer")
    page = _page(viewer, acme)
    assert JOURNEY in _links_section(page) and "Revoke" not in _links_section(page)
    for action in ("revoke", "reissue"):
        assert viewer.post(f"/admin/customers/{acme}/links/{link}/{action}").status_code == 403
        unknown = f"/admin/customers/{acme}/links/00000000-0000-4000-8000-000000000000/{action}"
        assert support.post(unknown).status_code == 404
    app.config["WTF_CSRF_ENABLED"] = True
    assert support.post(f"/admin/customers/{acme}/links/{link}/revoke").status_code == 400
    assert _only_link(app).revoked_at is None


def test_links_of_another_customer_are_not_found(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    _make(support, acme)
    link = _only_link(app).public_id
    with app.app_context():
        other = create_customer("Globex Corp", "finance@globex.example").public_id
    assert support.post(f"/admin/customers/{other}/links/{link}/revoke").status_code == 404


def test_erasure_removes_the_records_and_the_link_opens_nothing(
    app: Flask, acme: str, support: FlaskClient
) -> None:
    url = _shown_link(_make(support, acme))
    with app.app_context():
        customer = find_by_public_id(acme)
        assert customer is not None
        erase_customer(customer, "test")
        assert db.session.scalars(select(JourneyLink)).all() == []
    refused = app.test_client().get(url)
    assert refused.status_code == 404
    assert "This link is no longer in use" in text_of(refused)


def test_a_link_without_a_record_works_as_before(app: Flask, acme: str) -> None:
    with app.test_request_context():
        url = journey_link(acme, "business").removeprefix("http://localhost")
    assert app.test_client().get(url).location == "/journey/welcome"
