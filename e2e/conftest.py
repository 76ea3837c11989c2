"""A live Onramp server for the whole session, Chromium, and the data the tests read.

One multi-threaded server serves the journey and the built-in sandbox; the app
calls the sandbox over HTTP, so a request waits on another one in flight. Every
test gets a fresh customer, so tests share the server and its database.

The database is a temporary SQLite file, or, with ``TEST_DATABASE_URL`` set,
PostgreSQL in its own ``e2e`` schema (the integration tier drops ``public``), built by
the owner role while the server connects as the app role (tests/database.py).

Traces and screenshots of failed tests: run with
``--tracing retain-on-failure --screenshot only-on-failure``; they land in
``test-results/``. Chromium is Debian's (``CHROMIUM_PATH``, default
``/usr/bin/chromium``): Playwright's own download cannot be reached here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, WebError
from sqlalchemy import select
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

from app.extensions import db
from e2e.live import JourneyLink, LiveServer
from e2e.pages import SANDBOX, ConnectPage, ConsentPage, WelcomePage
from tests import database
from tests.mail_sink import Sink, smtp_sink
from tests.serving import loopback_port, serving

E2E_SCHEMA = "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
    # Against another environment (--base-url) only the UAT scenarios (e2e/uat) apply:
    # the others start their own server and read its database.
    if config.getoption("base_url", None):
        uat = here / "uat"
        local_only = [i for i in items if here in i.path.parents and uat not in i.path.parents]
        if local_only:
            config.hook.pytest_deselected(items=local_only)
            items[:] = [i for i in items if i not in local_only]


def _database_urls(tmp_dir: Path) -> tuple[str, str | None]:
    """SQLite by default; on PostgreSQL a fresh ``e2e`` schema, out of the other tiers' way.

    Returns the app's database URL and its tables' owner's (None on SQLite).
    """
    if database.admin_url() is None:
        return f"sqlite:///{tmp_dir / 'e2e.db'}", None
    # pytest-xdist's workers (the UAT suite's -n 2) each start a server: a schema each.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    schema = f"{E2E_SCHEMA}_{worker}" if worker else E2E_SCHEMA
    database.prepare_schema(schema)
    return (
        database.role_url(database.APP_ROLE, schema),
        database.role_url(database.OWNER_ROLE, schema),
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from app import create_app
    from tests.conftest import test_settings

    tmp_dir = tmp_path_factory.mktemp("e2e")
    app_url, owner_url = _database_urls(tmp_dir)
    # PUBLIC_URL (and so the OAuth redirect URI) needs the port before the app exists.
    with loopback_port() as port:
        app = create_app(
            test_settings(
                tmp_dir,
                PUBLIC_URL=port.url,
                WTF_CSRF_ENABLED=True,
                SQLALCHEMY_DATABASE_URI=app_url,
                MIGRATION_DATABASE_URL=owner_url,
            )
        )
        database.build_tables(app)
        try:
            with serving(app, port):
                yield LiveServer(app=app, url=port.url)
        finally:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Relative ``page.goto`` paths resolve against the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(executable, os.X_OK):
        where = "CI must provide it" if os.environ.get("CI") else "`make test` installs it"
        pytest.fail(
            f"Chromium not found at {executable} (set CHROMIUM_PATH): {where}. "
            "Browser tests never skip.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext],
) -> Iterator[Callable[..., BrowserContext]]:
    """Every browser context, watched for CSP violations and uncaught script errors.

    The strict CSP is a product promise; a blocked script or style shows up only
    in the console, so a test fails when one appears.
    """
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"CSP: {message.text}")

    def on_web_error(error: WebError) -> None:
        problems.append(f"uncaught: {error.error}")

    def create(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.on("console", on_console)
        context.on("weberror", on_web_error)
        return context

    yield create
    assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture
def journey_link(live_server: LiveServer) -> JourneyLink:
    from app.customers.records import create_customer
    from app.links import journey_link as make_link

    with live_server.app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        return JourneyLink(make_link(customer.public_id, "default"), customer.public_id)


@pytest.fixture
def sink(live_server: LiveServer) -> Iterator[Sink]:
    """The live server sends its mail to a local SMTP sink (mail configured) for the test."""
    with smtp_sink() as (sink, settings):
        live_server.app.config.update(settings)
        try:
            yield sink
        finally:
            live_server.app.config["SMTP_HOST"] = None


# Journey prefixes: each fixture takes the customer one step further.


@pytest.fixture
def welcome(page: Page, journey_link: JourneyLink) -> WelcomePage:
    return WelcomePage.open(page, journey_link.url)


@pytest.fixture
def at_consent(welcome: WelcomePage) -> ConsentPage:
    return welcome.get_started()


@pytest.fixture
def at_connect(at_consent: ConsentPage) -> ConnectPage:
    return at_consent.agree().choose(SANDBOX)


# Links to the other journeys of journeys/, each for a fresh customer.


def _configured_link(
    live_server: LiveServer, journey_id: str, locale: str | None = None
) -> JourneyLink:
    from app.customers.records import create_customer
    from app.links import journey_link as make_link

    with live_server.app.app_context():
        customer = create_customer("Quayside Provisions Ltd", "owner@quayside.example")
        return JourneyLink(make_link(customer.public_id, journey_id, locale), customer.public_id)


@pytest.fixture
def business_link(live_server: LiveServer) -> JourneyLink:
    """Harbour Capital's loan application (journeys/business.yaml)."""
    return _configured_link(live_server, "business")


@pytest.fixture
def reconnect_link(live_server: LiveServer) -> JourneyLink:
    """A fresh sign-in for a connection that stopped working (journeys/reconnect.yaml)."""
    return _configured_link(live_server, "reconnect")


@pytest.fixture
def link_in(live_server: LiveServer) -> Callable[[str], JourneyLink]:
    """Links to the default journey that ask for a language, each for a fresh customer."""
    return lambda lang: _configured_link(live_server, "default", lang)


@pytest.fixture
def french_link(live_server: LiveServer) -> JourneyLink:
    """The default journey, with a link that asks for French."""
    return _configured_link(live_server, "default", "fr")


# A business's own page on another site, embedding the journey (docs/examples/host-page.html).

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
HOST_PAGE_FILES = {
    "/host-page.html": "text/html",
    "/host-page.js": "text/javascript",
    "/host-page.css": "text/css",
}


@dataclass(frozen=True)
class EmbeddingSite:
    """Onramp on http://127.0.0.1:<port>, and a business's page on http://localhost:<other>.

    Two sites, not only two origins: the frame is third-party, its cookies partitioned.
    """

    onramp: LiveServer
    host: str

    def link(self, *, return_url: str | None = None) -> JourneyLink:
        from app.customers.records import create_customer
        from app.links import journey_link as make_link

        with self.onramp.app.app_context():
            customer = create_customer("Acme Ltd", "owner@acme.example")
            url = make_link(customer.public_id, "default", return_url=return_url)
            return JourneyLink(url, customer.public_id)

    def page(self, **links: str) -> str:
        """The business's page, given journey links (``hosted=``, ``embedded=``)."""
        return f"{self.host}/host-page.html?{urlencode(links)}"


def _host_page_app(onramp_origin: str) -> Callable[..., Any]:
    """The business's web server: the example files, under a strict CSP of its own."""
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {onramp_origin}",
            f"frame-src {onramp_origin}",
            "style-src 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )

    @WsgiRequest.application  # type: ignore[arg-type]
    def serve(request: WsgiRequest) -> WsgiResponse:
        mimetype = HOST_PAGE_FILES.get(request.path)
        if mimetype is None:
            return WsgiResponse("not found", 404)
        body = (EXAMPLES / request.path.lstrip("/")).read_bytes()
        response = WsgiResponse(body, mimetype=mimetype)
        response.headers["Content-Security-Policy"] = policy
        return response

    return serve


@pytest.fixture(scope="session")
def embedding_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddingSite]:
    """An Onramp whose default journey allows the business's page, and that page."""
    from app import create_app
    from tests.conftest import test_settings
    from tests.embedding import journeys_allowing

    tmp_dir = tmp_path_factory.mktemp("embedding")
    with loopback_port() as port, serving(_host_page_app(port.url)) as host_server:
        host = f"http://localhost:{host_server.server_port}"
        journeys = journeys_allowing(tmp_dir, [host], [f"{host}/"])
        app = create_app(
            test_settings(
                tmp_dir,
                PUBLIC_URL=port.url,
                WTF_CSRF_ENABLED=True,
                JOURNEYS_DIR=str(journeys),
                # Its own SQLite file, whatever database the session's live server uses.
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_dir / 'onramp.db'}",
            )
        )
        with app.app_context():
            db.create_all()
        try:
            with serving(app, port):
                yield EmbeddingSite(LiveServer(app=app, url=port.url), host)
        finally:
            with app.app_context():
                db.engine.dispose()


# The admin console (e2e/admin.py): colleagues signed in once per role, and something to see.


@pytest.fixture(scope="session")
def admin_sessions(browser: Browser, live_server: LiveServer) -> Callable[[str], dict[str, Any]]:
    """A signed-in session per role, made once through the sign-in form and reused.

    ``new_context(storage_state=admin_sessions("viewer"))`` opens a browser already
    signed in as that role's colleague, without signing in again.
    """
    from e2e.admin import sign_in_as

    states: dict[str, dict[str, Any]] = {}

    def state(role: str) -> dict[str, Any]:
        if role not in states:
            context = browser.new_context(base_url=live_server.url)
            try:
                sign_in_as(context.new_page(), live_server, role)
                states[role] = dict(context.storage_state())
            finally:
                context.close()
        return states[role]

    return state


@dataclass(frozen=True)
class AdminSeed:
    """A customer who connected the Sandbox through the default journey, and a webhook
    endpoint (on a local receiver that accepts everything) that was told about it."""

    customer_name: str
    customer_public_id: str
    external_id: str
    organisation: str
    endpoint_url: str


@WsgiRequest.application  # type: ignore[arg-type]
def _accepting_receiver(request: WsgiRequest) -> WsgiResponse:
    return WsgiResponse(status=204)


@pytest.fixture(scope="session")
def admin_seed(browser: Browser, live_server: LiveServer) -> Iterator[AdminSeed]:
    from app.customers.records import create_customer
    from app.links import journey_link as make_link
    from app.models import Customer, OutboxEvent, WebhookDelivery
    from app.sandbox.data import ORGANISATIONS
    from app.webhooks import delivery, endpoints

    with serving(_accepting_receiver) as receiver:
        endpoint_url = f"http://127.0.0.1:{receiver.server_port}/onramp-events"
        suffix = uuid.uuid4().hex[:8]
        name, external_id = f"Harbourside Bakery {suffix}", f"crm-{suffix}"
        organisation = ORGANISATIONS[0].name
        with live_server.app.app_context():
            endpoint, _ = endpoints.add_endpoint(
                endpoint_url, ["connection.linked"], "E2E receiver"
            )
            customer = create_customer(name, f"owner-{suffix}@bakery.example", external_id)
            db.session.commit()
            link, public_id, endpoint_id = (
                make_link(customer.public_id, "default"),
                customer.public_id,
                endpoint.id,
            )

        context = browser.new_context(base_url=live_server.url)
        try:
            (
                WelcomePage.open(context.new_page(), link)
                .get_started()
                .agree()
                .choose(SANDBOX)
                .continue_to_sandbox()
                .sign_in()
                .choose(organisation)
                .approve()
            )
        finally:
            context.close()

        # The worker does not run in this server: send the customer's event once, here.
        with live_server.app.app_context():
            delivery_id = db.session.scalar(
                select(WebhookDelivery.id)
                .join(OutboxEvent)
                .join(Customer, OutboxEvent.customer_id == Customer.id)
                .where(Customer.public_id == public_id, WebhookDelivery.endpoint_id == endpoint_id)
            )
            assert delivery_id is not None and delivery.claim(delivery_id, "e2e")
            assert delivery.deliver(delivery_id, "e2e").result == "succeeded"

        yield AdminSeed(name, public_id, external_id, organisation, endpoint_url)
