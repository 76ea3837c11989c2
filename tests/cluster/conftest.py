"""Two Onramp instances on one PostgreSQL database and one Redis, behind HAProxy, with the
Sandbox platform and a webhook receiver beside them; customers go through their journeys
while one instance is killed (SIGKILL to its whole process group).

Needs PostgreSQL (``TEST_DATABASE_URL``, a superuser: it makes a database of its own),
Redis (``TEST_REDIS_URL``) and Debian's ``haproxy`` (``make test-cluster`` installs it).
A missing one fails the run: these tests never skip. Ports: ``CLUSTER_PORT_BASE`` (5200)
and the five after it.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Connection, JourneyRun, OutboxEvent, WebhookDelivery
from app.webhooks.endpoints import add_endpoint
from tests import database
from tests.cluster.customers import STEPS, Journey, run_all, sent_around
from tests.cluster.processes import Instance, LoadBalancer, run_release
from tests.conftest import test_settings
from tests.integration.conftest import LiveSandbox
from tests.integration.webhook_receiver import Received, Receiver

PORT_BASE = int(os.environ.get("CLUSTER_PORT_BASE", "5200"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The single sign-on callback's limit, counted per client address in Redis.
SSO_LIMIT = 4
# Customers who finish before the kill, through the load balancer.
FINISHED_BEFORE = 4
# Customers paused at each step boundary (two per boundary), their steps so far all on
# the instance that is then killed; they finish through the load balancer, on the other.
PAUSED_AT = [gate for gate in range(1, len(STEPS)) for _ in range(2)]
# Customers part-way through the load balancer (their steps so far spread over both
# instances) when the kill happens.
UNDER_WAY_AT = [1, 2, 3, 4, 5, 6, 3, 4]
# How long a delivery waits for the receiver's answer: the one held open must still be
# waiting when its instance dies. The lease outlasts it (the survivor sends the delivery
# again once the dead worker's lease has run out).
READ_TIMEOUT_SECONDS = 20
LEASE_SECONDS = READ_TIMEOUT_SECONDS + 5

FIGURES = pytest.StashKey[dict[str, object]]()


@dataclass(frozen=True)
class Recorded:
    """What the shared database holds at the end."""

    deliveries: dict[str, set[str]]  # webhook-ids by endpoint path
    delivery_statuses: Counter[str]
    events: set[str]
    finished_runs: int
    linked_connections: int


@dataclass
class Outcome:
    """What happened, for the tests to judge."""

    journeys: list[Journey]
    paused: list[Journey]
    under_way: list[Journey]
    killed: Instance
    survivor: Instance
    sso_statuses: list[tuple[str, int]]  # (request id, status)
    states_after_kill: dict[str, str]
    acknowledged: dict[str, Counter[str]]
    in_flight_at_kill: list[Received]
    recorded: Recorded
    events_received: dict[str, set[str]]
    served: dict[str, set[str]]
    figures: dict[str, object] = field(default_factory=dict)


def _require() -> str:
    """HAProxy's path; fails loudly when PostgreSQL, Redis or HAProxy is missing."""
    if database.admin_url() is None:
        pytest.fail("TEST_DATABASE_URL is not set: the cluster runs on PostgreSQL", pytrace=False)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer: {exc}", pytrace=False)
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if haproxy is None:
        pytest.fail("haproxy is not installed: `make test-cluster` installs it", pytrace=False)
    return haproxy


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSandbox]:
    """The Sandbox platform, a third party to both instances, on its own port."""
    from app.sandbox import create_sandbox_app

    port = PORT_BASE + 3
    app = create_sandbox_app(
        test_settings(
            tmp_path_factory.mktemp("sandbox"),
            PUBLIC_URL=f"http://127.0.0.1:{port}",
            SANDBOX_REDIRECT_URIS=[f"http://127.0.0.1:{PORT_BASE}/connect/sandbox/callback"],
        )
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveSandbox(f"http://127.0.0.1:{port}/sandbox", app)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(PORT_BASE + 4)
    yield receiver
    receiver.close()


def _instance_environment(
    app_url: str, lb_url: str, sandbox_url: str, folder: Path
) -> dict[str, str]:
    """Every instance's environment: the same keys, database, Redis and public URL."""
    keys = test_settings(folder)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ONRAMP_")
        and name not in {"DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        DATABASE_URL=app_url,
        REDIS_URL=REDIS_URL,
        ONRAMP_SECRET_KEY=keys["SECRET_KEY"],
        ONRAMP_TOKEN_ENCRYPTION_KEY=keys["TOKEN_ENCRYPTION_KEY"],
        ONRAMP_SANDBOX_CLIENT_SECRET=keys["SANDBOX_CLIENT_SECRET"],
        ONRAMP_CONSENT_SIGNING_KEY=keys["CONSENT_SIGNING_KEY"],
        # Production would refuse the receiver's plain-HTTP loopback address (webhooks go
        # over https there, and this machine has no certificate); every secret is still
        # set above, so nothing is generated per instance as development otherwise does.
        ONRAMP_ENV_NAME="development",
        ONRAMP_PUBLIC_URL=lb_url,
        ONRAMP_TRUSTED_PROXIES="1",
        # The Sandbox stands apart, as Xero would: not mounted in either instance.
        ONRAMP_SANDBOX_ENABLED="false",
        ONRAMP_SANDBOX_URL=sandbox_url,
        ONRAMP_SERVER_FILE=str(folder / "server.json"),
        ONRAMP_ADMIN_LOGIN_RATE_LIMIT=f"{SSO_LIMIT} per minute",
        ONRAMP_WEBHOOK_POLL_SECONDS="0.3",
        ONRAMP_WEBHOOK_TIMEOUT=f"[2, {READ_TIMEOUT_SECONDS}]",
        ONRAMP_WEBHOOK_LEASE_SECONDS=str(LEASE_SECONDS),
        ONRAMP_LOG_LEVEL="WARNING",
        # One web worker each: two instances are the point, and each worker loads the app
        # (seconds of CPU on a small machine).
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="8",
    )
    return env


def _operator_app(
    app_url: str, owner_url: str, lb_url: str, sandbox_url: str, folder: Path
) -> Flask:
    """The test's own view of the shared database (to make customers and read outcomes)."""
    from app import create_app

    return create_app(
        test_settings(
            folder,
            SQLALCHEMY_DATABASE_URI=app_url,
            MIGRATION_DATABASE_URL=owner_url,
            PUBLIC_URL=lb_url,
            SANDBOX_ENABLED=False,
            SANDBOX_URL=sandbox_url,
            REDIS_URL=REDIS_URL,
            SERVER_FILE=str(folder / "operator-server.json"),
        )
    )


def _sso_callback_hits(lb: LoadBalancer) -> list[tuple[str, int]]:
    """Hit the rate-limited SSO callback through the load balancer from one client address
    (a fresh loopback address each run), claiming another address in X-Forwarded-For each
    time. HAProxy sends the hits to the instances in turn and replaces the claim with the
    real address; each instance counts in Redis, so the limit is reached at their sum.
    Returns the request ids (to see which instance answered) and statuses."""
    client = "127." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))
    answers = []
    for hit in range(SSO_LIMIT + 2):
        connection = http.client.HTTPConnection(
            "127.0.0.1", lb.port, timeout=10, source_address=(client, 0)
        )
        request_id = f"sso-{hit}"
        try:
            connection.request(
                "GET",
                "/admin/login/sso/callback",
                headers={"X-Forwarded-For": f"198.51.100.{hit + 1}", "X-Request-ID": request_id},
            )
            answers.append((request_id, connection.getresponse().status))
        finally:
            connection.close()
    return answers


def _journeys(
    app: Flask, count: int, prefix: str, lb_url: str, sandbox: LiveSandbox
) -> list[Journey]:
    from app.customers.records import create_customer
    from app.links import journey_link

    made = []
    with app.app_context():
        for n in range(count):
            customer = create_customer(f"{prefix} {n} Ltd", f"{prefix}{n}@cluster.example")
            link = journey_link(customer.public_id, "default")
            made.append(Journey(f"{prefix}{n:02d}", link, lb_url, sandbox))
    return made


@pytest.fixture(scope="module")
def outcome(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sandbox: LiveSandbox,
    receiver: Receiver,
) -> Iterator[Outcome]:
    haproxy = _require()
    started = time.monotonic()
    folder = tmp_path_factory.mktemp("cluster")
    name = f"{make_url(database.admin_url() or '').database}_cluster"
    database.fresh_database(name)
    app_url = database.role_url(database.APP_ROLE, "public", name)
    owner_url = database.role_url(database.OWNER_ROLE, "public", name)

    a = Instance("instance1", PORT_BASE + 1, folder / "instance1.log")
    b = Instance("instance2", PORT_BASE + 2, folder / "instance2.log")
    lb = LoadBalancer(PORT_BASE, PORT_BASE + 5, [a, b], folder / "haproxy.log")
    env = _instance_environment(app_url, lb.url, sandbox.url, folder)
    run_release({**env, "MIGRATION_DATABASE_URL": owner_url})
    marks = {"database migrated": time.monotonic()}
    app = _operator_app(app_url, owner_url, lb.url, sandbox.url, folder)
    with app.app_context():
        endpoints = {path: add_endpoint(f"{receiver.url}/{path}", [])[0] for path in ("a", "b")}
        db.session.commit()
        endpoint_paths = {e.id: f"/hooks/{path}" for path, e in endpoints.items()}

    try:
        for instance in (a, b):
            instance.start(env)
        for instance in (a, b):
            instance.wait_ready()
        lb.start(haproxy)
        lb.wait_for_states({"instance1": "UP", "instance2": "UP"})
        marks["instances and HAProxy up"] = time.monotonic()

        sso_statuses = _sso_callback_hits(lb)

        before = _journeys(app, FINISHED_BEFORE, "before", lb.url, sandbox)
        paused = _journeys(app, len(PAUSED_AT), "paused", lb.url, sandbox)
        under_way = _journeys(app, len(UNDER_WAY_AT), "underway", lb.url, sandbox)
        for journey, gate in zip(paused, PAUSED_AT, strict=True):
            journey.paused_at = gate
        for journey, gate in zip(under_way, UNDER_WAY_AT, strict=True):
            journey.paused_at = gate
        errors = run_all(before, lambda j: j.run())
        errors += run_all(paused, lambda j: j.run(until=j.paused_at or 0, via=a.url))
        assert not errors, errors

        # A's delivery worker is caught mid-delivery: its next request is held open while
        # more customers go part-way through the load balancer, and A dies with it in flight.
        in_flight, released = _hold_next_delivery_of(a, app, receiver)
        errors = run_all(under_way, lambda j: j.run(until=j.paused_at or 0))
        assert not errors, errors
        assert receiver.wait_until(lambda: bool(in_flight), 60), "instance1 delivered nothing"
        a.kill()
        marks["journeys until the kill"] = time.monotonic()
        released.set()
        errors = run_all([*paused, *under_way], lambda j: j.run())
        assert not errors, errors
        marks["journeys after the kill"] = time.monotonic()
        lb.wait_for_states({"instance1": "DOWN", "instance2": "UP"})
        states_after_kill = lb.server_states()

        recorded = _recorded_once_delivered(app, endpoint_paths)
        marks["every delivery made"] = time.monotonic()
    finally:
        lb.stop()
        for instance in (a, b):
            instance.stop()

    deliveries = recorded.deliveries
    acknowledged: dict[str, Counter[str]] = {path: Counter() for path in deliveries}
    events_received: dict[str, set[str]] = {path: set() for path in deliveries}
    for received in receiver.acknowledged:
        acknowledged[received.path][received.webhook_id] += 1
        events_received[received.path].add(_event_id(received))
    journeys = [*before, *paused, *under_way]
    served_a, served_b = a.request_ids(), b.request_ids()
    asked = {request_id for j in journeys for request_id in j.request_ids.values()}
    result = Outcome(
        journeys=journeys,
        paused=paused,
        under_way=under_way,
        killed=a,
        survivor=b,
        sso_statuses=sso_statuses,
        states_after_kill=states_after_kill,
        acknowledged=acknowledged,
        in_flight_at_kill=list(receiver.unanswered),
        recorded=recorded,
        events_received=events_received,
        served={a.name: served_a, b.name: served_b},
    )
    result.figures = {
        "journeys": len(journeys),
        "journeys finished": sum(j.finished for j in journeys),
        "kills": 1,
        "customers mid-journey through the load balancer at the kill": sum(
            sent_around(j, a.killed_at or 0) for j in under_way
        ),
        "customer retries after a 502/503": sum(j.retries for j in journeys),
        "customer requests answered by instance1 / instance2": (
            f"{len(asked & served_a)} / {len(asked & served_b)}"
        ),
        "webhook endpoints": len(deliveries),
        "events": len(recorded.events),
        "deliveries acknowledged": sum(sum(c.values()) for c in acknowledged.values()),
        "in flight at the kill, sent again by the survivor": len(receiver.unanswered),
        "duplicates": sum(n - 1 for c in acknowledged.values() for n in c.values() if n > 1),
        "missing": sum(len(deliveries[p] - set(acknowledged[p])) for p in deliveries),
        "seconds": round(time.monotonic() - started, 1),
        "seconds per phase": ", ".join(
            f"{name} {moment - previous:.1f}"
            for (name, moment), previous in zip(
                marks.items(), [started, *marks.values()], strict=False
            )
        ),
    }
    request.config.stash[FIGURES] = result.figures
    yield result
    database.drop_database(name)


def _hold_next_delivery_of(
    instance: Instance, app: Flask, receiver: Receiver
) -> tuple[list[Received], threading.Event]:
    """Have the receiver hold open the next webhook ``instance``'s delivery worker sends
    (which worker claimed it is in the database); returns what was held, and the event
    that releases it."""
    held: list[Received] = []

    def sent_by_instance(received: Received) -> bool:
        with app.app_context():
            claimed_by = db.session.scalar(
                select(WebhookDelivery.claimed_by).where(
                    WebhookDelivery.public_id == received.webhook_id
                )
            )
            db.session.remove()
        # Workers claim as host:pid (app/jobs.py).
        if claimed_by and instance.owns(int(claimed_by.rsplit(":", 1)[1])):
            held.append(received)
            return True
        return False

    released = threading.Event()
    receiver.hold_first(sent_by_instance, released)
    return held, released


def _recorded_once_delivered(app: Flask, endpoint_paths: dict[int, str]) -> Recorded:
    """What the database holds once no delivery is pending (or after four leases)."""
    with app.app_context():
        try:
            deadline = time.monotonic() + LEASE_SECONDS * 4
            while True:
                statuses = Counter(db.session.scalars(select(WebhookDelivery.status)))
                db.session.commit()
                if set(statuses) == {"succeeded"} or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            deliveries: dict[str, set[str]] = {path: set() for path in endpoint_paths.values()}
            for public_id, endpoint_id in db.session.execute(
                select(WebhookDelivery.public_id, WebhookDelivery.endpoint_id)
            ):
                deliveries[endpoint_paths[endpoint_id]].add(public_id)
            # The database is this run's own: every run and connection in it is a journey's.
            return Recorded(
                deliveries=deliveries,
                delivery_statuses=statuses,
                events=set(db.session.scalars(select(OutboxEvent.public_id))),
                finished_runs=_count(JourneyRun, JourneyRun.status == "completed"),
                linked_connections=_count(Connection, Connection.status == "linked"),
            )
        finally:
            db.session.remove()
            db.engine.dispose()


def _count(model: type[JourneyRun] | type[Connection], condition: ColumnElement[bool]) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _event_id(received: Received) -> str:
    return str(json.loads(received.body)["id"])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = terminalreporter.config.stash.get(FIGURES, None)
    if figures:
        terminalreporter.section("two instances behind HAProxy")
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")
