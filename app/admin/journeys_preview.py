"""The journey preview: the customer's own step templates, walked with nothing recorded.

Answers stay in the colleague's session (``app/engine/preview.py``); the connect
step says what would happen and moves on without starting OAuth.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    url_for,
)
from htmx_flask import request
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.guard import requires
from app.admin.journeys_forms import PreviewForm
from app.connections.oauth import ProviderConfig
from app.consent.decisions import consent_answers
from app.engine import preview as service
from app.engine import steps
from app.engine.branding import logo_response, stylesheet_response
from app.engine.schema import (
    ConsentStep,
    DoneStep,
    FormStep,
    Journey,
    PlatformSelectStep,
    Step,
    UploadStep,
)
from app.journey.forms import (
    ConnectForm,
    ContinueForm,
    LanguageForm,
    ReconsiderForm,
)
from app.journey.handlers import StepResponse, handle
from app.platforms import Platform

# htmx names the element a request will swap as "tag#id" (as on the customer's pages).
FRAGMENT_TARGET = "div#journey"
PREFIX = "/journeys/<journey_id>/preview/<source>"
CUSTOMER_TEMPLATES = {
    "admin/journeys/preview_step.html": "journey/step.html",
    "admin/journeys/preview_declined.html": "journey/declined.html",
}


class PreviewUrls:
    """Where the journey templates link to inside a preview."""

    def __init__(self, journey_id: str, source: str, brand: str | None):
        self.args: dict[str, Any] = {"journey_id": journey_id, "source": source}
        self.brand = brand

    def step(self, step_id: str, **args: Any) -> str:
        return url_for("admin.preview_step", step_id=step_id, **self.args, **args)

    def declined(self) -> str:
        return url_for("admin.preview_declined", **self.args)

    def language(self) -> str:
        return url_for("admin.preview_language", **self.args)

    def theme(self, journey: Journey) -> str:
        return url_for("admin.preview_theme", brand=self.brand, **self.args)

    def logo(self, journey: Journey) -> str:
        return url_for("admin.preview_logo", brand=self.brand, **self.args)


def _journey(journey_id: str, source: str) -> Journey:
    try:
        journey = service.resolve(journey_id, source)
    except service.PreviewUnavailable:
        abort(409)
    if journey is None:
        abort(404)
    return journey


def _setup_page(journey: Journey, journey_id: str, source: str, status: int = 200) -> Response:
    form = PreviewForm(formdata=None)
    form.locale.choices = list(journey.locales)
    form.brand.choices = [("", f"This journey's own ({journey.business.name})")] + [
        (j.id, f"{j.business.name} ({j.id})")
        for j in service.brands().values()
        if j.id != journey.id
    ]
    html = render_template(
        "admin/journeys/preview_start.html",
        journey=journey,
        journey_id=journey_id,
        source=source,
        form=form,
    )
    return make_response(html, status)


@bp.route(PREFIX)
@requires("settings.read")
def preview(journey_id: str, source: str) -> Response:
    try:
        journey = service.resolve(journey_id, source)
    except service.PreviewUnavailable as exc:
        html = render_template(
            "admin/journeys/preview_unavailable.html",
            journey_id=journey_id,
            source=source,
            problems=exc.problems,
        )
        return make_response(html, 409)
    if journey is None:
        abort(404)
    return _setup_page(journey, journey_id, source)


@bp.route(PREFIX, methods=["POST"])
@requires("settings.read")
def start_preview(journey_id: str, source: str) -> Response:
    """Start again at the first step, in the language and branding chosen."""
    journey = _journey(journey_id, source)
    form = PreviewForm()
    if not form.validate_on_submit():
        abort(400)
    run = service.start(source, journey, form.locale.data, form.brand.data or None)
    return _to_current(journey, run)


def _to_current(journey: Journey, run: service.PreviewRun) -> Response:
    step = steps.current_step(run, journey)
    return redirect(
        url_for("admin.preview_step", journey_id=journey.id, source=run.source, step_id=step.id),
        303,
    )


@bp.route(PREFIX + "/step/<step_id>", methods=["GET", "POST"])
@requires("settings.read")
def preview_step(journey_id: str, source: str, step_id: str) -> StepResponse:
    journey = _journey(journey_id, source)
    run = service.load(source, journey)
    g.locale = run.locale  # Onramp's own words in the language previewed
    current = journey.step(step_id)
    if current is None:
        abort(404)
    if run.status == "declined":
        return redirect(
            url_for("admin.preview_declined", journey_id=journey_id, source=source), 303
        )
    if not steps.may_visit(run, journey, current):
        return _to_current(journey, run)
    return handle(PreviewWalk(run, journey), current)


def _render(
    template: str,
    run: service.PreviewRun,
    journey: Journey,
    step: Step,
    status: int = 200,
    **context: Any,
) -> Response:
    shown = service.branded(journey, run.brand)
    context.update(
        run=run,
        journey=shown,
        step=step,
        position=steps.position(run, journey, step),
        locale=run.locale,
        t=lambda value: shown.text(value, run.locale),
        language_next="",
        embed_origin=None,
        embed_events=[],
        urls=PreviewUrls(journey.id, run.source, run.brand),
        preview_of={
            "source": run.source,
            "brand": service.brands().get(run.brand or ""),
            "restart": url_for("admin.preview", journey_id=journey.id, source=run.source),
            "back": _back_url(journey, run.source),
        },
    )
    if request.htmx and request.htmx.target == FRAGMENT_TARGET:
        # The customer's template: the preview's only adds the banner around it.
        title = "Preview: " + render_block(CUSTOMER_TEMPLATES[template], "title", **context).strip()
        html = f"<title>{title}</title>" + render_block(
            CUSTOMER_TEMPLATES[template], "journey", fragment=True, **context
        )
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def _back_url(journey: Journey, source: str) -> str:
    """The console page the preview was opened from: the draft's, else the version's."""
    if source.startswith(service.DRAFT_PREFIX):
        return url_for("admin.draft", public_id=source.removeprefix(service.DRAFT_PREFIX))
    return url_for("admin.journey_version", journey_id=journey.id, version=source)


def _next(journey: Journey, run: service.PreviewRun, step: Step) -> Response:
    return redirect(
        url_for("admin.preview_step", journey_id=journey.id, source=run.source, step_id=step.id),
        303,
    )


class PreviewWalk:
    """A colleague's walk through the preview: answers stay in the session, nothing is
    recorded and the connect step signs in nowhere."""

    # Product teams see which of the journey's platforms are not configured here.
    lists_unavailable = True

    def __init__(self, run: service.PreviewRun, journey: Journey):
        self.run = run
        self.journey = journey

    def page(self, step: Step, form: Any, **extra: Any) -> Response:
        if form is not None:
            extra["form"] = form
        return _render(
            "admin/journeys/preview_step.html",
            self.run,
            self.journey,
            step,
            422 if form is not None and form.errors else 200,
            **extra,
        )

    def complete(self, step: Step, answers: dict[str, Any]) -> Response:
        return self.go_to(service.complete(self.run, self.journey, step, answers))

    def go_to(self, step: Step) -> Response:
        return _next(self.journey, self.run, step)

    def said_not_listed(self, step: PlatformSelectStep, software: str) -> Response:
        """Kept in the session like the preview's answers: no event, nothing told."""
        service.note_not_listed(self.run, step, software)
        return redirect(
            PreviewUrls(self.journey.id, self.run.source, self.run.brand).step(step.id, told=1),
            303,
        )

    def choose_upload(self) -> Response:
        return self.go_to(service.choose_upload(self.run, self.journey))

    def choose_connect(self) -> Response:
        return self.go_to(service.choose_connect(self.run, self.journey))

    def missing_consent(self, step: UploadStep) -> list[str]:
        granted = set()
        for consent in self.journey.steps:
            if isinstance(consent, ConsentStep):
                granted |= set(steps.answers_for(self.run, consent.id).get("granted", []))
        return [key for key in step.covered_by if key not in granted]

    def uploaded(self, step: UploadStep, form: Any) -> Response:
        """Checked like a customer's, then forgotten: a preview keeps no file."""
        return self.complete(step, {"files": len(form.checked), "preview": True})

    def decide_consent(
        self, step: ConsentStep, granted: set[str], declined: bool, duration: str | None = None
    ) -> Response:
        if declined:
            service.decline(self.run)
            return redirect(
                url_for(
                    "admin.preview_declined", journey_id=self.journey.id, source=self.run.source
                ),
                303,
            )
        return self.complete(step, consent_answers(granted, duration))

    def answers_refused(self, step: FormStep, form: Any) -> None:
        """A preview records nothing, refused answers neither."""

    def connect(
        self, step: Step, platform: Platform, provider: ProviderConfig, instructions: str | None
    ) -> Response:
        form = ConnectForm()
        if form.validate_on_submit():
            # Nothing is started with the provider: the step finishes as if connected.
            return self.complete(step, {"platform": platform.key, "preview": True})
        authorize = urlsplit(provider.authorize_url)
        return self.page(
            step,
            form,
            platform=platform,
            instructions=instructions,
            latest=None,
            failure=None,
            linked=[],
            reconnect=None,
            handoff=None,
            window_closed=False,
            finishing=False,
            simulated_provider=authorize.netloc,
        )

    def done(self, step: Step) -> Response:
        step = cast(DoneStep, step)
        return_link = str(step.return_url) if step.return_url else None
        return self.page(step, ContinueForm(formdata=None), linked=[], return_link=return_link)


@bp.route(PREFIX + "/declined", methods=["GET", "POST"])
@requires("settings.read")
def preview_declined(journey_id: str, source: str) -> Response:
    journey = _journey(journey_id, source)
    run = service.load(source, journey)
    g.locale = run.locale
    consent_step = journey.first_of("consent")
    if run.status != "declined" or consent_step is None:
        return _to_current(journey, run)
    form = ReconsiderForm()
    if form.validate_on_submit():
        service.reconsider(run)
        return _next(journey, run, consent_step)
    return _render(
        "admin/journeys/preview_declined.html",
        run,
        journey,
        consent_step,
        form=form,
        return_link=None,
    )


@bp.route(PREFIX + "/language", methods=["POST"])
@requires("settings.read")
def preview_language(journey_id: str, source: str) -> Response:
    journey = _journey(journey_id, source)
    run = service.load(source, journey)
    form = LanguageForm()
    if form.validate_on_submit():
        service.change_locale(run, journey, form.locale.data)
    return _to_current(journey, run)


def _brand_journey(journey: Journey) -> Journey:
    return service.branded(journey, request.args.get("brand"))


@bp.route(PREFIX + "/theme.css")
@requires("settings.read")
def preview_theme(journey_id: str, source: str) -> Response:
    return stylesheet_response(_brand_journey(_journey(journey_id, source)).business.brand)


@bp.route(PREFIX + "/logo")
@requires("settings.read")
def preview_logo(journey_id: str, source: str) -> Response:
    brand = _brand_journey(_journey(journey_id, source)).business.brand
    return logo_response(brand, current_app.config["JOURNEYS_DIR"], max_age=0)
