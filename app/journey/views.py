"""The customer journey: one generic step view; the engine decides where the customer may be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, make_response, redirect, render_template, url_for
from htmx_flask import request
from jinja2_fragments.flask import render_block
from markupsafe import escape
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.connections import service as connections
from app.connections.catalogue import Platform, get_platform, is_available
from app.connections.oauth import provider_config
from app.consent import ledger
from app.errors import render_error
from app.extensions import db
from app.journey import engine, events
from app.journey.access import current_run, remember_run
from app.journey.definitions import (
    ConsentStep,
    InstructionsStep,
    Journey,
    PlatformSelectStep,
    Step,
    get_journey,
)
from app.journey.forms import ConnectForm, ContinueForm, ReconsiderForm, consent_form, platform_form
from app.journey.messages import explain_failure
from app.links import LinkExpired, LinkInvalid, read_token
from app.models import Customer, JourneyRun
from app.security import allow_form_action

bp = Blueprint("journey", __name__)

# htmx names the element a request will swap as "tag#id".
FRAGMENT_TARGET = "div#journey"
StepResponse = Response | tuple[str, int]


@bp.get("/j/<token>")
def open_link(token: str) -> StepResponse:
    """A customer arrives from their link: start or resume their journey."""
    try:
        claims = read_token(token)
    except LinkExpired:
        return render_error(
            410,
            "This link has expired",
            "Journey links work for a limited time. Ask the business that sent it for a new one.",
        )
    except LinkInvalid:
        return render_error(
            400,
            "This link isn't valid",
            "It may have been copied incompletely. Open the link from your message again, "
            "or ask the business that sent it for a new one.",
        )
    customer = db.session.scalars(
        select(Customer).where(Customer.public_id == claims.customer_public_id)
    ).first()
    journey = get_journey(claims.journey_id)
    if customer is None or journey is None:
        return render_error(
            404, "This link is no longer in use", "Ask the business that sent it for a new one."
        )
    run = engine.start_or_resume(customer, journey)
    remember_run(run, fresh=True)
    return redirect(url_for(".resume"), 303)


@bp.before_request
def _load_run() -> StepResponse | None:
    """Guard once: every journey page needs the run the customer's link opened."""
    if request.endpoint == "journey.open_link":
        return None
    run = current_run()
    journey = get_journey(run.journey_id) if run else None
    if run is None or journey is None:
        return render_error(
            403,
            "Open your link to continue",
            "We couldn't find your journey in this browser. Open the link you were sent "
            "(by email or message) and you'll carry on where you left off.",
        )
    g.run, g.journey = run, journey
    return None


@bp.get("/journey")
def resume() -> Response:
    run: JourneyRun = g.run
    if run.status == "declined":
        return redirect(url_for(".declined"), 303)
    return redirect(url_for(".step", step_id=run.current_step), 303)


@bp.route("/journey/<step_id>", methods=["GET", "POST"])
def step(step_id: str) -> StepResponse:
    run: JourneyRun = g.run
    journey: Journey = g.journey
    current = journey.step(step_id)
    if current is None:
        abort(404)
    if run.status == "declined":
        return redirect(url_for(".declined"), 303)
    if not engine.may_visit(run, journey, current):
        return redirect(url_for(".step", step_id=run.current_step), 303)
    return STEP_HANDLERS[current.type](run, journey, current)


def _render(
    run: JourneyRun, journey: Journey, step: Step, status: int = 200, **context: Any
) -> Response:
    """A step's page; entering it is noted once, however often it is refreshed."""
    if request.method == "GET":
        events.step_entered(run, step.id)
        db.session.commit()
    position = engine.position(journey, step)
    return _page(
        "journey/step.html",
        status,
        run=run,
        journey=journey,
        step=step,
        position=position,
        **context,
    )


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A journey page, or just its ``#journey`` block when htmx asked to swap that."""
    if request.htmx and request.htmx.target == FRAGMENT_TARGET:
        title = escape(render_block(template, "title", **context).strip())
        html = f"<title>{title}</title>" + render_block(
            template, "journey", fragment=True, **context
        )
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.headers["Vary"] = "HX-Request, HX-Target"
    # Back and forward must ask the server again: it decides which step is allowed.
    response.headers["Cache-Control"] = "no-store"
    return response


def _next(step: Step) -> Response:
    return redirect(url_for(".step", step_id=step.id), 303)


def _continue_step(run: JourneyRun, journey: Journey, step: Step) -> StepResponse:
    form = ContinueForm()
    if form.validate_on_submit():
        following = engine.complete_step(run, journey, step, {"seen": True})
        db.session.commit()
        return _next(following)
    extra: dict[str, Any] = {}
    if isinstance(step, InstructionsStep):
        platform = _chosen_platform(run, journey)
        extra["platform"] = platform
        extra["instructions"] = (
            step.overrides.get(platform.key, platform.instructions) if platform else ""
        )
    return _render(run, journey, step, 422 if form.errors else 200, form=form, **extra)


def _consent_step(run: JourneyRun, journey: Journey, step: Step) -> StepResponse:
    step = cast(ConsentStep, step)
    earlier = engine.answers_for(run, step.id).get("granted", [])
    form = consent_form(step, granted=set(earlier))
    if form.validate_on_submit():
        evidence = ledger.Evidence(
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
            locale=run.locale,
        )
        ledger.record_decisions(run, step, form.granted(), evidence)
        if form.declining:
            engine.decline(run, step)
            db.session.commit()
            return redirect(url_for(".declined"), 303)
        following = engine.complete_step(run, journey, step, {"granted": sorted(form.granted())})
        db.session.commit()
        return _next(following)
    return _render(run, journey, step, 422 if form.errors else 200, form=form)


def _offered_platforms(step: PlatformSelectStep) -> tuple[list[Platform], list[Platform]]:
    offered = [p for key in step.platforms if (p := get_platform(key))]
    return [p for p in offered if is_available(p)], [p for p in offered if not is_available(p)]


def _platform_step(run: JourneyRun, journey: Journey, step: Step) -> StepResponse:
    step = cast(PlatformSelectStep, step)
    available, unavailable = _offered_platforms(step)
    chosen = engine.answers_for(run, step.id).get("platform")
    form = platform_form(available, chosen)
    if form.validate_on_submit():
        following = engine.complete_step(run, journey, step, {"platform": form.platform.data})
        db.session.commit()
        return _next(following)
    return _render(
        run, journey, step, 422 if form.errors else 200, form=form, unavailable=unavailable
    )


def _chosen_platform(run: JourneyRun, journey: Journey) -> Platform | None:
    select_step = journey.first_of("platform_select")
    if select_step is None:
        return None
    return get_platform(engine.answers_for(run, select_step.id).get("platform", ""))


def _connect_step(run: JourneyRun, journey: Journey, step: Step) -> StepResponse:
    platform = _chosen_platform(run, journey)
    provider = provider_config(platform.key) if platform else None
    if platform is None or provider is None:
        select_step = journey.first_of("platform_select")
        return redirect(
            url_for(".step", step_id=select_step.id if select_step else run.current_step), 303
        )
    form = ConnectForm()
    if form.validate_on_submit():
        try:
            url = connections.begin_connection(run, platform.key)
        except connections.PlatformUnavailable:
            abort(409)
        return redirect(url, 303)
    # The post is answered with a redirect to the provider, which form-action governs.
    authorize = urlsplit(provider.authorize_url)
    allow_form_action(f"{authorize.scheme}://{authorize.netloc}")
    latest = connections.latest_connection(run)
    failure = explain_failure(latest.last_error) if latest and latest.status == "failed" else None
    return _render(
        run,
        journey,
        step,
        422 if form.errors else 200,
        form=form,
        platform=platform,
        latest=latest,
        failure=failure,
    )


def _done_step(run: JourneyRun, journey: Journey, step: Step) -> StepResponse:
    connection = next((c for c in reversed(run.connections) if c.status == "linked"), None)
    return _render(run, journey, step, connection=connection)


STEP_HANDLERS: dict[str, Callable[[JourneyRun, Journey, Step], StepResponse]] = {
    "welcome": _continue_step,
    "instructions": _continue_step,
    "consent": _consent_step,
    "platform_select": _platform_step,
    "connect": _connect_step,
    "done": _done_step,
}


@bp.route("/journey/declined", methods=["GET", "POST"])
def declined() -> StepResponse:
    """After a decline: what it means, and a way back to change one's mind."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    consent_step = journey.first_of("consent")
    if run.status != "declined" or consent_step is None:
        return redirect(url_for(".resume"), 303)
    form = ReconsiderForm()
    if form.validate_on_submit():
        engine.reconsider(run)
        db.session.commit()
        return redirect(url_for(".step", step_id=consent_step.id), 303)
    return _page("journey/declined.html", run=run, journey=journey, step=consent_step, form=form)
