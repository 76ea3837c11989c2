"""The feedback loop: at the end of their journey (or after declining) a customer may
rate it and leave a line; the business hears of it (journey.feedback), colleagues read it
next to the funnel and in the customer's timeline; the line is theirs (export, erase)."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.customers.records import create_customer
from app.engine.registry import get_journey
from app.extensions import db
from app.links import journey_link
from app.models import Customer, JourneyFeedback, JourneyRun, OutboxEvent
from tests.admin import signed_in_as
from tests.conftest import reset_database, test_settings
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of
from tests.uploads import PDF

ROOT = Path(__file__).resolve().parent.parent.parent
FEEDBACK = "/journey/feedback"
THANKS = "Thank you for your feedback"


def _open(app: Flask, name: str = "Acme Ltd", locale: str | None = None) -> FlaskClient:
    with app.app_context():
        customer = create_customer(name, "owner@acme.example")
        link = journey_link(customer.public_id, "default", locale)
        link = link.removeprefix("http://localhost")
    client = app.test_client()
    client.get(link)
    return client


def _at_done(client: FlaskClient) -> FlaskClient:
    """The customer uploads their accounts instead of connecting: the journey is done."""
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    client.post("/journey/software", data={"upload_instead": "1"})
    sent = client.post(
        "/journey/upload",
        data={"files": [(io.BytesIO(PDF), "accounts.pdf")], "upload": "y"},
        content_type="multipart/form-data",
    )
    assert sent.location.endswith("/journey/done")
    return client


def _declined(client: FlaskClient) -> FlaskClient:
    client.post("/journey/welcome")
    client.post("/journey/consent", data={"decline": "Decline and stop"})
    return client


def _given(app: Flask) -> list[JourneyFeedback]:
    with app.app_context():
        return list(db.session.scalars(select(JourneyFeedback).order_by(JourneyFeedback.id)))


def _sent(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        query = select(OutboxEvent).where(OutboxEvent.type == "journey.feedback")
        return list(db.session.scalars(query.order_by(OutboxEvent.id)))


def test_the_done_page_asks_how_it_was_in_the_businesss_name(app: Flask) -> None:
    page = text_of(_at_done(_open(app)).get("/journey/done"))
    assert "Tell Northwind Lending how it went" in page
    assert "<legend>How was this?</legend>" in page
    for label in ("Very hard", "Hard", "Neither easy nor hard", "Easy", "Very easy"):
        assert f">{label}</label>" in page
    assert "Anything you'd like to add? (optional)" in page
    assert 'maxlength="300"' in page
    assert 'value="Send feedback"' in page
    assert f'action="{FEEDBACK}"' in page
    assert THANKS not in page
    assert "Onramp" not in page


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "fr",
            [
                "Dites à Northwind Lending comment cela s'est passé",
                "Très facile",
                "Envoyer mon avis",
            ],
        ),
        ("de", ["Sagen Sie Northwind Lending, wie es war", "Sehr leicht", "Feedback senden"]),
    ],
)
def test_asked_in_the_customers_language(app: Flask, locale: str, words: list[str]) -> None:
    client = _at_done(_open(app, locale=locale))
    page = text_of(client.get("/journey/done"))
    for text in words:
        assert text in page
    client.post(FEEDBACK, data={"rating": "5"})
    thanks = {"fr": "Merci pour votre avis", "de": "Vielen Dank für Ihr Feedback"}[locale]
    assert thanks in text_of(client.get("/journey/done"))


def test_sending_it_thanks_the_customer_and_tells_the_business(app: Flask) -> None:
    client = _at_done(_open(app))
    sent = client.post(
        FEEDBACK, data={"rating": "4", "comment": "  Quick, but the PDF step confused me  "}
    )
    assert sent.status_code == 303

    page = text_of(client.get(sent.location, follow_redirects=True))
    assert THANKS in page
    assert "Northwind Lending reads every comment" in page
    assert "Send feedback" not in page
    [given] = _given(app)
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        assert (given.run_id, given.journey_id, given.journey_version) == (
            run.id,
            "default",
            run.journey_version,
        )
    assert (given.step, given.rating) == ("done", 4)
    assert given.comment == "Quick, but the PDF step confused me"
    [event] = _sent(app)
    assert event.data["rating"] == 4
    assert event.data["step"] == "done"
    assert event.data["comment"] is True
    assert event.data["run_id"] == run.public_id
    # The business hears that there is a comment; the words stay with the run.
    assert "confused" not in json.dumps(event.data)


def test_a_rating_alone_is_enough(app: Flask) -> None:
    client = _at_done(_open(app))
    assert client.post(FEEDBACK, data={"rating": "5"}).status_code == 303
    [given] = _given(app)
    assert (given.rating, given.comment) == (5, None)
    assert _sent(app)[0].data["comment"] is False


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"comment": "Fine"}, "Choose how easy or hard this was"),
        ({"rating": "9"}, "Choose how easy or hard this was"),
        ({"rating": "three"}, "Choose how easy or hard this was"),
        ({"rating": "3", "comment": "x" * 301}, "Write at most 300 characters"),
        ({"rating": "3", "comment": "two\nlines"}, "Write your comment in plain text, on one line"),
    ],
)
def test_what_cannot_be_kept_is_refused_with_the_reason(
    app: Flask, form: dict[str, str], message: str
) -> None:
    client = _at_done(_open(app))
    refused = client.post(FEEDBACK, data=form)
    assert refused.status_code == 422
    page = text_of(refused)
    assert "<title>Error:" in page
    assert "There is a problem" in page
    assert page.count(message) == 2  # in the summary and by the field
    assert 'value="Send feedback"' in page
    assert _given(app) == [] and _sent(app) == []


def test_once_per_run_a_second_one_changes_nothing(app: Flask) -> None:
    client = _at_done(_open(app))
    client.post(FEEDBACK, data={"rating": "2", "comment": "Slow"})
    again = client.post(FEEDBACK, data={"rating": "5", "comment": "Great"})
    assert again.status_code == 303
    assert THANKS in text_of(client.get(again.location, follow_redirects=True))
    # Even an invalid second one is answered with the thanks, not an error.
    assert client.post(FEEDBACK, data={"rating": "9"}).status_code == 303
    assert [(g.rating, g.comment) for g in _given(app)] == [(2, "Slow")]
    assert len(_sent(app)) == 1


def test_the_declined_page_asks_too(app: Flask) -> None:
    client = _declined(_open(app))
    page = text_of(client.get("/journey/declined"))
    assert "Tell Northwind Lending how it went" in page
    assert "Review what you're asked to share" in page

    refused = client.post(FEEDBACK, data={"comment": "Too much asked"})
    assert refused.status_code == 422
    assert "Choose how easy or hard this was" in text_of(refused)
    assert "Review what you're asked to share" in text_of(refused)

    sent = client.post(FEEDBACK, data={"rating": "1", "comment": "Too much asked"})
    assert THANKS in text_of(client.get(sent.location, follow_redirects=True))
    [given] = _given(app)
    assert (given.step, given.rating, given.comment) == ("declined", 1, "Too much asked")
    assert _sent(app)[0].data["step"] == "declined"


def test_not_asked_while_the_journey_is_under_way(app: Flask) -> None:
    client = _open(app)
    client.post("/journey/welcome")
    answered = client.post(FEEDBACK, data={"rating": "3"})
    assert answered.status_code == 303
    assert answered.location.endswith("/journey")
    assert _given(app) == []


@pytest.fixture
def quiet_app(tmp_path: Path) -> Iterator[Flask]:
    """The default journey with ``feedback: false`` on its done step."""
    from app import create_app

    journeys = tmp_path / "journeys"
    shutil.copytree(ROOT / "journeys", journeys)
    path = journeys / "default.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["steps"][-1]["feedback"] = False
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    app = create_app(test_settings(tmp_path, JOURNEYS_DIR=str(journeys)))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_journey_can_turn_it_off(quiet_app: Flask) -> None:
    client = _at_done(_open(quiet_app))
    page = text_of(client.get("/journey/done"))
    assert "How was this?" not in page and THANKS not in page
    assert client.post(FEEDBACK, data={"rating": "3"}).status_code == 303
    declined = _declined(_open(quiet_app, "Other Ltd"))
    assert "How was this?" not in text_of(declined.get("/journey/declined"))
    assert _given(quiet_app) == []


def test_the_comment_is_in_the_export_and_gone_after_erasure(app: Flask) -> None:
    client = _at_done(_open(app))
    client.post(FEEDBACK, data={"rating": "4", "comment": "My accountant helped"})
    with app.app_context():
        customer_id = db.session.scalars(select(Customer.public_id)).one()
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["customers", "export", customer_id])
    assert exported.exit_code == 0, exported.output
    [kept] = json.loads(exported.stdout)["journey_feedback"]
    assert (kept["rating"], kept["comment"], kept["step"]) == (4, "My accountant helped", "done")

    assert runner.invoke(args=["customers", "erase", customer_id, "--yes"]).exit_code == 0
    [given] = _given(app)
    # The rating still counts in the funnel; the customer's words are gone.
    assert (given.rating, given.comment) == (4, None)
    again = runner.invoke(args=["customers", "export", customer_id])
    assert "My accountant helped" not in again.stdout


def test_colleagues_read_it_per_version_next_to_the_funnel(app: Flask) -> None:
    _at_done(_open(app, "Acme Ltd")).post(FEEDBACK, data={"rating": "4", "comment": "Clear"})
    _at_done(_open(app, "Birch Ltd")).post(FEEDBACK, data={"rating": "2"})
    _declined(_open(app, "Cedar Ltd")).post(FEEDBACK, data={"rating": "1", "comment": "Nope"})
    with app.app_context():
        # Acme's run was on an older wording of the journey.
        acme = db.session.scalars(select(Customer).where(Customer.name == "Acme Ltd")).one()
        older = "0" * 64
        db.session.execute(
            update(JourneyRun)
            .where(JourneyRun.customer_id == acme.id)
            .values(journey_version=older)
        )
        db.session.execute(
            update(JourneyFeedback)
            .where(JourneyFeedback.customer_id == acme.id)
            .values(journey_version=older)
        )
        db.session.commit()
        acme_id = acme.public_id

    viewer = signed_in_as(app, "viewer")
    page = text_of(viewer.get("/admin/funnel"))
    assert '<h2 id="funnel-feedback-title">Feedback</h2>' in page
    rows = page.split("<caption>Feedback per version of default")[1].split("</table>")[0]
    current, old = rows.split("<tr>")[2:4]
    # The current version: two ratings (2 and 1), one on the declined page.
    assert "(current)" in current
    assert [c.split("<")[0] for c in current.split('<td class="numeric">')[1:]] == [
        "2",
        "1.5 of 5",
        "1",
        "1",
        "0",
        "0",
        "0",
        "1",
        "1",
    ]
    assert "000000000000" in old
    assert [c.split("<")[0] for c in old.split('<td class="numeric">')[1:]] == [
        "1",
        "4.0 of 5",
        "0",
        "0",
        "0",
        "1",
        "0",
        "1",
        "0",
    ]
    comments = page.split("<h3>Latest comments</h3>")[1].split("</table>")[0]
    assert comments.index("Nope") < comments.index("Clear")
    assert f'href="/admin/customers/{acme_id}">Acme Ltd</a>' in comments
    assert "4 (easy)" in comments

    # One version at a time: the current one's feedback only.
    with app.app_context():
        journey = get_journey("default")
        assert journey is not None
        current_version = journey.version
    today = clock.now().date()
    first, last = (today - timedelta(days=29)).isoformat(), today.isoformat()
    version_page = text_of(
        viewer.get(
            f"/admin/funnel?journey=default&version={current_version}&first={first}&last={last}"
        )
    )
    assert "Nope" in version_page and "Clear" not in version_page

    timeline = text_of(viewer.get(f"/admin/customers/{acme_id}"))
    assert "Left feedback: 4 of 5 (easy)" in timeline
    assert "“Clear”" in timeline


def test_the_funnel_says_when_there_is_none(app: Flask) -> None:
    _open(app)
    page = text_of(signed_in_as(app, "viewer").get("/admin/funnel"))
    assert "No customer of these runs left feedback." in page
