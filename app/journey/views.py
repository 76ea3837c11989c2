"""The customer journey: one generic step view; the engine decides where the customer may be."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from htmx_flask import request
from jinja2_fragments.flask import render_block
from limits import parse as parse_limit
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.connections import authorization as connections
from app.connections import delegation as delegations
from app.connections import uploads
from app.connections.oauth import ProviderConfig
from app.consent import ledger, receipts
from app.consent.decisions import decide_consent_step
from app.customers import journey_links
from app.engine import feedback, finish_later, steps
from app.engine.branding import logo_response, stylesheet_response
from app.engine.messages import explain_failure
from app.engine.registry import get_journey
from app.engine.schema import (
    ConnectStep,
    ConsentStep,
    FormStep,
    Journey,
    PlatformSelectStep,
    Step,
    UploadStep,
)
from app.engine.versions import journey_for_run, kept_journey
from app.errors import render_error
from app.extensions import limiter
from app.input_guard import signed_path
from app.journey import embed
from app.journey.customer_access import customer_journey
from app.journey.forms import (
    ConnectForm,
    FeedbackForm,
    FinishLaterForm,
    LanguageForm,
    ReconsiderForm,
    RevokeDelegationForm,
    delegate_form,
    organisation_form,
)
from app.journey.handlers import StepResponse, handle
from app.journey.run_access import (
    browser_marker,
    current_run,
    remember_authorization,
    remember_run,
    start_from_link,
)
from app.links import LinkExpired, LinkInvalid, read_token
from app.models import JourneyRun
from app.platforms import Platform, get_platform
from app.security import allow_form_action, allow_framing, send_uncompressed
from app.urls import remembered, safe_path

bp = Blueprint("journey", __name__)

# htmx names the element a request will swap as "tag#id".
FRAGMENT_TARGET = "div#journey"
# Emails with a link to finish later, per journey run: enough for a slip or two.
FINISH_LATER_EMAIL_LIMIT = parse_limit("5 per hour")
# What "Save and finish later" did last in this browser: {"run": public id, "how": ...}.
SESSION_FINISH_LATER = "finish_later"
# Pages that need no journey run in this browser.
OPEN_ENDPOINTS = {"journey.open_link", "journey.theme", "journey.logo"}


@bp.get("/j/<token>")
@signed_path
def open_link(token: str) -> StepResponse:
    """A customer arrives from their link: start or resume their journey."""
    try:
        claims = read_token(token)
    except LinkExpired:
        return render_error(
            410,
            _("This link has expired"),
            _(
                "Journey links work for a limited time. "
                "Ask the business that sent it for a new one."
            ),
        )
    except LinkInvalid:
        return render_error(
            400,
            _("This link isn't valid"),
            _(
                "It may have been copied incompletely. Open the link from your message again, "
                "or ask the business that sent it for a new one."
            ),
        )
    origin = None
    if "embed" in request.args:
        # Checked before anything starts: a refused frame changes nothing.
        journey = get_journey(claims.journey_id)
        origin = embed.allowed_origin(journey, request.args["embed"]) if journey else None
        if origin is None:
            return render_error(
                400,
                _("This journey can't be shown on this site"),
                _("Open the link you were sent in its own browser tab instead."),
            )
    # A link made in the console or the API has a record: it may be withdrawn or kept by
    # another browser. Other links (older ones, finish-later links) have none.
    opening = journey_links.Opening.OPEN
    if claims.link_id:
        opening = journey_links.open_link(claims.link_id, browser_marker())
    if opening in (journey_links.Opening.REVOKED, journey_links.Opening.USED_ELSEWHERE):
        return _link_stopped(opening, claims.journey_id)
    run = None
    if opening is journey_links.Opening.OPEN:
        run = start_from_link(claims, request.args.get("lang"))
    if run is None:
        return render_error(
            404,
            _("This link is no longer in use"),
            _("Ask the business that sent it for a new one."),
        )
    remember_run(run)
    if origin is not None:
        embed.start_embedding(run, origin)
    else:
        embed.stop_embedding()
    # Straight to the page the customer is on: one redirect from their link.
    journey = journey_for_run(run)
    return _where_they_are(run, journey) if journey else redirect(url_for(".resume"), 303)


def _link_stopped(opening: journey_links.Opening, journey_id: str) -> StepResponse:
    """A kept link that was withdrawn, or that another browser keeps: said in the
    business's name, with how to ask it for a new one."""
    journey = get_journey(journey_id)
    if journey is None:
        return render_error(410)
    business = journey.business.name
    if opening is journey_links.Opening.REVOKED:
        title = _("This link was withdrawn")
        message = _(
            "%(business)s withdrew this link, so it no longer opens your journey. They may "
            "have sent you a newer one: look for a more recent email from them.",
            business=business,
        )
    else:
        title = _("This link has already been used")
        message = _(
            "This link works once, in the browser that first opened it. Open it there, or "
            "ask %(business)s for a new one.",
            business=business,
        )
    page = render_template(
        "journey/link_stopped.html", journey=journey, title=title, message=message
    )
    return page, 410


@bp.before_request
def _load_run() -> StepResponse | None:
    """Guard once: every journey page needs the run the customer's link opened."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    run = current_run()
    journey = journey_for_run(run) if run else None
    if run is None or journey is None:
        return render_error(
            403,
            _("Open your link to continue"),
            _(
                "We couldn't find your journey in this browser. Open the link you were sent "
                "(by email or message) and you'll carry on where you left off."
            ),
        )
    g.run, g.journey, g.locale = run, journey, run.locale
    # Journey pages (their error pages too) may sit in the business's own frames.
    allow_framing(journey.integration.allowed_origins)
    return None


# Beyond the files themselves, a multipart post carries the CSRF token and the button.
UPLOAD_FORM_BYTES = 64 * 1024
UPLOAD_FORM_PARTS = 10


def allow_uploads() -> None:
    """Before CSRF protection reads the form: a post to the customer's upload step may be
    as large as the step's files (the app allows 64 KiB otherwise), and hold as many parts."""
    if (
        request.method != "POST"
        or request.endpoint != "journey.step"
        or request.mimetype != "multipart/form-data"
    ):
        return
    run = current_run()
    journey = journey_for_run(run) if run else None
    step = journey.step((request.view_args or {}).get("step_id", "")) if journey else None
    if isinstance(step, UploadStep):
        request.max_content_length = step.max_files * step.max_file_bytes + UPLOAD_FORM_BYTES
        request.max_form_parts = step.max_files + UPLOAD_FORM_PARTS


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> StepResponse:
    """Too many files, or too large: say what the step takes (nothing was kept)."""
    run = current_run()
    journey = journey_for_run(run) if run else None
    step = journey.step((request.view_args or {}).get("step_id", "")) if journey else None
    if not isinstance(step, UploadStep):
        return render_error(413)
    return render_error(
        413,
        _("Too many files, or files too large"),
        _(
            "Nothing was uploaded. Go back and choose at most %(count)d files, each of "
            "%(mb)d MB or less.",
            count=step.max_files,
            mb=step.max_file_mb,
        ),
    )


# Each step page names the same few addresses: built once each.
_url = remembered(url_for)


class CustomerUrls:
    """Where the journey templates link to; the console's preview gives its own."""

    def step(self, step_id: str, **args: Any) -> str:
        return _url("journey.step", step_id=step_id, **args)

    def declined(self) -> str:
        return _url("journey.declined")

    def language(self) -> str:
        return _url("journey.language")

    def theme(self, journey: Journey) -> str:
        return _url("journey.theme", journey_id=journey.id, version=journey.version)

    def logo(self, journey: Journey) -> str:
        return _url("journey.logo", journey_id=journey.id, version=journey.version)


@bp.app_context_processor
def _branding() -> dict[str, Any]:
    """Every customer-facing page finds its business (templates/_branded.html); a page
    that passes its own ``urls`` or ``journey`` (a step, the console's preview) keeps them."""
    return {"customer_journey": customer_journey, "urls": CustomerUrls()}


def _to_current(run: JourneyRun, journey: Journey) -> Response:
    return redirect(url_for(".step", step_id=steps.current_step(run, journey).id), 303)


def _where_they_are(run: JourneyRun, journey: Journey) -> Response:
    """To the page the customer is on: their current step, or the declined page."""
    if run.status == "declined":
        return redirect(url_for(".declined"), 303)
    return _to_current(run, journey)


@bp.get("/journey")
def resume() -> Response:
    return _where_they_are(g.run, g.journey)


@bp.route("/journey/<step_id>", methods=["GET", "POST"])
def step(step_id: str) -> StepResponse:
    run: JourneyRun = g.run
    journey: Journey = g.journey
    current = journey.step(step_id)
    if current is None:
        abort(404)
    if run.status == "declined":
        return redirect(url_for(".declined"), 303)
    if not steps.may_visit(run, journey, current):
        return _to_current(run, journey)
    return handle(CustomerWalk(run, journey), current)


class CustomerWalk:
    """The customer's walk through their run: answers are recorded, connecting signs in."""

    # Platforms not configured here are not offered to customers at all.
    lists_unavailable = False

    def __init__(self, run: JourneyRun, journey: Journey):
        self.run = run
        self.journey = journey

    def page(self, step: Step, form: Any = None, **context: Any) -> StepResponse:
        """A step's page; entering it is noted once, however often it is refreshed."""
        if request.method == "GET":
            steps.step_entered(self.run, step.id)
        if form is not None:
            context["form"] = form
        return _page(
            "journey/step.html",
            _status(form) if form is not None else 200,
            run=self.run,
            journey=self.journey,
            step=step,
            position=steps.position(self.run, self.journey, step),
            **context,
        )

    def complete(self, step: Step, answers: dict[str, Any]) -> StepResponse:
        return _next(steps.complete_step(self.run, self.journey, step, answers))

    def go_to(self, step: Step) -> StepResponse:
        return _next(step)

    def said_not_listed(self, step: PlatformSelectStep, software: str) -> StepResponse:
        steps.software_not_listed(self.run, step, software)
        return redirect(url_for(".step", step_id=step.id, told=1), 303)

    def choose_upload(self) -> StepResponse:
        return _next(steps.choose_upload(self.run, self.journey))

    def choose_connect(self) -> StepResponse:
        return _next(steps.choose_connect(self.run, self.journey))

    def missing_consent(self, step: UploadStep) -> list[str]:
        return uploads.missing_consent(self.run, step)

    def uploaded(self, step: UploadStep, form: Any) -> StepResponse:
        return _next(uploads.store(self.run, self.journey, step, form.checked))

    def decide_consent(
        self, step: ConsentStep, granted: set[str], declined: bool, duration: str | None = None
    ) -> StepResponse:
        evidence = ledger.Evidence(
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
            locale=self.run.locale,
            collection_method=(
                ledger.BY_EMBEDDED_JOURNEY if embed.embedded_origin(self.run) else ledger.BY_JOURNEY
            ),
        )
        following = decide_consent_step(
            self.run,
            self.journey,
            step,
            granted,
            declined=declined,
            evidence=evidence,
            duration=duration,
        )
        if following is None:
            return redirect(url_for(".declined"), 303)
        return _next(following)

    def answers_refused(self, step: FormStep, form: Any) -> None:
        steps.step_failed(self.run, step.id, "invalid answers: " + ", ".join(sorted(form.errors)))

    def connect(
        self, step: Step, platform: Platform, provider: ProviderConfig, instructions: str | None
    ) -> StepResponse:
        run = self.run
        linked = [c for c in connections.run_connections(run) if c.status == "linked"]
        form = ConnectForm()
        if form.validate_on_submit():
            if form.finish.data and linked:
                answers = {"platform": platform.key, "connections": [c.public_id for c in linked]}
                return self.complete(step, answers)
            expected = (steps.reconnecting(run) or {}).get("org_id")
            try:
                started = connections.begin_connection(run, platform.key, expected_org_id=expected)
            except connections.PlatformUnavailable:
                abort(409)
            remember_authorization(run, started.state)
            return redirect(started.url, 303)
        # The post is answered with a redirect to the provider, which form-action governs.
        authorize = urlsplit(provider.authorize_url)
        allow_form_action(f"{authorize.scheme}://{authorize.netloc}")
        latest = connections.latest_connection(run)
        if latest is not None and latest.status == "pending":
            # An attempt interrupted on our side ends here with a reason, not "Check again".
            connections.fail_if_stuck(latest)
        failed = latest is not None and latest.status == "failed"
        handoff = None
        if embed.embedded_origin(run):
            # In a frame the provider opens in a popup (or the whole tab, without JavaScript).
            handoff = {
                mode: embed.handoff_token(run, platform.key, mode) for mode in embed.HANDOFF_MODES
            }
        offered = delegations.offered(self.journey) is not None and not linked
        waiting = delegations.waiting_for(run) if offered else None
        return self.page(
            step,
            form,
            delegate_url=url_for(".delegate") if offered else None,
            waiting=waiting,
            waiting_name=delegations.name_of(waiting) if waiting else None,
            revoke_form=RevokeDelegationForm(
                formdata=None, delegation=waiting.public_id if waiting else ""
            ),
            platform=platform,
            instructions=instructions,
            latest=latest,
            failure=explain_failure(latest.last_error) if latest and failed else None,
            linked=linked,
            reconnect=steps.reconnecting(run),
            handoff=handoff,
            window_closed=request.args.get("closed") == "provider"
            and not (latest and latest.status == "linked"),
            finishing=request.args.get("finishing") == "1"
            and latest
            and latest.status == "pending",
        )

    def done(self, step: Step, feedback_form: FeedbackForm | None = None) -> StepResponse:
        linked = [c for c in connections.run_connections(self.run) if c.status == "linked"]
        return self.page(
            step,
            feedback_form,
            **_feedback_context(self.run, self.journey, feedback_form),
            linked=linked,
            uploaded=uploads.run_uploads(self.run),
            return_link=embed.return_link(self.run, self.journey),
            receipt=receipts.latest_for_run(self.run),
        )


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A journey page, or just its ``#journey`` block when htmx asked to swap that."""
    run: JourneyRun = context["run"]
    journey: Journey = context["journey"]
    origin = embed.embedded_origin(run)
    page = context.get("page") or context["step"].id
    context.update(
        locale=run.locale,
        t=lambda value: journey.text(value, run.locale),
        # The language switcher and "finish later" render plain inputs: no form to build.
        language_next=request.path,
        offer_finish_later=True,
        embed_origin=origin,
        embed_events=embed.pending_events(run, journey, page) if origin else [],
        embed_progress=(
            embed.progress(run, journey, page, saved=template == "journey/later.html")
            if origin
            else None
        ),
        urls=CustomerUrls(),
    )
    if request.htmx and request.htmx.target == FRAGMENT_TARGET:
        # The block is escaped already by the template: escaping again would show &#39;.
        title = render_block(template, "title", **context).strip()
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


def _status(form: Any) -> int:
    return 422 if form.errors else 200


def _next(step: Step) -> Response:
    return redirect(url_for(".step", step_id=step.id), 303)


def _may_email_again(run: JourneyRun) -> bool:
    """Counts an email against the run's hourly allowance (Flask-Limiter's own storage,
    shared by every worker); False once it is used up."""
    if not limiter.enabled:
        return True
    return limiter.limiter.hit(FINISH_LATER_EMAIL_LIMIT, "finish-later", run.public_id)


@bp.post("/journey/later")
def save_for_later() -> Response:
    """Save and finish later: the answers are kept; a link brings the customer back,
    by email when mail can be sent (a few an hour at most), else on the page to keep."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    if not finish_later.may_save(run, journey) or not FinishLaterForm().validate_on_submit():
        return redirect(url_for(".resume"), 303)
    email = finish_later.email_address(run) is not None and _may_email_again(run)
    how = finish_later.save(run, journey, email=email)
    session[SESSION_FINISH_LATER] = {"run": run.public_id, "how": how}
    return redirect(url_for(".later"), 303)


@bp.get("/journey/later")
def later() -> Response:
    """Where the link went: to the customer's inbox, or onto this page to keep."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    saved = session.get(SESSION_FINISH_LATER)
    if (
        not isinstance(saved, dict)
        or saved.get("run") != run.public_id
        or not finish_later.may_save(run, journey)
    ):
        return redirect(url_for(".resume"), 303)
    how = saved.get("how")
    address = finish_later.email_address(run)
    emailed = how == finish_later.EMAILED and address is not None
    current = steps.current_step(run, journey)
    send_uncompressed()  # the page shows a link that opens the journey
    return _page(
        "journey/later.html",
        run=run,
        journey=journey,
        step=current,
        page=current.id,
        emailed=emailed,
        address=finish_later.mask(address) if emailed and address else None,
        link=finish_later.resume_link(run),
        limited=how == finish_later.SHOWN_NOT_EMAILED,
    )


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
        steps.reconsider(run)
        return redirect(url_for(".step", step_id=consent_step.id), 303)
    return _declined_page(run, journey, consent_step, form)


def _declined_page(
    run: JourneyRun,
    journey: Journey,
    consent_step: Step,
    form: ReconsiderForm,
    feedback_form: FeedbackForm | None = None,
) -> Response:
    return _page(
        "journey/declined.html",
        422 if feedback_form is not None and feedback_form.errors else 200,
        run=run,
        journey=journey,
        step=consent_step,
        page=embed.DECLINED_PAGE,
        form=form,
        return_link=embed.return_link(run, journey),
        refusals=receipts.refusals(run),
        **_feedback_context(run, journey, feedback_form),
    )


def _feedback_context(
    run: JourneyRun, journey: Journey, form: FeedbackForm | None
) -> dict[str, Any]:
    """The done and declined pages' feedback form, or their thanks once it was sent."""
    if feedback.page_for(run, journey) is None:
        return {}
    if feedback.given(run) is not None:
        return {"feedback_thanks": True}
    return {"feedback_form": form if form is not None else FeedbackForm(formdata=None)}


@bp.post("/journey/feedback")
def leave_feedback() -> StepResponse:
    """A rating and a line from the done or declined page; once per run (a second one is
    answered with the same thanks, and changes nothing)."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    page = feedback.page_for(run, journey)
    if page is None:
        return redirect(url_for(".resume"), 303)
    form = FeedbackForm()
    if form.validate_on_submit():
        feedback.leave(run, page, int(form.rating.data), form.comment.data)
    elif feedback.given(run) is None:
        if page == "declined":
            consent_step = journey.first_of("consent")
            if consent_step is None:
                return redirect(url_for(".resume"), 303)
            return _declined_page(run, journey, consent_step, ReconsiderForm(formdata=None), form)
        done = journey.first_of("done") or steps.current_step(run, journey)
        return CustomerWalk(run, journey).done(done, form)
    return redirect(url_for(".resume") + "#feedback", 303)


@bp.route("/journey/organisation", methods=["GET", "POST"])
def choose_organisation() -> StepResponse:
    """The platform gave access to several organisations: the customer picks one."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    connection = connections.latest_connection(run)
    connect_step = journey.first_of("connect")
    if connect_step is None or connection is None or connection.status != "pending":
        return _to_current(run, journey)
    if not connection.candidates:
        return _to_current(run, journey)
    form = organisation_form(connection.candidates)
    following = (
        connections.choose_organisation(run, journey, connection, form.organisation.data)
        if form.validate_on_submit()
        else None
    )
    if following is not None:
        return _next(following)
    return _page(
        "journey/organisation.html",
        _status(form),
        run=run,
        journey=journey,
        step=connect_step,
        page="organisation",
        position=steps.position(run, journey, connect_step),
        platform=get_platform(connection.platform),
        form=form,
    )


@bp.get("/journey/embed/status")
def connection_status() -> Response:
    """What became of the sign-in in the provider's window, for the frame that waits on it."""
    run: JourneyRun = g.run
    latest = connections.latest_connection(run)
    next_url = url_for(".resume")
    if latest is None:
        state = "idle"
    elif latest.status == "pending":
        state = "choosing" if latest.candidates else "waiting"
        if latest.candidates:
            next_url = url_for(".choose_organisation")
    else:
        state = latest.status
    response = jsonify(state=state, connection=latest.public_id if latest else None, next=next_url)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/journey/language")
def language() -> Response:
    """The language switcher: every journey page offers the journey's languages."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    form = LanguageForm()
    if form.validate_on_submit():
        steps.change_locale(run, journey, form.locale.data)
    # Back to the page the customer is on. With htmx the header's form keeps the
    # address of the first page loaded, so the Referer (same-origin) says it better.
    referer = urlsplit(request.referrer or "")
    on_this_site = referer.netloc == request.host and referer.path.startswith("/journey")
    target = referer.path if on_this_site else form.next.data
    # Only a path of this journey, never another site (an open redirect).
    return redirect(safe_path(target, under="/journey") or url_for(".resume"), 303)


@bp.get("/journey-theme/<journey_id>/<version>.css")
def theme(journey_id: str, version: str) -> Response:
    """A journey version's colours and font, as CSS custom properties."""
    response = stylesheet_response(_journey_version(journey_id, version).business.brand)
    # The URL names the version, so its content never changes.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/journey-logo/<journey_id>/<version>")
def logo(journey_id: str, version: str) -> Response:
    brand = _journey_version(journey_id, version).business.brand
    return logo_response(brand, current_app.config["JOURNEYS_DIR"], max_age=3600)


def _journey_version(journey_id: str, version: str) -> Journey:
    journey = kept_journey(journey_id, version)
    if journey is None:
        abort(404)
    return journey


# The delegated link just created, shown once to the customer: {"run", "url", "emailed"}.
SESSION_DELEGATED = "delegated_link"


def _delegation_allowed(run: JourneyRun, journey: Journey) -> ConnectStep | None:
    """The connect step, when the customer may ask someone to connect for them now."""
    step = delegations.offered(journey)
    if step is None or run.status != "active" or not steps.may_visit(run, journey, step):
        return None
    if steps.chosen_platform(run, journey) is None:
        return None
    if any(c.status == "linked" for c in connections.run_connections(run)):
        return None
    return step


@bp.route("/journey/delegate", methods=["GET", "POST"])
def delegate() -> StepResponse:
    """'Ask my accountant to do this': who connects for the customer, and a link for them."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    step = _delegation_allowed(run, journey)
    if step is None:
        return redirect(url_for(".resume"), 303)
    form = delegate_form()
    if form.validate_on_submit():
        created = delegations.create(
            run,
            journey,
            step,
            form.name.data,
            form.email.data,
            form.role.data,
            send=True,
        )
        session[SESSION_DELEGATED] = {
            "run": run.public_id,
            "delegation": created.delegation.public_id,
            "url": created.url,
            "emailed": created.emailed,
        }
        return redirect(url_for(".delegate_sent"), 303)
    return _page(
        "journey/delegate.html",
        _status(form),
        run=run,
        journey=journey,
        step=step,
        page="delegate",
        form=form,
        position=steps.position(run, journey, step),
        platform=steps.chosen_platform(run, journey),
    )


@bp.get("/journey/delegate/sent")
def delegate_sent() -> StepResponse:
    """The link to pass on (and whether it was emailed)."""
    run: JourneyRun = g.run
    journey: Journey = g.journey
    shown = session.get(SESSION_DELEGATED)
    delegation = (
        delegations.by_public_id(str(shown.get("delegation")), run.customer)
        if isinstance(shown, dict) and shown.get("run") == run.public_id
        else None
    )
    step = journey.first_of("connect")
    if delegation is None or step is None or not delegations.is_open(delegation):
        return redirect(url_for(".resume"), 303)
    send_uncompressed()  # the page shows a link that opens the journey
    return _page(
        "journey/delegate_sent.html",
        run=run,
        journey=journey,
        step=step,
        page="delegate",
        name=delegations.name_of(delegation),
        link=shown["url"],  # type: ignore[index]
        emailed=bool(shown.get("emailed")),  # type: ignore[union-attr]
        until=delegation.expires_at,
        revoke_form=RevokeDelegationForm(formdata=None, delegation=delegation.public_id),
    )


@bp.post("/journey/delegate/cancel")
def delegate_cancel() -> Response:
    """The customer cancels their request: the link stops working at once."""
    run: JourneyRun = g.run
    form = RevokeDelegationForm()
    if form.validate_on_submit():
        delegation = delegations.by_public_id(form.delegation.data, run.customer)
        if delegation is None:
            abort(404)
        delegations.revoke(delegation, by="customer", actor_id=run.customer.public_id)
        session.pop(SESSION_DELEGATED, None)
    else:
        abort(400)
    return redirect(url_for(".resume"), 303)
