"""A customer's decision on a consent step, as one service call."""

from __future__ import annotations

from app.consent import ledger, receipts
from app.engine import steps
from app.engine.schema import ConsentStep, Journey, Step
from app.models import JourneyRun


def decide_consent_step(
    run: JourneyRun,
    journey: Journey,
    step: ConsentStep,
    granted: set[str],
    *,
    declined: bool,
    evidence: ledger.Evidence,
    duration: str | None = None,
) -> Step | None:
    """Record the step's decisions in the ledger, sign the receipt for the grants, queue
    its email and move the run on (or hold it, declined), in one transaction committed
    here. Returns the step to show next, or None when the customer declined.
    ``duration`` is how long the customer chose to share, where the journey asks.

    The run's move (``steps.decline`` or ``steps.complete_step``) commits the records,
    the receipt and its email with it.
    """
    records = ledger.record_decisions(
        run, journey, step, set() if declined else granted, evidence, None if declined else duration
    )
    receipt = receipts.issue_receipt(run, records)
    if receipt is not None:
        # Into the mail outbox with the records: the worker sends it, so the consent
        # stands, and the page answers, whatever the mail server does.
        receipts.email_receipt(receipt)
    if declined:
        steps.decline(run, step)
        return None
    return steps.complete_step(run, journey, step, consent_answers(granted, duration))


def consent_answers(granted: set[str], duration: str | None) -> dict[str, object]:
    """What a consent step keeps among the run's answers: the items granted, and how long
    the customer chose to share them (shown selected when they come back)."""
    answers: dict[str, object] = {"granted": sorted(granted)}
    if duration is not None:
        answers["duration"] = duration
    return answers
