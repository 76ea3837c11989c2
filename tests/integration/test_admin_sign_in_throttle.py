"""Admin sign-in throttling: shared by every worker and instance through the database,
per account and per address with backoff, and never a lock-out for the real colleague."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from app.extensions import db
from tests.admin import PASSWORD, make_user
from tests.conftest import Clock, test_settings
from tests.pages import text_of

WRONG = "not the password at all"
ATTACKER = "198.51.100.66"
COLLEAGUE = "203.0.113.10"


@pytest.fixture(autouse=True)
def clock(clock: Clock) -> Clock:
    """The app's clock, still unless a test moves it: waits come out exact."""
    return clock


def browser_at(app: Flask, address: str) -> FlaskClient:
    """A browser whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client: FlaskClient, email: str, password: str = WRONG) -> TestResponse:
    return client.post("/admin/login", data={"email": email, "password": password})


def retry_after(response: TestResponse) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["Retry-After"])


@pytest.fixture
def second_instance(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """Another app on the same database: another gunicorn worker, or another machine."""
    other = create_app(test_settings(tmp_path))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_failures_count_across_workers_and_instances(app: Flask, second_instance: Flask) -> None:
    email = make_user(app, "admin")
    first, second = browser_at(app, ATTACKER), browser_at(second_instance, ATTACKER)
    for worker in (first, second, first):
        assert attempt(worker, email).status_code == 200

    throttled = attempt(second, email)

    assert retry_after(throttled) > 0
    # The right password is not even checked while the wait lasts: guessing gains nothing.
    assert attempt(first, email, PASSWORD).status_code == 429


def test_a_throttled_attempt_says_how_long_to_wait(app: Flask) -> None:
    email = make_user(app, "viewer")
    browser = browser_at(app, ATTACKER)
    for _ in range(3):
        attempt(browser, email)

    throttled = attempt(browser, email)

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "5"
    page = text_of(throttled)
    assert "Too many attempts" in page
    assert "Wait 5 seconds, then try again." in page
    assert 'name="password"' in page  # the form is still there for afterwards


def test_backoff_doubles_with_each_further_failure_up_to_a_cap(app: Flask, clock: Clock) -> None:
    email = make_user(app, "viewer")
    browser = browser_at(app, ATTACKER)
    for _ in range(3):
        attempt(browser, email)
    waits = []
    for _ in range(10):
        wait = retry_after(attempt(browser, email))
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
        assert attempt(browser, email).status_code == 200

    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
    clock.advance(timedelta(seconds=899))
    assert retry_after(attempt(browser, email, PASSWORD)) == 1
    clock.advance(timedelta(seconds=1))
    assert attempt(browser, email, PASSWORD).status_code == 303


def test_the_colleague_elsewhere_signs_in_while_an_attacker_is_throttled(
    app: Flask, clock: Clock
) -> None:
    email = make_user(app, "admin")
    attacker = browser_at(app, ATTACKER)
    for _ in range(12):
        attempt(attacker, email)
        clock.advance(timedelta(seconds=60))
    assert attempt(attacker, email).status_code == 429

    colleague = browser_at(app, COLLEAGUE)
    assert attempt(colleague, email, PASSWORD).status_code == 303
    assert colleague.get("/admin/").status_code == 200


def test_an_attacker_changing_address_is_slowed_per_account(app: Flask, clock: Clock) -> None:
    email = make_user(app, "admin")
    # The colleague has signed in from the office before.
    office = browser_at(app, COLLEAGUE)
    assert attempt(office, email, PASSWORD).status_code == 303
    office.post("/admin/logout")

    addresses = (f"198.51.100.{n}" for n in range(1, 200))
    for _ in range(3):
        assert attempt(browser_at(app, next(addresses)), email).status_code == 200
    waits = []
    for _ in range(4):
        wait = retry_after(attempt(browser_at(app, next(addresses)), email))
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
        assert attempt(browser_at(app, next(addresses)), email).status_code == 200
    assert waits == [5, 10, 20, 40]
    # Even the right password from yet another address waits its turn...
    assert attempt(browser_at(app, next(addresses)), email, PASSWORD).status_code == 429
    # ...while the colleague, from an address they signed in from before, is not slowed.
    assert attempt(office, email, PASSWORD).status_code == 303


def test_one_address_trying_many_accounts_is_slowed(app: Flask) -> None:
    sprayer = browser_at(app, ATTACKER)
    for n in range(10):
        assert attempt(sprayer, f"colleague{n}@example.com").status_code == 200

    assert retry_after(attempt(sprayer, "colleague10@example.com")) == 5
    assert attempt(browser_at(app, COLLEAGUE), "colleague10@example.com").status_code == 200


@pytest.mark.parametrize("address", ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"])
def test_addresses_in_one_ipv6_network_count_as_one(app: Flask, address: str) -> None:
    email = make_user(app, "viewer")
    for n in range(3):
        attempt(browser_at(app, f"2001:db8:1:2::{n + 100}"), email)

    assert attempt(browser_at(app, address), email).status_code == 429


def test_known_and_unknown_accounts_get_the_same_answers(app: Flask, clock: Clock) -> None:
    make_user(app, "viewer", "known@example.com")

    def answers(email: str, network: str) -> list[tuple[int, str | None]]:
        seen = []
        for n in range(8):
            response = attempt(browser_at(app, f"{network}.{n % 5}"), email)
            seen.append((response.status_code, response.headers.get("Retry-After")))
            clock.advance(timedelta(seconds=3))
        return seen

    assert answers("known@example.com", "198.51.100") == answers("nobody@example.com", "192.0.2")


def test_signing_in_forgets_that_browsers_earlier_mistakes(app: Flask) -> None:
    email = make_user(app, "viewer")
    browser = browser_at(app, COLLEAGUE)
    for _ in range(2):
        attempt(browser, email)
    assert attempt(browser, email, PASSWORD).status_code == 303
    browser.post("/admin/logout")

    for _ in range(3):
        assert attempt(browser, email).status_code == 200
    assert attempt(browser, email).status_code == 429
