"""What each type of step does with a visit: one table for the customer's journey and the
console's preview, so a new step type is wired in once.

A handler reads the step's form and either finishes the step or shows it again. Where the
two walks differ (the customer's answers are recorded and the connect step signs in with
the platform; a preview keeps its answers in the colleague's session and signs in nowhere)
it asks its :class:`Walk`: ``CustomerWalk`` in ``app/journey/views.py``, ``PreviewWalk`` in
``app/admin/journeys_preview.py``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol, cast

from flask import request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app import clock
from app.connections.oauth import ProviderConfig, provider_config
from app.consent import ledger
from app.engine import review, steps
from app.engine.schema import (
    ConsentStep,
    FormStep,
    Journey,
    PlatformSelectStep,
    Step,
    UploadStep,
)
from app.journey.forms import (
    ConnectInsteadForm,
    ContinueForm,
    UploadForm,
    UploadInsteadForm,
    consent_form,
    kinds_text,
    not_listed_form,
    platform_form,
    step_form,
)
from app.platforms import Platform, get_platform, is_available

StepResponse = Response | tuple[str, int]
# The software step offers a search box when more platforms than this are offered.
SEARCH_FROM = 4
SEARCH_MAX_LENGTH = 100


class Walk(Protocol):
    """One walk through a journey: a customer's run or a colleague's preview."""

    @property
    def run(self) -> steps.Progress: ...

    @property
    def journey(self) -> Journey: ...

    @property
    def lists_unavailable(self) -> bool:
        """Whether platforms not configured here are listed (marked so) beside the rest:
        in the console's preview, never to a customer."""

    def page(self, step: Step, form: Any, **context: Any) -> StepResponse:
        """The step's page with ``form`` (422 when the form has errors); a step whose
        page needs no form (a continue step's, shown) passes None."""

    def complete(self, step: Step, answers: dict[str, Any]) -> StepResponse:
        """Finish ``step`` with ``answers`` and go on to the step that follows."""

    def go_to(self, step: Step) -> StepResponse:
        """Send the visitor to ``step`` without finishing anything."""

    def said_not_listed(self, step: PlatformSelectStep, software: str) -> StepResponse:
        """The customer named their software, not among the step's platforms: keep it
        (without finishing the step) and show the step again, thanking them."""

    def choose_upload(self) -> StepResponse:
        """The customer will upload their accounts instead of connecting: on to the
        journey's fallback upload step."""

    def choose_connect(self) -> StepResponse:
        """The customer goes back to connecting their software instead of uploading."""

    def missing_consent(self, step: UploadStep) -> list[str]:
        """The consent items covering the upload step that are not granted."""

    def uploaded(self, step: UploadStep, form: Any) -> StepResponse:
        """The files checked by ``form`` are kept (by a customer's walk) and the step done."""

    def decide_consent(
        self, step: ConsentStep, granted: set[str], declined: bool, duration: str | None = None
    ) -> StepResponse:
        """The consent step's decision: ``granted`` items for the ``duration`` chosen
        (where the journey asks), or ``declined`` them all."""

    def answers_refused(self, step: FormStep, form: Any) -> None:
        """A form step's answers did not validate (the customer's journey notes it)."""

    def connect(
        self, step: Step, platform: Platform, provider: ProviderConfig, instructions: str | None
    ) -> StepResponse:
        """The connect step for the platform chosen, whose OAuth client is configured, with
        how to connect it when no instructions step came first."""

    def done(self, step: Step) -> StepResponse:
        """The last step's page."""


def _continue_step(walk: Walk, step: Step) -> StepResponse:
    # Its page shows a plain button (as "finish later" does): the form that checks the
    # press is built only when one comes (building it was a tenth of a step page's time).
    form = ContinueForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        return walk.complete(step, {"seen": True})
    return walk.page(step, form, **review.continue_step_context(walk.run, walk.journey, step))


def _consent_step(walk: Walk, step: Step) -> StepResponse:
    step = cast(ConsentStep, step)
    earlier = steps.answers_for(walk.run, step.id)
    form = consent_form(
        walk.journey,
        step,
        walk.run.locale,
        granted=set(earlier.get("granted", [])),
        duration=earlier.get("duration"),
    )
    if form.validate_on_submit():
        # Declining refuses every item, whatever was ticked before pressing it.
        declined = bool(form.declining)
        if declined:
            return walk.decide_consent(step, set(), True)
        return walk.decide_consent(step, form.granted(), False, form.chosen_duration())
    # Where the customer chooses how long, the choice says it instead.
    lifetime = None if walk.journey.policy.durations else walk.journey.policy.lifetime_days
    return walk.page(
        step,
        form,
        labels=ledger.labels(),
        agreement=ledger.agreement_statement(),
        until=clock.now() + timedelta(days=lifetime) if lifetime else None,
    )


def offered_platforms(step: PlatformSelectStep) -> tuple[list[Platform], list[Platform]]:
    """The step's platforms that can be connected here, and those not available yet."""
    offered = [p for key in step.platforms if (p := get_platform(key))]
    return [p for p in offered if is_available(p)], [p for p in offered if not is_available(p)]


def folded(text: str) -> str:
    """``text`` as a search compares it: accents dropped, case folded ("Café" -> "cafe")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def matching(platforms: list[Platform], query: str) -> list[Platform]:
    """The platforms whose name contains ``query``, ignoring case and accents."""
    wanted = folded(query)
    return [p for p in platforms if wanted in folded(p.name)]


def upload_offer(walk: Walk) -> UploadInsteadForm | None:
    """ "Upload my accounts instead", where the journey has a fallback upload step."""
    return UploadInsteadForm() if walk.journey.fallback_upload is not None else None


def chose_upload(offer: UploadInsteadForm | None) -> bool:
    """Whether this visit pressed "Upload my accounts instead" (with a valid CSRF token)."""
    return (
        offer is not None
        and request.method == "POST"
        and "upload_instead" in request.form
        and offer.validate_on_submit()
    )


def _platform_step(walk: Walk, step: Step) -> StepResponse:
    step = cast(PlatformSelectStep, step)
    offer = upload_offer(walk)
    if chose_upload(offer):
        return walk.choose_upload()
    available, unavailable = offered_platforms(step)
    earlier = steps.answers_for(walk.run, step.id)
    form = platform_form(available)
    named = earlier.get(steps.NOT_LISTED)
    not_listed = not_listed_form(walk.journey.business.name, named) if step.not_listed else None
    # The form posted, whose errors the page sums up: a platform's button, or the name
    # of software that isn't listed.
    posted: Any = form
    if not_listed is not None and request.method == "POST" and "software" in request.form:
        posted = not_listed
        if not_listed.validate_on_submit():
            return walk.said_not_listed(step, not_listed.software.data)
    elif form.validate_on_submit():
        # Software named as not listed stays with the answer: choosing changes only that.
        kept = {steps.NOT_LISTED: named} if named else {}
        return walk.complete(step, {"platform": form.platform.data, **kept})
    query = request.args.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    listed = available + (unavailable if walk.lists_unavailable else [])
    return walk.page(
        step,
        posted,
        choice=form,
        not_listed_form=not_listed,
        # Just named (the page shown again after naming it): thank the customer.
        told=named if not_listed is not None and request.args.get("told") == "1" else None,
        upload_offer=offer,
        platforms=available,
        unavailable=unavailable if walk.lists_unavailable else [],
        # Every platform is listed; those the search leaves out are hidden (the script
        # that filters as the customer types shows them again).
        matches={p.key for p in matching(listed, query)},
        chosen=steps.answers_for(walk.run, step.id).get("platform"),
        query=query,
        searchable=len(available) > SEARCH_FROM,
        offered=len(available),
    )


def _form_step(walk: Walk, step: Step) -> StepResponse:
    step = cast(FormStep, step)
    form = step_form(walk.journey, step, walk.run.locale, steps.answers_for(walk.run, step.id))
    if form.validate_on_submit():
        return walk.complete(step, form.answers())
    if form.errors:
        walk.answers_refused(step, form)
    return walk.page(step, form)


def _connect_step(walk: Walk, step: Step) -> StepResponse:
    if chose_upload(upload_offer(walk)):
        return walk.choose_upload()
    platform = steps.chosen_platform(walk.run, walk.journey)
    provider = provider_config(platform.key) if platform else None
    if platform is None or provider is None:
        return walk.go_to(walk.journey.first_of("platform_select") or walk.journey.steps[0])
    return walk.connect(
        step, platform, provider, instructions=review.connect_instructions(walk.journey, platform)
    )


def _upload_step(walk: Walk, step: Step) -> StepResponse:
    step = cast(UploadStep, step)
    back = ConnectInsteadForm() if step.fallback else None
    if (
        back is not None
        and request.method == "POST"
        and "connect_instead" in request.form
        and back.validate_on_submit()
    ):
        return walk.choose_connect()
    missing = walk.missing_consent(step)
    form = UploadForm(step)
    if missing:
        # Files are shared only under the consent that covers them: nothing is kept.
        needed = _item_names(walk, missing)
        if request.method == "POST":
            form.files.errors = [
                _("To upload files, first agree to share: %(items)s", items=needed)
            ]
    elif form.validate_on_submit():
        return walk.uploaded(step, form)
    return walk.page(
        step,
        form,
        connect_instead=back,
        missing_consent=_item_names(walk, missing) if missing else None,
        consent_step=walk.journey.first_of("consent"),
        kinds=kinds_text(step),
    )


def _item_names(walk: Walk, keys: list[str]) -> str:
    """The consent items with these keys, as the customer read them."""
    return ", ".join(
        walk.journey.text(item.category, walk.run.locale)
        for consent in walk.journey.steps
        if isinstance(consent, ConsentStep)
        for item in consent.items
        if item.key in keys
    )


def _done_step(walk: Walk, step: Step) -> StepResponse:
    return walk.done(step)


STEP_HANDLERS: dict[str, Callable[[Walk, Step], StepResponse]] = {
    "welcome": _continue_step,
    "instructions": _continue_step,
    "review": _continue_step,
    "consent": _consent_step,
    "platform_select": _platform_step,
    "form": _form_step,
    "connect": _connect_step,
    "upload": _upload_step,
    "done": _done_step,
}


def handle(walk: Walk, step: Step) -> StepResponse:
    """Answer a visit to ``step`` (one the engine allows) as its type says."""
    return STEP_HANDLERS[step.type](walk, step)
