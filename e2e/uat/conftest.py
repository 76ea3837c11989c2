"""The environment the UAT scenarios run against, reached only over HTTP.

``--base-url https://uat.example.com`` (with ``ONRAMP_UAT_API_KEY`` set) points the
suite at a deployed Onramp. Without it, the suite starts its own server (the e2e live
server) and mints a UAT key there; after that it uses exactly the same paths as against
a remote environment: the browser, the JSON API, the Sandbox. See e2e/README.md.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from playwright.sync_api import BrowserContext, Page

from e2e.pages.base import without_javascript
from e2e.uat.api import Customers, OnrampApi, UatCustomer

KEY_VARIABLE = "ONRAMP_UAT_API_KEY"
ADMIN_EMAIL_VARIABLE = "ONRAMP_UAT_ADMIN_EMAIL"
ADMIN_PASSWORD_VARIABLE = "ONRAMP_UAT_ADMIN_PASSWORD"
SUPPORT_EMAIL_VARIABLE = "ONRAMP_UAT_SUPPORT_EMAIL"
SUPPORT_PASSWORD_VARIABLE = "ONRAMP_UAT_SUPPORT_PASSWORD"
# How long a journey sits still before the console calls its customer stuck, on a UAT
# environment (ONRAMP_CUSTOMER_STUCK_AFTER_SECONDS, docs/uat.md): at once, so that the
# scenario's customer is stuck as soon as they stop.
UAT_STUCK_SETTINGS = {"CUSTOMER_STUCK_AFTER_SECONDS": 0}
# The vendors the Sandbox plays in a UAT environment (ONRAMP_SANDBOX_PLAYS): with them
# the default journey offers all five of its platforms, and so its search box.
UAT_PLAYED = ["xero", "quickbooks", "sage", "freeagent"]
UAT_SLOW_SECONDS = 8
# The keys the platforms played sign their change notifications with (Xero's webhook
# key, Intuit's verifier token): the suite's own server's, made up.
UAT_WEBHOOK_KEYS = {"xero": "uat-xero-webhook-key", "quickbooks": "uat-intuit-verifier"}
# How often a UAT environment's worker looks after connections (docs/uat.md).
UAT_WORKER_SETTINGS = {
    "CONNECTION_REFRESH_CHECK_SECONDS": 2,
    "CONNECTION_HEALTH_SECONDS": 5,
    "WEBHOOK_POLL_SECONDS": 0.5,
}


@dataclass(frozen=True)
class Environment:
    """The Onramp under test: its address, its API, and this run's customers."""

    url: str
    api: OnrampApi
    customers: Customers
    remote: bool


def _run_id(config: pytest.Config) -> str:
    """One id for the whole run, shared by pytest-xdist's workers, then the worker's own."""
    workerinput = getattr(config, "workerinput", None)
    shared = workerinput["testrunuid"] if workerinput else uuid.uuid4().hex
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return f"{datetime.now(UTC):%Y%m%d%H%M}-{shared[:6]}-{worker}"


def _local_key(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Our own server, and a UAT key minted in it (as `flask uat key` does on a server)."""
    from app.api.keys import create_key
    from app.cli.uat_commands import UAT_KEY_SCOPES

    live_server = request.getfixturevalue("live_server")
    # As a UAT environment is set up (docs/uat.md): the Sandbox plays these vendors.
    live_server.app.config["SANDBOX_PLAYS"] = UAT_PLAYED
    # "Answer slowly" long enough that a reload reaches the server while the first
    # answer is still at work, on a machine busy with both workers' browsers.
    live_server.app.config["SANDBOX_SLOW_SECONDS"] = UAT_SLOW_SECONDS
    # The Sandbox sends Xero's and Intuit's change notifications to Onramp, signed with
    # the keys Onramp checks them with (docs/uat.md).
    live_server.app.config.update(
        SANDBOX_WEBHOOK_KEYS=UAT_WEBHOOK_KEYS,
        SANDBOX_WEBHOOK_URLS={
            key: f"{live_server.url}/webhooks/platforms/{key}" for key in UAT_WEBHOOK_KEYS
        },
        XERO_WEBHOOK_KEY=UAT_WEBHOOK_KEYS["xero"],
        QUICKBOOKS_WEBHOOK_VERIFIER=UAT_WEBHOOK_KEYS["quickbooks"],
    )
    with live_server.app.app_context():
        _, key = create_key("uat", UAT_KEY_SCOPES, actor=("cli", "e2e uat"))
    return live_server.url, key


@contextmanager
def _configured(app: Any, settings: dict[str, Any]) -> Iterator[None]:
    """The suite's own server set as a UAT environment is (docs/uat.md), for a while."""
    before = {name: app.config[name] for name in settings}
    app.config.update(settings)
    try:
        yield
    finally:
        app.config.update(before)


@pytest.fixture
def worker(environment: Environment, request: pytest.FixtureRequest) -> Iterator[None]:
    """The background worker a UAT environment runs beside Onramp (gunicorn starts one),
    with short intervals so that a break made at the Sandbox is noticed within seconds,
    as docs/uat.md asks. Against the suite's own server: a thread of it, for the scenario
    that asks for it only (the others script the platform's answers step by step)."""
    if environment.remote:
        yield
        return
    from app import jobs

    app = request.getfixturevalue("live_server").app
    with _configured(app, UAT_WORKER_SETTINGS):
        stop = threading.Event()

        def work() -> None:
            with app.app_context():
                jobs.run("uat-worker", stop)

        thread = threading.Thread(target=work, name="uat-worker", daemon=True)
        thread.start()
        yield
        stop.set()
        thread.join(timeout=30)


def _local_admin(request: pytest.FixtureRequest, role: str = "viewer") -> tuple[str, str]:
    """A viewer (or support) login on our own server, made as `flask uat admin` makes one."""
    live_server = request.getfixturevalue("live_server")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    result = live_server.app.test_cli_runner().invoke(
        args=["uat", "admin", "--role", role, "--email", f"uat-{role}-{worker}@example.com"]
    )
    assert result.exit_code == 0, result.output
    lines = dict(line.partition("=")[::2] for line in result.stdout.strip().splitlines())
    if role == "viewer":
        return lines[ADMIN_EMAIL_VARIABLE], lines[ADMIN_PASSWORD_VARIABLE]
    return lines[SUPPORT_EMAIL_VARIABLE], lines[SUPPORT_PASSWORD_VARIABLE]


def _check_reachable(url: str, api: OnrampApi) -> None:
    """Fail once, clearly, when the environment can't be used, instead of in every test."""
    try:
        journeys = api.call("GET", "/journeys")["data"]
        sandbox = requests.get(f"{url}/sandbox/.well-known/oauth-authorization-server", timeout=30)
    except requests.RequestException as exc:
        pytest.exit(f"Onramp at {url} can't be reached: {exc}", returncode=3)
    except AssertionError as exc:
        pytest.exit(f"Onramp at {url} refused the UAT key: {exc}", returncode=3)
    if sandbox.status_code != 200:
        pytest.exit(
            f"The Sandbox is not enabled at {url} (production leaves it off: set "
            "ONRAMP_SANDBOX_ENABLED=true there): the scenarios script the accounting platform "
            "through it.",
            returncode=3,
        )
    missing = {"default", "business", "reconnect"} - {j["id"] for j in journeys}
    if missing:
        pytest.exit(f"{url} lacks the shipped journeys {sorted(missing)}", returncode=3)


@pytest.fixture(scope="session")
def environment(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Environment:
    try:
        return _environment(pytestconfig, request)
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:
        # A SystemExit or GreenletExit from deep in the setup escapes pytest's fixture cache:
        # every later scenario on this worker would then fail with pytest's own internal
        # AssertionError, which hides the cause (seen once in CI). As an ordinary exception
        # it is cached, and each scenario's error names it.
        raise RuntimeError(f"setting up the UAT environment failed: {exc!r}") from exc


def _environment(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Environment:
    given = pytestconfig.getoption("base_url")
    if given:
        key = os.environ.get(KEY_VARIABLE, "")
        if not key:
            pytest.exit(
                f"Set {KEY_VARIABLE} to a UAT key for {given} (on the server: flask uat key).",
                returncode=3,
            )
        url = str(given).rstrip("/")
    else:
        url, key = _local_key(request)
    api = OnrampApi(url, key)
    _check_reachable(url, api)
    return Environment(url, api, Customers(api, _run_id(pytestconfig)), remote=bool(given))


@pytest.fixture(scope="session")
def admin_login(environment: Environment, request: pytest.FixtureRequest) -> tuple[str, str]:
    """The admin console login for the preview scenario: ``flask uat admin`` prints it."""
    if not environment.remote:
        return _local_admin(request)
    email = os.environ.get(ADMIN_EMAIL_VARIABLE, "")
    password = os.environ.get(ADMIN_PASSWORD_VARIABLE, "")
    if not (email and password):
        pytest.fail(
            f"Set {ADMIN_EMAIL_VARIABLE} and {ADMIN_PASSWORD_VARIABLE} to a viewer login for "
            f"{environment.url}'s admin console (on the server: flask uat admin).",
            pytrace=False,
        )
    return email, password


@pytest.fixture(scope="session")
def support_login(environment: Environment, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A support login (it may send a customer a link): ``flask uat admin --role support``."""
    if not environment.remote:
        return _local_admin(request, "support")
    email = os.environ.get(SUPPORT_EMAIL_VARIABLE, "")
    password = os.environ.get(SUPPORT_PASSWORD_VARIABLE, "")
    if not (email and password):
        pytest.fail(
            f"Set {SUPPORT_EMAIL_VARIABLE} and {SUPPORT_PASSWORD_VARIABLE} to a support login "
            f"for {environment.url}'s admin console (on the server: "
            "flask uat admin --role support).",
            pytrace=False,
        )
    return email, password


@pytest.fixture
def stuck_at_once(environment: Environment, request: pytest.FixtureRequest) -> Iterator[None]:
    """A customer who stops is stuck at once, as on a UAT environment (docs/uat.md). Against
    the suite's own server: for the scenario that asks for it only."""
    if environment.remote:
        yield
        return
    with _configured(request.getfixturevalue("live_server").app, UAT_STUCK_SETTINGS):
        yield


@pytest.fixture(scope="session")
def base_url(environment: Environment) -> str:
    """Relative ``page.goto`` paths resolve against the environment under test."""
    return environment.url


@pytest.fixture
def customer(environment: Environment, request: pytest.FixtureRequest) -> UatCustomer:
    """A fresh customer for the scenario, named after it."""
    name = re.sub(r"[^A-Za-z0-9 ]+", " ", request.node.name).strip()[:80]
    return environment.customers.new(f"UAT {name}")


@pytest.fixture
def no_script_page(new_context: Callable[..., BrowserContext]) -> Page:
    """A browser with JavaScript turned off."""
    return without_javascript(new_context(java_script_enabled=False)).new_page()
