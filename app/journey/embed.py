"""The business's own site meets the journey: return URLs, embedded frames, provider popups.

Hosted mode: the done page (and the declined page) sends the customer back to the
business with ``outcome``, ``customer_id`` and ``connection_id`` added to the URL.

Embedded mode: the journey runs in a frame on one of the journey's
``integration.allowed_origins``. The frame's session (a partitioned cookie, see
``app.security``) remembers that origin and what the host page has been told, so
each page tells it only what changed. The provider's sign-in runs in a popup, a
top-level window that does not share the frame's cookies: a signed handoff token
lets that window start the sign-in for the frame's run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.connections.authorization import latest_connection, run_connections
from app.engine.schema import DoneStep, Journey
from app.extensions import db
from app.models import JourneyRun
from app.security import EMBED_SESSION_KEY

# The status parameters a return URL receives; the URL's own values of these are dropped.
STATUS_PARAMETERS = ("outcome", "customer_id", "connection_id")
# The page name a finished journey reports for its declined page.
DECLINED_PAGE = "declined"

_HANDOFF_SALT = "onramp.embed-handoff.v1"
# Long enough to read the connect page before pressing its button; single-use anyway.
HANDOFF_MAX_AGE_SECONDS = 30 * 60
HANDOFF_MODES = ("popup", "top")


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as the business's return URL and the host page hear it."""

    outcome: str  # linked, declined, failed, completed or incomplete
    customer_id: str
    connection_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        values = {"outcome": self.outcome, "customer_id": self.customer_id}
        if self.connection_id:
            values["connection_id"] = self.connection_id
        return values


def outcome(run: JourneyRun) -> Outcome:
    """The run's outcome; the latest linked connection is the one named."""
    customer_id = run.customer.public_id
    if run.status == "declined":
        return Outcome("declined", customer_id)
    made = run_connections(run)
    linked = [c for c in made if c.status == "linked"]
    if linked:
        return Outcome("linked", customer_id, linked[-1].public_id)
    if made and made[-1].status == "failed":
        return Outcome("failed", customer_id, made[-1].public_id)
    return Outcome("completed" if run.status == "completed" else "incomplete", customer_id)


def return_link(run: JourneyRun, journey: Journey) -> str | None:
    """Where "Return to the business" leads, with the status parameters; None for nowhere.

    A link's return URL is used only while the journey still allows it. The done
    step's own ``return_url`` is the journey author's default.
    """
    base: str | None = None
    if run.return_url and journey.integration.allows_return_to(run.return_url):
        base = run.return_url
    else:
        done = journey.first_of("done")
        if isinstance(done, DoneStep) and done.return_url is not None:
            base = str(done.return_url)
    return with_status(base, outcome(run)) if base else None


def with_status(url: str, result: Outcome) -> str:
    """``url`` with the outcome parameters added, keeping its own query and fragment."""
    parts = urlsplit(url)
    kept = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in STATUS_PARAMETERS
    ]
    query = urlencode([*kept, *result.as_dict().items()])
    return urlunsplit(parts._replace(query=query))


# Embedded mode


def allowed_origin(journey: Journey, asked: str) -> str | None:
    """``asked`` if it is one of the origins the journey may be embedded on."""
    normalised = asked.strip().rstrip("/").lower()
    allowed = {origin.lower(): origin for origin in journey.integration.allowed_origins}
    return allowed.get(normalised)


def start_embedding(run: JourneyRun, origin: str) -> None:
    """Remember, in this frame's session, that it shows ``run`` on ``origin``'s page."""
    session[EMBED_SESSION_KEY] = {"origin": origin, "run": run.public_id}


def stop_embedding() -> None:
    """This browser opened a link on its own: whatever it showed in a frame is over."""
    session.pop(EMBED_SESSION_KEY, None)


def embedded_origin(run: JourneyRun) -> str | None:
    """The host page's origin when this browser shows ``run`` in a frame, else None."""
    state = _state(run)
    return cast(str, state["origin"]) if state else None


def _state(run: JourneyRun) -> dict[str, Any] | None:
    state = session.get(EMBED_SESSION_KEY)
    if not isinstance(state, dict) or state.get("run") != run.public_id:
        return None
    return state


def pending_events(run: JourneyRun, journey: Journey, page: str) -> list[dict[str, Any]]:
    """What the host page has not been told yet, as events for the frame to post.

    ``page`` is the step id shown, or ``declined``. Events carry ids and keys,
    never consent wording, names or tokens.
    """
    state = _state(run)
    if state is None:
        return []
    events: list[dict[str, Any]] = []
    if not state.get("ready"):
        events.append({"type": "ready", "journey_id": journey.id})
        state["ready"] = True
    consent = _consent_summary(run, journey)
    if consent is not None and consent != state.get("consent"):
        events.append({"type": "consent", "decision": consent[0], "granted": consent[1]})
        state["consent"] = consent
    reported: dict[str, str] = state.setdefault("connections", {})
    for connection in run_connections(run):
        if (
            connection.status == "pending"
            or reported.get(connection.public_id) == connection.status
        ):
            continue
        event = {
            "type": "connection",
            "status": connection.status,
            "platform": connection.platform,
            "connection_id": connection.public_id,
        }
        if connection.status == "failed" and connection.last_error:
            event["reason"] = connection.last_error
        events.append(event)
        reported[connection.public_id] = connection.status
    if page != state.get("step"):
        events.append({"type": "step_changed", "step": page})
        state["step"] = page
    done = journey.first_of("done")
    if page == DECLINED_PAGE or (done is not None and page == done.id):
        result = outcome(run)
        if result.outcome != state.get("finished"):
            events.append({"type": "finished", **result.as_dict()})
            state["finished"] = result.outcome
    session.modified = True
    return events


def progress(
    run: JourneyRun, journey: Journey, page: str, *, saved: bool = False
) -> dict[str, Any]:
    """Whether leaving now would cut the customer off mid-journey, for the host page to
    ask before it unloads (``embed/frame.js`` posts it as ``in_progress``).

    Not yet once nothing is answered, nor once the run is done or declined, nor on the
    page that gave the customer a link to finish later.
    """
    done = journey.first_of("done")
    finished = page == DECLINED_PAGE or (done is not None and page == done.id)
    started = bool(run.completed_steps) or bool(run.answers)
    return {
        "in_progress": run.status == "active" and started and not finished and not saved,
        "step": page,
    }


def _consent_summary(run: JourneyRun, journey: Journey) -> list[Any] | None:
    if run.status == "declined":
        return ["declined", []]
    step = journey.first_of("consent")
    if step is None or step.id not in run.answers:
        return None
    granted = run.answers[step.id].get("granted", [])
    return ["granted", sorted(str(key) for key in granted)]


# The provider popup's handoff


class HandoffRefused(Exception):
    """A handoff token that is altered, expired, or already used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Handoff:
    run: JourneyRun
    platform: str
    mode: str  # popup: the frame opened a window; top: the whole tab leaves the host page


def _handoff_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_HANDOFF_SALT)


def _attempt_marker(run: JourneyRun) -> str:
    latest = latest_connection(run)
    return latest.public_id if latest is not None else ""


def handoff_token(run: JourneyRun, platform: str, mode: str) -> str:
    """A token that lets another window start connecting ``platform`` for ``run``.

    It is signed and short-lived, and it is single-use without any storage: it names
    the run's latest connection attempt, and using it starts a new attempt.
    """
    claims = {"r": run.public_id, "p": platform, "m": mode, "a": _attempt_marker(run)}
    return str(_handoff_serializer().dumps(claims))


def read_handoff(token: str) -> Handoff:
    """The run and platform a genuine, unused, unexpired handoff token is for."""
    try:
        data = _handoff_serializer().loads(token, max_age=HANDOFF_MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise HandoffRefused("expired") from exc
    except BadSignature as exc:
        raise HandoffRefused("invalid") from exc
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "rpma"):
        raise HandoffRefused("invalid")
    if data["m"] not in HANDOFF_MODES:
        raise HandoffRefused("invalid")
    run = db.session.scalars(select(JourneyRun).where(JourneyRun.public_id == data["r"])).first()
    if run is None:
        raise HandoffRefused("invalid")
    if run.status != "active" or _attempt_marker(run) != data["a"]:
        raise HandoffRefused("used")
    return Handoff(run, data["p"], data["m"])
