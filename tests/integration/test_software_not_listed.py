"""'My software isn't listed': the customer names the software they use; the business
sees it in the console's timeline and funnel and through a webhook event."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import JourneyEvent, JourneyRun, OutboxEvent
from tests.admin import preview_at_software, signed_in_as
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of

SOFTWARE = "/journey/software"
THANKS = "Thank you — Northwind Lending now knows you use Ledgerly."


def _at_software(client: FlaskClient) -> FlaskClient:
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    return client


def _events(app: Flask) -> list[JourneyEvent]:
    with app.app_context():
        query = select(JourneyEvent).where(JourneyEvent.kind == "not_listed")
        return list(db.session.scalars(query.order_by(JourneyEvent.id)))


def _outbox(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        query = select(OutboxEvent).where(OutboxEvent.type == "journey.software_not_listed")
        return list(db.session.scalars(query.order_by(OutboxEvent.id)))


def _run(app: Flask) -> JourneyRun:
    with app.app_context():
        return db.session.scalars(select(JourneyRun)).one()


def test_offered_under_the_platforms_when_the_journey_turns_it_on(
    customer_client: FlaskClient,
) -> None:
    text = text_of(_at_software(customer_client).get(SOFTWARE))
    assert "<summary>My software isn't listed</summary>" in text
    assert '<label for="software" class="">What software do you use?</label>' in text
    assert 'id="software" maxlength="100" name="software" required' in text
    assert 'value="Tell Northwind Lending"' in text
    assert THANKS not in text


def test_not_offered_by_a_journey_that_leaves_it_off(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = journey_link(customer.public_id, "reconnect").removeprefix("http://localhost")
    client.get(link)
    step = _run(app).current_step
    client.post(f"/journey/{step}")  # the welcome
    text = text_of(client.get("/journey/software"))
    assert "Sandbox Accounting" in text
    assert "My software isn't listed" not in text
    # Posting a name anyway is the platform form, unanswered.
    refused = client.post("/journey/software", data={"software": "Ledgerly"})
    assert refused.status_code == 422
    assert _events(app) == [] and _outbox(app) == []


def test_naming_it_thanks_the_customer_and_tells_the_business(
    app: Flask, customer_client: FlaskClient
) -> None:
    client = _at_software(customer_client)
    answered = client.post(SOFTWARE, data={"software": "  Ledgerly  ", "tell": "y"})
    assert answered.status_code == 303

    text = text_of(client.get(answered.location))
    assert THANKS in text
    assert "contact Northwind Lending" in text
    assert "mailto:support@northwind-lending.example" in text
    assert 'value="Ledgerly"' in text  # the name, to change if need be
    # The step is not finished: the customer is still to choose, or not.
    run = _run(app)
    assert run.answers["software"] == {"not_listed": "Ledgerly"}
    assert "software" not in run.completed_steps
    assert run.current_step == "software"
    [event] = _events(app)
    assert (event.step, event.detail) == ("software", "Ledgerly")
    [sent] = _outbox(app)
    assert sent.data["software"] == "Ledgerly"
    assert sent.data["run_id"] == run.public_id
    assert sent.data["journey_id"] == "default"
    # Without having named it just now, the page doesn't thank again.
    assert THANKS not in text_of(client.get(SOFTWARE))


def test_naming_another_replaces_it_and_choosing_keeps_it(
    app: Flask, customer_client: FlaskClient
) -> None:
    client = _at_software(customer_client)
    client.post(SOFTWARE, data={"software": "Ledgerly"})
    client.post(SOFTWARE, data={"software": "Ledgerly"})  # the same again: nothing new
    client.post(SOFTWARE, data={"software": "Booksy"})
    assert [e.detail for e in _events(app)] == ["Ledgerly", "Booksy"]
    assert [e.data["software"] for e in _outbox(app)] == ["Ledgerly", "Booksy"]

    chosen = client.post(SOFTWARE, data={"platform": "sandbox"})
    assert chosen.location.endswith("/journey/connect")
    assert _run(app).answers["software"] == {"platform": "sandbox", "not_listed": "Booksy"}


def test_a_name_that_cannot_be_taken_is_refused_with_the_reason(
    app: Flask, customer_client: FlaskClient
) -> None:
    client = _at_software(customer_client)
    cases = {
        "   ": "Write the name of the software you use",
        "L" * 101: "Write at most 100 characters",
        "Ledger\x07ly": "Write the name of your software in plain letters and numbers",
        "Ledger\u202ely": "Write the name of your software in plain letters and numbers",
    }
    for name, message in cases.items():
        refused = client.post(SOFTWARE, data={"software": name})
        assert refused.status_code == 422
        text = text_of(refused)
        assert "There is a problem" in text
        assert f'<li><a href="#software">{message}</a></li>' in text
        assert '<details class="not-listed" open>' in text
        assert text.count("<title>Error:") == 1
    assert _events(app) == [] and _outbox(app) == []
    assert "software" not in _run(app).answers
    # 100 characters are fine.
    assert client.post(SOFTWARE, data={"software": "L" * 100}).status_code == 303


def test_in_french_and_german(app: Flask, customer_client: FlaskClient) -> None:
    client = _at_software(customer_client)
    client.post("/journey/language", data={"locale": "fr", "next": SOFTWARE})
    text = text_of(client.get(SOFTWARE))
    assert "Mon logiciel n\u2019est pas dans la liste" in text
    answered = client.post(SOFTWARE, data={"software": "Ledgerly"}, follow_redirects=True)
    assert "Merci — Northwind Lending sait maintenant que vous utilisez Ledgerly." in text_of(
        answered
    )
    client.post("/journey/language", data={"locale": "de", "next": SOFTWARE})
    text = text_of(client.get(SOFTWARE))
    assert "Meine Software ist nicht aufgeführt" in text
    assert "Welche Software verwenden Sie?" in text


def test_the_console_shows_it_on_the_timeline_and_counts_it_in_the_funnel(
    app: Flask, client: FlaskClient
) -> None:
    named = ["Ledgerly", "ledgerly", "Booksy"]
    for name in named:
        browser = app.test_client()
        with app.app_context():
            customer = create_customer(f"Shop {name}", "owner@acme.example")
            link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
        browser.get(link)
        _at_software(browser).post(SOFTWARE, data={"software": name})
    viewer = signed_in_as(app, "viewer")

    page = text_of(viewer.get("/admin/funnel", query_string={"journey": "default"}))
    assert "Software customers said isn't listed" in page
    table = page.split('aria-label="Software customers said isn\'t listed table"')[1]
    table = table.split("</table>")[0]
    # Names differing only in capitals count as one; the most named first.
    assert '<td>Ledgerly</td><td class="numeric">2</td>' in table
    assert '<td>Booksy</td><td class="numeric">1</td>' in table
    assert table.index("Ledgerly") < table.index("Booksy")

    with app.app_context():
        first = db.session.scalars(select(JourneyRun).order_by(JourneyRun.id)).first()
        assert first is not None
        customer_id = first.customer.public_id
    timeline = text_of(viewer.get(f"/admin/customers/{customer_id}"))
    assert "Said their software isn't listed: Ledgerly" in timeline


def test_the_preview_keeps_it_in_the_session_and_records_nothing(app: Flask) -> None:
    viewer, base = preview_at_software(app)
    answered = viewer.post(f"{base}/step/software", data={"software": "Ledgerly"})
    assert answered.status_code == 303
    assert f"{base}/step/software?told=1" in answered.location
    assert THANKS in text_of(viewer.get(answered.location))
    assert viewer.post(f"{base}/step/software", data={"software": ""}).status_code == 422
    assert _events(app) == [] and _outbox(app) == []
