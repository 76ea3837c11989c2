"""The delivery worker as it runs for real: several at once, killed mid-delivery, stopped by
SIGTERM, marking abandoned journeys, and started beside gunicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock, jobs
from app.extensions import db
from app.gunicorn_conf import DeliveryWorkerProcess, webhook_worker_enabled
from app.models import JourneyEvent, JourneyRun, WebhookDelivery
from app.webhooks.delivery import deliver_due
from app.webhooks.endpoints import add_endpoint
from app.webhooks.outbox import emit
from tests.conftest import test_settings
from tests.integration.webhook_receiver import Receiver, Reply
from tests.serving import start_gunicorn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _environment(app: Flask, **settings: str) -> dict[str, str]:
    """What a worker process needs to share the test's database and keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
    config = test_settings(Path("/unused"))
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        ONRAMP_SECRET_KEY=config["SECRET_KEY"],
        ONRAMP_TOKEN_ENCRYPTION_KEY=config["TOKEN_ENCRYPTION_KEY"],
        ONRAMP_SANDBOX_CLIENT_SECRET=config["SANDBOX_CLIENT_SECRET"],
        ONRAMP_PUBLIC_URL="http://localhost",
        ONRAMP_WEBHOOK_POLL_SECONDS="0.2",
    )
    env.update({f"ONRAMP_{name}": value for name, value in settings.items()})
    return env


def _worker(app: Flask, *args: str, **settings: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "webhooks", "deliver", *args],
        cwd=ROOT,
        env=_environment(app, **settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _setup(app: Flask, url: str, events: int) -> tuple[str, list[str]]:
    with app.app_context():
        _, secret = add_endpoint(url, [])
        emitted = [emit("journey.started", None, run_id=f"r{n}") for n in range(events)]
        db.session.commit()
        return secret, [e.public_id for e in emitted]


def _statuses(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(WebhookDelivery.status)))


def test_a_worker_killed_mid_delivery_leaves_it_for_the_next_worker(
    app: Flask, receiver: Receiver
) -> None:
    secret, _ = _setup(app, receiver.url, 1)
    held = threading.Event()
    receiver.answer(Reply(200, hold=held))

    first = _worker(app, "--worker-id", "first", WEBHOOK_LEASE_SECONDS="3")
    try:
        assert receiver.wait_for(1, timeout=60), "the first worker never sent the event"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    held.set()
    with app.app_context():
        orphan = db.session.scalars(select(WebhookDelivery)).one()
        assert (orphan.status, orphan.claimed_by) == ("pending", "first")

    second = _worker(app, "--worker-id", "second", WEBHOOK_LEASE_SECONDS="3")
    try:
        assert receiver.wait_for(2, timeout=60), "the event was lost"
    finally:
        # SIGTERM: the worker finishes the delivery in hand, then exits cleanly.
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    killed, retried = receiver.requests
    assert killed.webhook_id == retried.webhook_id
    assert retried.verify(secret)["type"] == "journey.started"
    with app.app_context():
        delivered = db.session.scalars(select(WebhookDelivery)).one()
        assert delivered.status == "succeeded"
        assert delivered.claimed_by is None
        assert [a.status_code for a in delivered.attempts_made] == [200]


def test_several_worker_threads_deliver_each_event_exactly_once(
    app: Flask, receiver: Receiver
) -> None:
    _, event_ids = _setup(app, receiver.url, 40)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with app.app_context():
                start.wait()
                deliver_due(name)
                db.session.remove()
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    sent = [json.loads(r.body)["id"] for r in receiver.requests]
    assert sorted(sent) == sorted(event_ids)
    assert len({r.webhook_id for r in receiver.requests}) == 40
    assert _statuses(app) == ["succeeded"] * 40


def test_several_worker_processes_deliver_each_event_exactly_once(
    app: Flask, receiver: Receiver
) -> None:
    _, event_ids = _setup(app, receiver.url, 60)

    workers = [_worker(app, "--once", "--worker-id", f"p{n}") for n in range(3)]
    codes = [w.wait(120) for w in workers]

    assert codes == [0, 0, 0]
    sent = [json.loads(r.body)["id"] for r in receiver.requests]
    assert sorted(sent) == sorted(event_ids)
    assert _statuses(app) == ["succeeded"] * 60


def test_the_worker_reports_abandoned_journeys(
    app: Flask, customer_client: FlaskClient, receiver: Receiver
) -> None:
    with app.app_context():
        _, secret = add_endpoint(receiver.url, ["journey.abandoned"])
        past = clock.now() - timedelta(hours=25)
        db.session.execute(update(JourneyRun).values(updated_at=past))
        db.session.execute(update(JourneyEvent).values(occurred_at=past))
        db.session.commit()
        run_id = db.session.scalars(select(JourneyRun.public_id)).one()

        jobs.run("abandon-check", threading.Event(), once=True)

    [received] = receiver.requests
    body = received.verify(secret)
    assert body["type"] == "journey.abandoned"
    assert body["data"]["run_id"] == run_id


def test_the_worker_can_be_turned_off_beside_gunicorn() -> None:
    assert webhook_worker_enabled({})
    assert webhook_worker_enabled({"ONRAMP_WEBHOOK_WORKER": "true"})
    for off in ("false", "0", "no", "off", "False"):
        assert not webhook_worker_enabled({"ONRAMP_WEBHOOK_WORKER": off})


def test_the_supervised_worker_is_restarted_if_it_dies_and_stopped_on_exit() -> None:
    class Log:
        def info(self, *args: object) -> None: ...
        def warning(self, *args: object) -> None: ...

    supervisor = DeliveryWorkerProcess(
        Log(), [sys.executable, "-c", "import time; time.sleep(120)"], restart_delay=0.1
    )
    supervisor.start()
    try:
        first = _wait_for_process(supervisor, None)
        first.kill()
        second = _wait_for_process(supervisor, first.pid)
        assert second.pid != first.pid
    finally:
        supervisor.stop()
    assert second.poll() == -signal.SIGTERM


def _wait_for_process(
    supervisor: DeliveryWorkerProcess, not_pid: int | None
) -> subprocess.Popen[bytes]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        process = supervisor.process
        if process is not None and process.pid != not_pid and process.poll() is None:
            return process
        time.sleep(0.05)
    raise AssertionError("the supervised worker did not start")


def test_gunicorn_runs_one_delivery_worker_beside_its_web_workers(
    app: Flask, receiver: Receiver
) -> None:
    secret, _ = _setup(app, receiver.url, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(app)
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2")
    master = start_gunicorn(env)
    try:
        assert receiver.wait_for(1, timeout=60), "no delivery from the worker beside gunicorn"
        workers = _delivery_workers_of(master.pid)
        assert len(workers) == 1
    finally:
        master.send_signal(signal.SIGTERM)
        assert master.wait(60) == 0
    receiver.requests[0].verify(secret)
    # The master stopped its delivery worker before exiting.
    assert not Path(f"/proc/{workers[0]}").exists()


def test_the_delivery_worker_stops_when_the_gunicorn_master_is_killed(
    app: Flask, receiver: Receiver
) -> None:
    _setup(app, receiver.url, 1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(app)
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    master = start_gunicorn(env)
    children: list[int] = []
    try:
        # A delivery made: the worker is up and in its loop.
        assert receiver.wait_for(1, timeout=60), "no delivery from the worker beside gunicorn"
        [worker] = _delivery_workers_of(master.pid)
        children = _children_of(master.pid)
        master.send_signal(signal.SIGKILL)  # no on_exit hook runs: the worker is orphaned
        master.wait(30)

        deadline = time.monotonic() + 15
        while _running(worker):
            assert time.monotonic() < deadline, "the orphaned delivery worker kept running"
            time.sleep(0.1)
    finally:
        if master.poll() is None:
            master.kill()
            master.wait()
        for pid in children:  # whatever outlived the test must not outlive the run
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_told_of_a_parent_it_does_not_have_stops_cleanly(app: Flask) -> None:
    # Its parent is this test, not pid 1: as if that parent had died before it started.
    orphan = _worker(app, "--parent-pid", "1")
    try:
        assert orphan.wait(60) == 0
    finally:
        orphan.kill()
        orphan.wait()


def _children_of(parent: int) -> list[int]:
    return [pid for pid, ppid, _ in _processes() if ppid == parent]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent (or init) to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))
    return state != "Z"


def _processes() -> Iterator[tuple[int, int, list[bytes]]]:
    """(pid, parent pid, command line) of every process (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        yield int(entry.name), int(ppid), command


def _delivery_workers_of(parent: int) -> list[int]:
    """Pids of `flask webhooks deliver` processes whose parent is ``parent`` (Linux /proc)."""
    return [
        pid
        for pid, ppid, command in _processes()
        if ppid == parent and b"webhooks" in command and b"deliver" in command
    ]


# Gunicorn's web workers


def test_a_burst_of_connections_is_shared_by_both_web_workers(app: Flask) -> None:
    # With gunicorn's default, the first worker to wake may take every connection of a
    # burst and leave the other worker (and its core) idle; the shipped settings cap a
    # worker at twice its threads, so 8 connections to 2 workers of 2 threads are 4 and 4.
    import psutil

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _environment(app, WEBHOOK_WORKER="false")
    env.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2", GUNICORN_THREADS="2")
    master = start_gunicorn(env)
    burst: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 90
        while len(psutil.Process(master.pid).children()) < 2 or not _answers(port):
            assert time.monotonic() < deadline, "gunicorn's workers did not start"
            time.sleep(0.2)
        # Clients that connect at once and have not sent their request yet.
        burst = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(8)]
        while True:
            held = sorted(_connections_held(worker, port) for worker in _web_workers(master))
            if sum(held) == 8 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        for client in burst:
            client.close()
        master.send_signal(signal.SIGTERM)
        master.wait(60)
    assert held == [4, 4]


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    except requests.ConnectionError:
        return False


def _web_workers(master: subprocess.Popen[bytes]) -> list[Any]:
    import psutil

    return list(psutil.Process(master.pid).children())


def _connections_held(worker: Any, port: int) -> int:
    import psutil

    return sum(
        1
        for held in worker.net_connections("tcp")
        if held.laddr.port == port and held.status == psutil.CONN_ESTABLISHED
    )
