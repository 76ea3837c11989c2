"""Save and finish later: a fresh link back to the run, emailed or shown to keep.

Answers are saved step by step already; finishing later only needs a way back in. The
link is the same signed journey link the business sends (app/links.py): opening it
resumes the run at the step reached, in any browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from app import clock, mail
from app.dates import when
from app.engine import events, steps
from app.engine.schema import Journey
from app.extensions import db
from app.links import journey_link
from app.models import JourneyRun

EMAILED = "link emailed"
SHOWN = "link shown"
# The email was asked for too often: the link was shown instead.
SHOWN_NOT_EMAILED = "link shown, email limit reached"


@dataclass(frozen=True)
class ResumeLink:
    url: str
    days: int
    expires_at: datetime


def resume_link(run: JourneyRun) -> ResumeLink:
    """A fresh link that resumes ``run`` at the step reached, in the run's language."""
    age = int(current_app.config["LINK_MAX_AGE_SECONDS"])
    url = journey_link(run.customer.public_id, run.journey_id, run.locale)
    return ResumeLink(url, age // 86400, clock.now() + timedelta(seconds=age))


def email_address(run: JourneyRun) -> str | None:
    """Where the link can be emailed: None without a mail server or an address."""
    customer = run.customer
    if not mail.enabled() or customer.erased_at is not None or not customer.email:
        return None
    return customer.email


def may_save(run: JourneyRun, journey: Journey) -> bool:
    """Only a journey still under way can be finished later."""
    return run.status == "active" and steps.current_step(run, journey).type != "done"


def save(run: JourneyRun, journey: Journey, *, email: bool) -> str:
    """Note that the customer will finish later and, with ``email``, queue the link to
    their address in the run's language; returns what happened (the event's detail).
    Commits."""
    step = steps.current_step(run, journey)
    address = email_address(run) if email else None
    if address is not None:
        link = resume_link(run)
        with force_locale(run.locale):
            business = journey.business.name
            subject = _("Your link to carry on with %(business)s", business=business)
            text = render_template(
                "email/finish_later.txt",
                business=business,
                link=link.url,
                days=link.days,
                until=when(link.expires_at),
            )
        mail.queue("finish_later", address, subject, text, customer_id=run.customer_id)
        detail = EMAILED
    else:
        detail = SHOWN if email or email_address(run) is None else SHOWN_NOT_EMAILED
    events.saved_for_later(run, step.id, detail)
    db.session.commit()
    return detail


def mask(address: str) -> str:
    """``address`` partly hidden, enough for its owner to recognise: ``o•••@acme.example``."""
    local, at, domain = address.partition("@")
    if not at:
        return "•••"
    return f"{local[:1]}•••@{domain}"
