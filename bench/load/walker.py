"""One customer walking the default journey over HTTP from start to finish, as a browser
would: the business's backend makes them a link with the JSON API, then they open it,
read each page and submit its form (CSRF token and all), sign in on the Sandbox's own
pages, choose an organisation, approve, come back through the OAuth callback and land
on the done page.

The walker knows the journey, not the network: it asks ``send`` for every request, so
that locust (locustfile.py) can time each one under its step's name, and a test can
drive one customer through it (tests/integration/test_load_walker.py). Redirects are
followed here, one request at a time, so each is timed under its own step.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

# The Sandbox's published demo login (app/sandbox/data.py), as a customer would type it.
SANDBOX_LOGIN = {"email": "demo@sandbox.test", "password": "sandbox-demo", "sign_in": "Sign in"}
# Where the Sandbox asks the customer to sign in and approve.
AUTHORIZE = "/sandbox/authorize"


class Answer(Protocol):
    """What the walker reads of a response (requests' and locust's have it)."""

    status_code: int
    headers: Mapping[str, str]
    text: str


class Send(Protocol):
    """Make one request and answer it, without following redirects. ``name`` is the
    step it belongs to; a working server answers with ``expect``, and redirects to a
    path that starts with ``leads_to`` (see ``unexpected``)."""

    def __call__(
        self, method: str, url: str, *, name: str, expect: int, leads_to: str, **kwargs: Any
    ) -> Answer: ...


class JourneyBroken(Exception):
    """The server answered a step otherwise than a working one does: the journey stops."""


@dataclass
class Form:
    """One ``<form>``: where it posts and what a browser sends with it untouched."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)
    # Every radio button's value, by its group's name.
    choices: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class ConsentItem:
    """An item on the consent screen; ``checkbox`` is None when "Agree" grants it."""

    checkbox: str | None = None


class PageReader(HTMLParser):
    """The forms of a page, and the items of a consent screen."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.consent_items: list[ConsentItem] = []
        self._form: Form | None = None
        self._item: ConsentItem | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(action=found.get("action", ""))
            self.forms.append(self._form)
        elif tag == "li" and "consent-item" in found.get("class", "").split():
            self._item = ConsentItem()
            self.consent_items.append(self._item)
        elif tag == "input" and self._form is not None:
            self._read_input(self._form, found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "li":
            self._item = None

    def _read_input(self, form: Form, found: dict[str, str]) -> None:
        name, kind = found.get("name", ""), found.get("type", "text")
        if kind == "hidden":
            form.fields[name] = found.get("value", "")
        elif kind == "radio":
            form.choices.setdefault(name, []).append(found.get("value", ""))
        elif kind == "checkbox" and self._item is not None:
            self._item.checkbox = name


@dataclass
class Page:
    """A page the customer is on: its address and what it shows."""

    url: str
    reader: PageReader

    def form(self, action_path: str) -> Form:
        for form in self.reader.forms:
            if urlsplit(urljoin(self.url, form.action)).path == action_path:
                return form
        raise JourneyBroken(f"{urlsplit(self.url).path} shows no form posting to {action_path}")


@dataclass
class Decisions:
    """What one customer decided on the consent screen: how many items each way."""

    external_id: str
    granted: int = 0
    declined: int = 0


@dataclass
class JourneyWalker:
    """One customer, one whole journey of the default journey (journeys/default.yaml)."""

    base_url: str
    api_key: str
    send: Send
    # Before acting on a page, the customer reads it: a wait under locust, none in a test.
    pause: Callable[[], None] = lambda: None
    # How likely the customer ticks each optional consent item.
    optional_share: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    external_id: str = field(default_factory=lambda: f"load-{uuid.uuid4().hex}")
    # Set once the server has recorded the consent step (it answered with the next step).
    decisions: Decisions | None = None
    completed: bool = False

    def walk(self) -> None:
        """From the link to the done page; JourneyBroken names the step that failed."""
        page = self._open(self._new_link(), "step: open link", "/journey/welcome")
        page = self._submit(page, "welcome", {"submit": "Get started"}, "/journey/consent")
        page = self._consent(page)
        page = self._submit(page, "software", {"platform": "sandbox"}, "/journey/connect")
        authorize = self._post_form(page, "/journey/connect", "step: connect", {}, AUTHORIZE)
        page = self._sign_in(authorize)
        callback = self._approve(page)
        self._open(callback, "step: callback", "/journey/done")
        self.completed = True

    # The business's backend ------------------------------------------------------

    def _new_link(self) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        customer = {"name": "Load Test Ltd", "email": f"{self.external_id}@load.example"}
        api = f"{self.base_url}/api/v1/customers/{self.external_id}"
        self._send("PUT", api, "api: create customer", 201, json=customer, headers=headers)
        made = self._send("POST", f"{api}/links", "api: create link", 201, json={}, headers=headers)
        return str(json.loads(made.text)["url"])

    # The customer's browser ------------------------------------------------------

    def _consent(self, page: Page) -> Page:
        """Agree, ticking each optional item or not. The items "Agree and continue" grants
        are those without a checkbox (the journey's ``agreement: button``)."""
        items = page.reader.consent_items
        if not items:
            raise JourneyBroken("the consent step shows no consent items")
        ticked = {
            item.checkbox: "y"
            for item in items
            if item.checkbox and self.rng.random() < self.optional_share
        }
        answers = {**ticked, "agree": "Agree and continue"}
        software = self._post_form(
            page, "/journey/consent", "step: consent", answers, "/journey/software"
        )
        # Answered with the next step: the decisions are in the ledger.
        declined = sum(1 for item in items if item.checkbox and item.checkbox not in ticked)
        self.decisions = Decisions(self.external_id, len(items) - declined, declined)
        return self._get(software, "step: software")

    def _submit(self, page: Page, step: str, answers: dict[str, str], leads_to: str) -> Page:
        """Post the step's form and open the page it leads to."""
        following = self._post_form(page, f"/journey/{step}", f"step: {step}", answers, leads_to)
        return self._get(following, f"step: {_step_of(following)}")

    def _sign_in(self, authorize: str) -> Page:
        """The Sandbox's sign-in page, then its "Choose an organisation" screen."""
        page = self._get(authorize, "sandbox: sign-in page")
        after = self._post_form(
            page, AUTHORIZE, "sandbox: sign in", SANDBOX_LOGIN, AUTHORIZE, expect=302
        )
        return self._get(after, "sandbox: consent screen")

    def _approve(self, page: Page) -> str:
        """Choose one of the login's organisations and approve: the callback's address."""
        organisations = page.form(AUTHORIZE).choices.get("organisation")
        if not organisations:
            raise JourneyBroken("the Sandbox offers no organisation to choose")
        answers = {"organisation": self.rng.choice(organisations), "approve": "Approve"}
        return self._post_form(
            page, AUTHORIZE, "sandbox: approve", answers, "/connect/sandbox/callback", expect=302
        )

    def _post_form(
        self,
        page: Page,
        action_path: str,
        name: str,
        answers: dict[str, str],
        leads_to: str,
        expect: int = 303,
    ) -> str:
        """Submit the page's form that posts to ``action_path``: where it redirects to."""
        form = page.form(action_path)
        self.pause()
        answer = self._send(
            "POST",
            urljoin(page.url, form.action),
            name,
            expect,
            leads_to,
            data={**form.fields, **answers},
        )
        return urljoin(page.url, answer.headers["Location"])

    def _open(self, url: str, name: str, leads_to: str) -> Page:
        """A link that redirects: follow it to the page it leads to."""
        answer = self._send("GET", url, name, 303, leads_to)
        following = urljoin(url, answer.headers["Location"])
        return self._get(following, f"step: {_step_of(following)}")

    def _get(self, url: str, name: str) -> Page:
        answer = self._send("GET", url, name, 200)
        reader = PageReader()
        reader.feed(answer.text)
        return Page(url, reader)

    def _send(
        self, method: str, url: str, name: str, expect: int, leads_to: str = "", **kwargs: Any
    ) -> Answer:
        answer = self.send(method, url, name=name, expect=expect, leads_to=leads_to, **kwargs)
        problem = unexpected(answer, expect, leads_to)
        if problem:
            raise JourneyBroken(f"{name}: {problem}")
        return answer


def unexpected(answer: Answer, expect: int, leads_to: str = "") -> str:
    """What is wrong with an answer (nothing: ""): its status is not ``expect``, or it
    redirects elsewhere than to a path starting with ``leads_to``."""
    if answer.status_code != expect:
        return f"HTTP {answer.status_code}, expected {expect}"
    went = urlsplit(answer.headers.get("Location", "")).path
    if leads_to and not went.startswith(leads_to):
        return f"led to {went or 'nowhere'}, expected {leads_to}"
    return ""


def _step_of(url: str) -> str:
    """The journey step a /journey/<step> address shows."""
    return urlsplit(url).path.rsplit("/", 1)[-1]
