from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import Connection
from app.platforms import PLATFORMS
from app.sandbox.data import ORGANISATIONS, SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from tests.conftest import test_settings
from tests.database import admin_url
from tests.serving import loopback_port, serving

ALL_CONSENTS = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "consent_ongoing_monitoring": "y",
    "agree": "Agree and continue",
}
REQUIRED_CONSENTS = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "agree": "Agree and continue",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # SQLite has no database roles: what they refuse is proven on PostgreSQL only.
    if admin_url() is None:
        roles = [item for item in items if item.path.name == "test_database_roles.py"]
        if roles:
            config.hook.pytest_deselected(items=roles)
            items[:] = [item for item in items if item not in roles]


@pytest.fixture
def link(app: Flask) -> str:
    """A fresh customer's journey link, as a path on the test server."""
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        return journey_link(customer.public_id, "default").removeprefix("http://localhost")


@pytest.fixture
def expired_manage_link(app: Flask) -> str:
    """A customer's manage link (/my/<token>) that has expired, as a path."""
    from app.consent.account_links import manage_url

    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = manage_url(customer).removeprefix("http://localhost")
    app.config["LINK_MAX_AGE_SECONDS"] = -1
    return link


@pytest.fixture
def customer_client(client: FlaskClient, link: str) -> FlaskClient:
    """A browser that has opened its journey link."""
    client.get(link)
    return client


@pytest.fixture
def at_connect(customer_client: FlaskClient) -> FlaskClient:
    """A customer who has consented and chosen the Sandbox: on the connect step."""
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    c.post("/journey/software", data={"platform": "sandbox"})
    return c


@dataclass(frozen=True)
class LiveSandbox:
    """The Sandbox platform served over real HTTP on its own port."""

    url: str
    app: Flask

    def authorize(
        self,
        authorize_url: str,
        action: str = "approve",
        organisation: int | str = 1,
        login: tuple[str, str] = (SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD),
    ) -> str:
        """Sign in (with the demo login unless told) and answer the consent screen as a
        customer would, choosing the demo login's organisation at that index (or that id);
        return the callback URL."""
        browser = requests.Session()
        browser.get(authorize_url, timeout=10)
        signed_in = browser.post(
            authorize_url,
            data={
                "email": login[0],
                "password": login[1],
                "sign_in": "Sign in",
            },
            timeout=10,
        )
        assert "Choose an organisation" in signed_in.text
        chosen = ORGANISATIONS[organisation].id if isinstance(organisation, int) else organisation
        buttons = {"approve": "Approve", "deny": "Deny", "simulate_error": "Simulate an error"}
        answered = browser.post(
            authorize_url,
            data={"organisation": chosen, action: buttons[action]},
            allow_redirects=False,
            timeout=10,
        )
        assert answered.status_code in (302, 303), answered.text
        return str(answered.headers["Location"])


@pytest.fixture(scope="session")
def live_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    from app.sandbox import create_sandbox_app

    folder = tmp_path_factory.mktemp("sandbox")
    with loopback_port() as port:
        sandbox = create_sandbox_app(
            test_settings(
                folder,
                PUBLIC_URL=port.url,
                # Every platform's callback: the Sandbox can stand in for any of them.
                SANDBOX_REDIRECT_URIS=[
                    f"http://localhost/connect/{key}/callback" for key in PLATFORMS
                ],
            )
        )
        with serving(sandbox, port):
            yield LiveSandbox(f"{port.url}/sandbox", sandbox)


@pytest.fixture
def connecting(at_connect: FlaskClient, app: Flask, live_sandbox: LiveSandbox) -> FlaskClient:
    """A customer at the connect step of an app that talks to the live Sandbox."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    return at_connect


@pytest.fixture
def linked_sandbox(app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox) -> Connection:
    """A customer who connected the live Sandbox through their journey."""
    start = connecting.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve")
    connecting.get(callback.removeprefix("http://localhost"))
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        assert connection.status == "linked"
        db.session.expunge(connection)
        return connection
