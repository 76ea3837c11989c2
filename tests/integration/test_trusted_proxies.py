"""Behind a reverse proxy: X-Forwarded-For is believed only from the hops configured in
ONRAMP_TRUSTED_PROXIES, for sign-in throttling, rate limits and consent evidence alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.consent.personal import decrypt_for
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import ConsentRecord, Customer
from tests.admin import PASSWORD, make_user, sign_in
from tests.conftest import reset_database, test_settings
from tests.integration.conftest import REQUIRED_CONSENTS

PROXY = "10.0.0.2"
WRONG = "not the password at all"


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Flask]:
    """Onramp behind one reverse proxy that appends the client's address to X-Forwarded-For."""
    app = create_app(test_settings(tmp_path, TRUSTED_PROXIES=1))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def via_proxy(app: Flask, forwarded_for: str) -> FlaskClient:
    """A browser whose requests reach Onramp through the proxy at ``PROXY``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _fail(client: FlaskClient, email: str, password: str = WRONG) -> int:
    return client.post("/admin/login", data={"email": email, "password": password}).status_code


def test_forwarded_for_is_ignored_unless_configured(app: Flask) -> None:
    email = make_user(app, "admin")
    for n in range(3):
        assert _fail(via_proxy(app, f"198.51.100.{n}"), email) == 200

    # Whatever X-Forwarded-For says, it is one client: the socket's.
    assert _fail(via_proxy(app, "203.0.113.10"), email, PASSWORD) == 429


def test_each_client_behind_a_trusted_proxy_is_told_apart(proxied: Flask) -> None:
    email = make_user(proxied, "admin")
    attacker = via_proxy(proxied, "198.51.100.66")
    for _ in range(3):
        assert _fail(attacker, email) == 200
    assert _fail(attacker, email) == 429

    assert _fail(via_proxy(proxied, "203.0.113.10"), email, PASSWORD) == 303


def test_only_the_configured_hops_are_believed(proxied: Flask) -> None:
    email = make_user(proxied, "admin")
    # The client wrote the first address itself; the proxy appended the real one.
    for forged in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert _fail(via_proxy(proxied, f"{forged}, 198.51.100.66"), email) == 200

    assert _fail(via_proxy(proxied, "192.0.2.4, 198.51.100.66"), email) == 429


def _consent_address(app: Flask, client: FlaskClient) -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client.get(link)
    client.post("/journey/welcome")
    assert client.post("/journey/consent", data=REQUIRED_CONSENTS).status_code == 303
    with app.app_context():
        record = db.session.scalars(select(ConsentRecord)).first()
        assert record is not None
        customer = db.session.get(Customer, record.customer_id)
        return str(decrypt_for(customer, record.personal_ciphertext)["ip_address"])


def test_consent_evidence_keeps_the_socket_address_unless_configured(app: Flask) -> None:
    assert _consent_address(app, via_proxy(app, "198.51.100.7")) == PROXY


def test_consent_evidence_keeps_the_client_address_behind_a_trusted_proxy(
    proxied: Flask,
) -> None:
    client = via_proxy(proxied, "192.0.2.1, 198.51.100.7")
    assert _consent_address(proxied, client) == "198.51.100.7"


def test_fresh_link_requests_are_limited_per_client_behind_a_trusted_proxy(
    proxied: Flask,
) -> None:
    proxied.config["SMTP_HOST"] = "smtp.invalid"  # fresh links are offered only with mail
    busy = via_proxy(proxied, "198.51.100.7")
    for _ in range(5):
        assert busy.post("/my/link", data={"email": "a@example.com"}).status_code == 303
    assert busy.post("/my/link", data={"email": "a@example.com"}).status_code == 429

    other = via_proxy(proxied, "203.0.113.10")
    assert other.post("/my/link", data={"email": "b@example.com"}).status_code == 303


def _scheme_and_host(app: Flask) -> tuple[bool, str]:
    """Whether a request forwarded as https counts as secure, and the host it names."""
    seen: list[tuple[bool, str]] = []

    @app.get("/_probe")
    def _probe() -> str:
        seen.append((request.is_secure, request.host))
        return ""

    via_proxy(app, "198.51.100.7").get(
        "/_probe", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    )
    return seen[0]


def test_the_scheme_comes_from_a_trusted_proxy_only_and_the_host_never(
    app: Flask, proxied: Flask
) -> None:
    assert _scheme_and_host(app) == (False, "localhost")
    assert _scheme_and_host(proxied) == (True, "localhost")


def test_a_copied_cookie_cannot_borrow_its_owners_address(app: Flask) -> None:
    """Flask-Login's session protection must not believe X-Forwarded-For either."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    sign_in(owner, make_user(app, "admin"))
    assert owner.get("/admin/").status_code == 200
    cookie = owner.get_cookie("onramp_session")
    assert cookie is not None

    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    thief.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.10"
    thief.set_cookie("onramp_session", cookie.value)
    assert thief.get("/admin/").status_code == 302


@pytest.mark.parametrize("hops", ["two", -1, True])
def test_a_bad_hop_count_stops_the_app_with_a_message(tmp_path: Path, hops: object) -> None:
    with pytest.raises(ValueError, match="ONRAMP_TRUSTED_PROXIES"):
        create_app(test_settings(tmp_path, TRUSTED_PROXIES=hops))


def test_an_app_without_rate_limits_leaves_the_next_apps_limits_on(tmp_path: Path) -> None:
    """The hostile-input suite builds apps with RATELIMIT_ENABLED off; Flask-Limiter's
    single limiter used to carry that over to every app built after them."""
    for folder in ("unlimited", "limited"):
        (tmp_path / folder).mkdir()
    create_app(test_settings(tmp_path / "unlimited", RATELIMIT_ENABLED=False))
    # Fresh links are offered only where mail can be sent (nothing is sent here).
    limited = create_app(test_settings(tmp_path / "limited", SMTP_HOST="smtp.invalid"))
    reset_database(limited)
    busy = limited.test_client()
    for _ in range(5):
        assert busy.post("/my/link", data={"email": "a@example.com"}).status_code == 303
    assert busy.post("/my/link", data={"email": "a@example.com"}).status_code == 429
    with limited.app_context():
        db.engine.dispose()
