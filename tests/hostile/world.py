"""One app, one database and one live Sandbox for a whole hostile-input run, with the
data and the browsers its targets need: customers part-way through the journey, a
customer who finished it (consents, a receipt, a linked connection), a signed-in
admin, an API key. A browser whose state a request changed is replaced by a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.consent.account_links import manage_token
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import ConsentReceipt, Customer
from app.platforms import PLATFORMS
from tests.admin import make_user, sign_in
from tests.conftest import reset_database, test_settings
from tests.hostile.probe import Tally
from tests.impersonation import LIST_ORGANISATIONS
from tests.integration.api_helpers import create_key
from tests.integration.conftest import ALL_CONSENTS, REQUIRED_CONSENTS, LiveSandbox
from tests.serving import loopback_port, serving

LOCAL = "http://localhost"
# Where each journey step's browser stands: the default journey's steps in order.
DEFAULT_STEPS = ["welcome", "consent", "software", "connect"]
STEP_ANSWERS: dict[str, dict[str, str]] = {
    "welcome": {},
    "consent": REQUIRED_CONSENTS,
    "software": {"platform": "sandbox"},
}
BUSINESS_CONSENT = {"consent_accounts": "y", "agree": "Agree and continue"}
BUSINESS_DETAILS = {
    "company_name": "Harbour Works Ltd",
    "company_type": "limited",
    "contact_email": "owner@harbour.example",
    "employees": "12",
    "turnover": "under_100k",
}


@contextmanager
def serve_sandbox(folder: Path) -> Iterator[LiveSandbox]:
    """The Sandbox platform over real HTTP on a free port (as the integration tests do)."""
    from app.sandbox import create_sandbox_app

    folder.mkdir(parents=True, exist_ok=True)
    with loopback_port() as port:
        sandbox = create_sandbox_app(
            test_settings(
                folder,
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'sandbox.db'}",
                PUBLIC_URL=port.url,
                SANDBOX_REDIRECT_URIS=[f"{LOCAL}/connect/{key}/callback" for key in PLATFORMS],
            )
        )
        with serving(sandbox, port):
            yield LiveSandbox(f"{port.url}/sandbox", sandbox)


def hostile_app(folder: Path, sandbox: LiveSandbox) -> Flask:
    """The app as the test suite configures it, with an empty database.

    CSRF is off (as in every integration test) so that forms are read, and the rate
    limits are off so that sign-in and "email me a link" are reached every time.
    """
    from app import create_app

    app = create_app(
        test_settings(
            folder,
            RATELIMIT_ENABLED=False,
            ADMIN_LOGIN_RATE_LIMIT="1000000 per second",
            SANDBOX_URL=sandbox.url,
            # The Sandbox answers like Xero: the customer chooses among organisations.
            PLATFORM_OVERRIDES=LIST_ORGANISATIONS,
            # Endpoints on this host skip the DNS look-up that other hosts get.
            WEBHOOK_ALLOWED_HOSTS=["hooks.example"],
        )
    )
    with app.app_context():
        event.listen(db.engine, "connect", _commit_without_flushing)
        db.engine.dispose()
    reset_database(app)
    return app


def _commit_without_flushing(dbapi_connection: Any, _: object) -> None:
    # The suite is about input, not durability: a commit need not wait for the disk,
    # which saves a third of its time on a busy machine.
    sqlite = type(dbapi_connection).__module__.startswith("sqlite3")
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF" if sqlite else "SET synchronous_commit TO off")
    cursor.close()
    dbapi_connection.commit()


@dataclass
class Ids:
    """Real ids of the finished customer and of the console's objects."""

    external_id: str = "acme-1"
    customer: str = ""
    link_token: str = ""
    manage_token: str = ""
    records: list[str] = field(default_factory=list)
    receipt: str = ""
    connection: str = ""
    admin_email: str = ""
    admin_id: int = 0
    colleague_id: int = 0
    key_prefix: str = ""
    draft: str = ""
    endpoint: str = ""
    organisations: list[str] = field(default_factory=list)
    consent_cursor: str = ""
    # The current version of each journey, by id.
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """The app under attack and everything its targets need."""

    app: Flask
    sandbox: LiveSandbox
    tally: Tally
    api_key: str = ""
    ids: Ids = field(default_factory=Ids)
    _browsers: dict[str, FlaskClient] = field(default_factory=dict)

    # Browsers ---------------------------------------------------------------------

    def browser(self, name: str) -> FlaskClient:
        """The browser ``name`` (see BROWSERS), made on first use."""
        if name not in self._browsers:
            self._browsers[name] = BROWSERS[name](self)
        return self._browsers[name]

    def replace(self, name: str) -> None:
        """Forget a browser whose state has moved on; the next use makes a fresh one."""
        self._browsers.pop(name, None)

    def new_link(self, journey_id: str = "default") -> str:
        with self.app.app_context():
            customer = create_customer("Hostile Test Ltd", "someone@hostile.example")
            return journey_link(customer.public_id, journey_id).removeprefix(LOCAL)

    def at_step(self, step: str) -> FlaskClient:
        """A browser whose default-journey run stands at ``step``."""
        client = self.app.test_client()
        client.get(self.new_link())
        for done in DEFAULT_STEPS[: DEFAULT_STEPS.index(step)]:
            _expect_redirect(client.post(f"/journey/{done}", data=STEP_ANSWERS[done]))
        return client

    def at_business_step(self, step: str) -> FlaskClient:
        client = self.app.test_client()
        client.get(self.new_link("business"))
        _expect_redirect(client.post("/journey/welcome"))
        _expect_redirect(client.post("/journey/consent", data=BUSINESS_CONSENT))
        if step == "company":
            _expect_redirect(client.post("/journey/details", data=BUSINESS_DETAILS))
        return client

    def uploading(self) -> FlaskClient:
        """A browser whose customer chose to upload their accounts instead of connecting."""
        client = self.at_step("software")
        _expect_redirect(client.post("/journey/software", data={"upload_instead": "1"}))
        return client

    def declined(self) -> FlaskClient:
        client = self.at_step("consent")
        _expect_redirect(client.post("/journey/consent", data={"decline": "Decline and stop"}))
        return client

    def start_connection(self, client: FlaskClient) -> str:
        """Press Connect: the provider's address, with the flow's state in it."""
        response = client.post("/journey/connect", data={"submit": "Connect"})
        _expect_redirect(response)
        return str(response.location)

    def choosing_organisation(self) -> FlaskClient:
        """A browser back from the provider, asked which organisation to connect."""
        client = self.at_step("connect")
        callback = self.sandbox.authorize(self.start_connection(client), "approve")
        response = client.get(callback.removeprefix(LOCAL))
        assert response.location.endswith("/journey/organisation"), response.location
        return client

    def customer_page(self) -> FlaskClient:
        client = self.app.test_client()
        _expect_redirect(client.get(f"/my/{self.ids.manage_token}"))
        return client

    def admin(self) -> FlaskClient:
        client = self.app.test_client()
        sign_in(client, self.ids.admin_email)
        return client

    # Setting up -------------------------------------------------------------------

    def populate(self) -> None:
        """A customer who finished the journey (made and linked through the API), the
        console's users, a draft, a webhook endpoint."""
        self.api_key = create_key(self.app, "read", "write", "credentials", "files")
        self.ids.key_prefix = create_key(self.app, "read", name="to revoke")[:12]
        api = self.app.test_client()
        auth = {"Authorization": f"Bearer {self.api_key}"}
        made = api.put(
            f"/api/v1/customers/{self.ids.external_id}",
            json={"name": "Acme Ltd", "email": "owner@acme.example"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        self.ids.customer = _json(made)["id"]
        link = api.post(f"/api/v1/customers/{self.ids.external_id}/links", json={}, headers=auth)
        assert link.status_code == 201, link.text
        link_path = _json(link)["url"].removeprefix(LOCAL)
        self.ids.link_token = link_path.rsplit("/", 1)[1]
        self._finish_journey(link_path)
        endpoint = api.post(
            "/api/v1/webhook-endpoints",
            json={"url": "https://hooks.example/onramp", "description": "hostile tests"},
            headers=auth,
        )
        assert endpoint.status_code == 201, endpoint.text
        self.ids.endpoint = _json(endpoint)["id"]
        found = _json(api.get(f"/api/v1/customers/{self.ids.external_id}", headers=auth))
        self.ids.records = [c["id"] for c in found["consents"]]
        page = _json(api.get("/api/v1/consents?limit=1", headers=auth))
        self.ids.consent_cursor = page["next_cursor"]
        journeys = _json(api.get("/api/v1/journeys", headers=auth))["data"]
        self.ids.versions = {j["id"]: j["version"] for j in journeys}
        self.ids.connection = found["connections"][0]["id"]
        self.ids.organisations = [o.id for o in _organisations()]
        with self.app.app_context():
            customer = db.session.scalar(
                select(Customer).where(Customer.public_id == self.ids.customer)
            )
            assert customer is not None
            self.ids.manage_token = manage_token(customer)
            receipt = db.session.scalars(select(ConsentReceipt)).first()
            assert receipt is not None
            self.ids.receipt = receipt.public_id
        self.ids.admin_email = make_user(self.app, "admin")
        make_user(self.app, "support")
        with self.app.app_context():
            from app.models import User

            users = {u.email: u.id for u in db.session.scalars(select(User))}
        self.ids.admin_id = users[self.ids.admin_email]
        self.ids.colleague_id = users["support@example.com"]
        draft = self.admin().post(
            "/admin/journey-drafts", data={"yaml_text": DRAFT_YAML}, follow_redirects=False
        )
        _expect_redirect(draft)
        self.ids.draft = draft.location.rstrip("/").rsplit("/", 1)[1]

    def _finish_journey(self, link_path: str) -> None:
        client = self.app.test_client()
        client.get(link_path)
        _expect_redirect(client.post("/journey/welcome"))
        _expect_redirect(client.post("/journey/consent", data=ALL_CONSENTS))
        _expect_redirect(client.post("/journey/software", data={"platform": "sandbox"}))
        callback = self.sandbox.authorize(self.start_connection(client), "approve")
        client.get(callback.removeprefix(LOCAL))
        [organisation, *_] = _organisations()
        done = client.post("/journey/organisation", data={"organisation": organisation.id})
        assert done.location.endswith("/journey/done"), done.location


DRAFT_YAML = """\
id: hostile-draft
name: A draft to attack
locales: [en, fr]
business:
  name: Draft Business
  purpose: to test drafts
steps:
  - id: welcome
    type: welcome
    title: Welcome
  - id: details
    type: form
    title: Details
    fields:
      - name: company_name
        label: Company name
        type: text
        required: true
        max_length: 160
      - name: employees
        label: Employees
        type: number
        min: 0
        max: 1000
      - name: since
        label: Since
        type: date
  - id: done
    type: done
    title: Thank you
"""


def _organisations() -> list[Any]:
    from app.sandbox.data import DEMO

    return list(DEMO.organisations)  # the demo login's, which the world signs in with


def _json(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert isinstance(body, dict), response.text
    return body


def _expect_redirect(response: Any) -> None:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])


def oauth_state(provider_url: str) -> str:
    return parse_qs(urlsplit(provider_url).query)["state"][0]


BROWSERS: dict[str, Callable[[World], FlaskClient]] = {
    "anonymous": lambda world: world.app.test_client(),
    "api": lambda world: world.app.test_client(),
    **{
        step: (lambda world, step=step: world.at_step(step))  # type: ignore[misc]
        for step in DEFAULT_STEPS
    },
    "details": lambda world: world.at_business_step("details"),
    "company": lambda world: world.at_business_step("company"),
    "declined": lambda world: world.declined(),
    "uploading": lambda world: world.uploading(),
    "organisation": lambda world: world.choosing_organisation(),
    "customer": lambda world: world.customer_page(),
    "admin": lambda world: world.admin(),
}


@contextmanager
def world_for(folder: Path, tally: Tally) -> Iterator[World]:
    """A populated world; the app's database connections are closed afterwards."""
    with serve_sandbox(folder / "sandbox-instance") as sandbox:
        (folder / "app").mkdir(exist_ok=True)
        app = hostile_app(folder / "app", sandbox)
        world = World(app, sandbox, tally)
        world.populate()
        try:
            yield world
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
