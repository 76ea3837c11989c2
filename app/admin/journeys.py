"""The Journeys screens: every journey and version, each step rendered, diffs, drafts.

Everyone may look (``read``); editing, publishing and discarding drafts needs
``journeys.edit``. The preview lives in ``journeys_preview``.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.guard import requires
from app.admin.journeys_forms import ActionForm, DraftForm
from app.admin.nav import section
from app.admin.scope import current_scope
from app.engine import diff as journey_diff
from app.engine import loading, preview, publishing, versions
from app.engine.registry import broken_files, current_journeys, get_journey
from app.engine.schema import Journey
from app.models import JourneyDraft

section("admin.journeys", "Journeys", permission="settings.read", order=50)


def _journey_or_404(journey_id: str) -> Journey:
    journey = get_journey(journey_id)
    if journey is None:
        abort(404)
    return journey


def _draft_or_404(public_id: str) -> JourneyDraft:
    draft = publishing.find_draft(public_id)
    if draft is None:
        abort(404)
    return draft


def _versions_of(journey_id: str) -> list[versions.VersionSummary]:
    return [v for v in _summaries() if v.journey_id == journey_id]


def _summaries() -> list[versions.VersionSummary]:
    # Run counts of the customers the colleague may see only (scope.py).
    return versions.summaries(current_scope().customer_ids())


@bp.route("/journeys")
@requires("settings.read")
def journeys() -> str:
    current = current_journeys()
    return render_template(
        "admin/journeys/index.html",
        journeys=sorted(current.values(), key=lambda j: j.id),
        origins={journey_id: publishing.origin(journey_id) for journey_id in current},
        versions=_summaries(),
        drafts=publishing.open_drafts(),
        broken=[(exc.path.name, exc.problems) for exc in broken_files()],
    )


@bp.route("/journeys/<journey_id>")
@requires("settings.read")
def journey(journey_id: str) -> str:
    current = _journey_or_404(journey_id)
    return render_template(
        "admin/journeys/journey.html",
        journey=current,
        version=current.version,
        is_current=True,
        origin=publishing.origin(journey_id),
        versions=_versions_of(journey_id),
        drafts=publishing.open_drafts(journey_id),
    )


@bp.route("/journeys/<journey_id>/versions/<version>")
@requires("settings.read")
def journey_version(journey_id: str, version: str) -> str:
    kept = versions.kept_journey(journey_id, version)
    if kept is None:
        abort(404)
    current = get_journey(journey_id)
    return render_template(
        "admin/journeys/journey.html",
        journey=kept,
        version=version,
        is_current=current is not None and current.version == version,
        origin=publishing.origin(journey_id),
        versions=_versions_of(journey_id),
        drafts=[],
    )


def _diff_choices(journey_id: str) -> list[tuple[str, str]]:
    choices = []
    for v in _versions_of(journey_id):
        label = f"{v.version[:12]}{' (current)' if v.current else ''}, {v.runs} run(s)"
        choices.append((v.version, label))
    for d in publishing.open_drafts(journey_id):
        if d.version is not None:
            choices.append((preview.draft_source(d.public_id), f"draft by {d.author}"))
    return choices


def _default_older(journey_id: str, current: Journey, new_source: str) -> str:
    """What ``new_source`` is compared with when no older version is chosen: for a draft,
    the current version; for a kept version, the one kept before it."""
    kept = [v.version for v in _versions_of(journey_id)]
    if new_source not in kept:
        return current.version
    index = kept.index(new_source)
    return kept[index - 1] if index > 0 else new_source


@bp.route("/journeys/<journey_id>/diff")
@requires("settings.read")
def journey_diff_view(journey_id: str) -> Response:
    current = _journey_or_404(journey_id)
    choices = _diff_choices(journey_id)
    new_source = request.args.get("to") or current.version
    old_source = request.args.get("from") or _default_older(journey_id, current, new_source)
    try:
        old = preview.resolve(journey_id, old_source)
        new = preview.resolve(journey_id, new_source)
    except preview.PreviewUnavailable:
        old = new = None
    if old is None or new is None:
        return make_response(
            render_template(
                "admin/journeys/diff.html",
                journey=current,
                choices=choices,
                old_source=old_source,
                new_source=new_source,
                result=None,
            ),
            404,
        )
    return make_response(
        render_template(
            "admin/journeys/diff.html",
            journey=current,
            choices=choices,
            old_source=old_source,
            new_source=new_source,
            result=journey_diff.compare(old, new),
        )
    )


# Drafts ----------------------------------------------------------------------------


def _draft_page(
    form: DraftForm, draft: JourneyDraft | None, problems: list[Any], status: int = 200
) -> Response:
    # With htmx the problems follow the typing; without it they come with each save.
    form.yaml_text.render_kw = {
        **(form.yaml_text.render_kw or {}),
        "hx-post": url_for("admin.check_draft"),
        "hx-trigger": "keyup changed delay:500ms",
        "hx-target": "#draft-problems",
        "hx-swap": "outerHTML",
    }
    html = render_template(
        "admin/journeys/draft.html",
        form=form,
        draft=draft,
        problems=problems,
        can_edit=current_user.can("journeys.edit"),
    )
    return make_response(html, status)


@bp.route("/journey-drafts/new")
@requires("journeys.edit")
def new_draft() -> Response:
    source = request.args.get("from")
    text = publishing.current_yaml(source) if source else None
    if source and text is None:
        abort(404)
    form = DraftForm(formdata=None, yaml_text=text or publishing.NEW_JOURNEY_YAML)
    return _draft_page(form, None, [])


def _save(form: DraftForm, draft: JourneyDraft | None) -> Response:
    text = form.text() if form.validate_on_submit() else None
    if text is None:
        return _draft_page(form, draft, [], 422)
    try:
        saved, checked = publishing.save_draft(text, current_user.email, draft)
    except publishing.DraftError as exc:
        form.yaml_text.data = text
        flash(str(exc), "error")
        return _draft_page(form, draft, exc.problems, 422)
    if checked.problems:
        flash(
            f"Draft saved, with {len(checked.problems)} problem(s) to fix before publishing.",
            "info",
        )
    else:
        flash("Draft saved. It is valid: preview it, then publish it.", "success")
    return redirect(url_for("admin.draft", public_id=saved.public_id), 303)


@bp.route("/journey-drafts", methods=["POST"])
@requires("journeys.edit")
def create_draft() -> Response:
    return _save(DraftForm(), None)


@bp.route("/journey-drafts/<public_id>")
@requires("settings.read")
def draft(public_id: str) -> Response:
    found = _draft_or_404(public_id)
    form = DraftForm(formdata=None, yaml_text=found.yaml_text)
    return _draft_page(form, found, loading.check_yaml(found.yaml_text).problems)


@bp.route("/journey-drafts/<public_id>", methods=["POST"])
@requires("journeys.edit")
def save_draft(public_id: str) -> Response:
    return _save(DraftForm(), _draft_or_404(public_id))


@bp.route("/journey-drafts/check", methods=["POST"])
@requires("journeys.edit")
def check_draft() -> Response:
    """The problems of the YAML typed so far: htmx swaps them in as the editor types."""
    text = request.form.get("yaml_text", "")
    response = make_response(
        render_template(
            "admin/journeys/_problems.html",
            problems=loading.check_yaml(text).problems,
            checked=True,
        )
    )
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@bp.route("/journey-drafts/<public_id>/publish", methods=["POST"])
@requires("journeys.edit")
def publish_draft(public_id: str) -> Response:
    found = _draft_or_404(public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        journey = publishing.publish(found, current_user.email)
    except publishing.DraftError as exc:
        form = DraftForm(formdata=None, yaml_text=found.yaml_text)
        flash(str(exc), "error")
        return _draft_page(form, found, exc.problems, 409)
    flash(f"Published: new runs of {journey.id} now use version {journey.version[:12]}.", "success")
    return redirect(url_for("admin.journey", journey_id=journey.id), 303)


@bp.route("/journey-drafts/<public_id>/discard", methods=["POST"])
@requires("journeys.edit")
def discard_draft(public_id: str) -> Response:
    found = _draft_or_404(public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        publishing.discard(found, current_user.email)
    except publishing.DraftError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.draft", public_id=public_id), 303)
    flash("Draft discarded.", "info")
    return redirect(url_for("admin.journeys"), 303)
