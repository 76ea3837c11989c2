"""The delivery worker's loop: deliver webhooks and queued email that are due, look for
abandoned journeys, lapsing consents, runs past retention and stuck sign-ins, care for
linked connections (refresh ahead of expiry, notice breaks: app/connections/health.py),
ask customers to repair the broken ones, wait, repeat.

Run it with ``flask webhooks deliver`` (gunicorn starts one alongside the app, see
``app/gunicorn_conf.py``). Any number may run at once: deliveries are claimed with a lease.
SIGTERM or SIGINT lets the delivery in hand finish, then the loop ends.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from types import FrameType

from flask import current_app

from app import mail
from app.connections.authorization import fail_stuck_connections
from app.connections.health import care_for_connections
from app.connections.repair import announce_expiring, send_due_reminders
from app.connections.uploads import purge_expired as purge_expired_uploads
from app.customers import expiry
from app.engine.idle import mark_abandoned
from app.engine.retention import purge_abandoned
from app.extensions import db
from app.webhooks.delivery import deliver_due

log = logging.getLogger(__name__)

# journey.abandoned needs no finer timing than this.
ABANDON_CHECK_SECONDS = 60.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run(worker_id: str, stop: threading.Event, *, once: bool = False) -> int:
    """Deliver until ``stop`` is set (or, with ``once``, until nothing is due); returns how many
    attempts were made. Needs an app context."""
    poll = float(current_app.config["WEBHOOK_POLL_SECONDS"])
    care_every = float(current_app.config["CONNECTION_REFRESH_CHECK_SECONDS"])
    last_abandon_check: float | None = None
    last_care: float | None = None
    attempted = 0
    while not stop.is_set():
        try:
            now = time.monotonic()
            if last_abandon_check is None or now - last_abandon_check >= ABANDON_CHECK_SECONDS:
                last_abandon_check = now
                mark_abandoned()
                # Neither do consents lapsing nor retention; and this way they need no cron.
                expiry.run_due()
                purge_abandoned()
                # Uploaded files past their journey's retention.uploads_days.
                purge_expired_uploads()
                # Sign-ins interrupted on our side end as failed, with their event.
                fail_stuck_connections()
            if last_care is None or now - last_care >= care_every:
                last_care = now
                # Tokens refreshed before they expire; breaks noticed and announced (their
                # events are delivered just below).
                care_for_connections()
                # Refresh tokens nearing their absolute expiry: the business is told once.
                announce_expiring()
                # Customers whose connection needs them get a repair email (into the
                # outbox, sent just below): in the same pass that noticed the break.
                send_due_reminders()
            # Queued email goes out as promptly as webhooks do.
            made = deliver_due(worker_id, stop.is_set) + mail.send_due()
        except Exception:
            db.session.rollback()
            if once:
                raise
            # A database restart or the like: say so and keep going; nothing is lost.
            log.exception("webhook delivery pass failed; retrying in %.0f s", poll)
            stop.wait(poll)
            continue
        attempted += made
        if made == 0:
            if once:
                break
            stop.wait(poll)
    db.session.remove()
    return attempted


def stop_when_orphaned(stop: threading.Event, parent_pid: int, interval: float = 1.0) -> None:
    """Set ``stop`` once ``parent_pid`` is no longer this process's parent.

    A supervisor killed outright (kill -9 of the gunicorn master) runs no clean-up, and the
    worker would carry on as an orphan beside the supervisor's replacement. Watching our
    parent pid is portable and what gunicorn's own workers do; the check runs on its own
    thread so a long delivery pass does not delay it.
    """

    def watch() -> None:
        while not stop.wait(interval):
            if os.getppid() != parent_pid:
                log.warning("webhook worker stopping: its parent process %s is gone", parent_pid)
                stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def stop_on_signals(stop: threading.Event) -> None:
    """Let SIGTERM and SIGINT end the loop cleanly (main thread only)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("webhook worker stopping on signal %s", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
