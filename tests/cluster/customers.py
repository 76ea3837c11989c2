"""A customer's whole journey over HTTP, as a browser without JavaScript makes it: open the
link, welcome, consent, choose the Sandbox, connect, sign in and approve at the Sandbox,
come back, done. Forms carry their CSRF token; cookies live in a ``requests`` session.

A customer who sees the load balancer's 502/503 (their request was on the instance that
died) presses reload: the same request again, counted as a retry.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from tests.integration.conftest import ALL_CONSENTS, LiveSandbox

# What the customer does, in order; a customer paused "at" step n has done the first n.
STEPS = ("open link", "welcome", "consent", "software", "connect", "provider", "callback")
_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
_GATEWAY_ERRORS = {502, 503, 504}
_MAX_TRIES = 8


@dataclass
class Journey:
    """One customer's browser going through the journey."""

    name: str
    link: str
    lb_url: str
    sandbox: LiveSandbox
    browser: requests.Session = field(default_factory=requests.Session)
    csrf_token: str = ""
    provider_url: str = ""
    callback_url: str = ""
    done_steps: int = 0
    # Where the customer waited while an instance was killed (None: they did not wait).
    paused_at: int | None = None
    retries: int = 0
    # The request id of each of this customer's requests that an instance answered.
    request_ids: dict[str, str] = field(default_factory=dict)
    # And when it was sent (time.monotonic()).
    sent_at: dict[str, float] = field(default_factory=dict)
    finished: bool = False

    def run(self, until: int = len(STEPS), via: str | None = None) -> None:
        """Take the next steps up to (not including) step ``until``, sending Onramp's
        requests to ``via`` (an instance's own URL) or else through the load balancer."""
        base = via or self.lb_url
        while self.done_steps < until:
            step = STEPS[self.done_steps]
            self._take(step, base)
            self.done_steps += 1
        self.finished = self.done_steps == len(STEPS)

    def _take(self, step: str, base: str) -> None:
        if step == "open link":
            path = self.link.removeprefix(self.lb_url)
            opened = self._send(step, "GET", base + path)
            assert opened.status_code in (302, 303), (step, opened.status_code)
            page = self._send(step + " page", "GET", base + _path(opened.headers["Location"]))
            assert page.status_code == 200, (step, page.status_code)
            found = _CSRF.search(page.text)
            assert found, "the welcome page has no CSRF token"
            self.csrf_token = found.group(1)
        elif step == "welcome":
            self._post(step, base, "/journey/welcome", {})
        elif step == "consent":
            self._post(step, base, "/journey/consent", ALL_CONSENTS)
        elif step == "software":
            self._post(step, base, "/journey/software", {"platform": "sandbox"})
        elif step == "connect":
            self.provider_url = self._post(step, base, "/journey/connect", {"submit": "Connect"})
            assert self.provider_url.startswith(self.sandbox.url), self.provider_url
        elif step == "provider":
            self.callback_url = self.sandbox.authorize(self.provider_url, "approve")
        elif step == "callback":
            back = self._send(step, "GET", base + _path(self.callback_url))
            assert back.status_code in (302, 303), (step, back.status_code, back.text[:300])
            assert _path(back.headers["Location"]) == "/journey/done", back.headers["Location"]
            done = self._send("done", "GET", base + "/journey/done")
            assert done.status_code == 200, ("done", done.status_code)

    def _post(self, step: str, base: str, path: str, data: dict[str, str]) -> str:
        sent = self._send(step, "POST", base + path, data={**data, "csrf_token": self.csrf_token})
        assert sent.status_code in (302, 303), (step, sent.status_code, sent.text[:300])
        return str(sent.headers["Location"])

    def _send(self, step: str, method: str, url: str, **kwargs: object) -> requests.Response:
        for attempt in range(_MAX_TRIES):
            request_id = f"{self.name}.{step.replace(' ', '-')}.{attempt}"
            sent_at = time.monotonic()
            try:
                response = self.browser.request(
                    method,
                    url,
                    headers={"X-Request-ID": request_id},
                    allow_redirects=False,
                    timeout=60,
                    **kwargs,  # type: ignore[arg-type]
                )
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code not in _GATEWAY_ERRORS:
                self.request_ids[step] = request_id
                self.sent_at[step] = sent_at
                return response
            self.retries += 1
            time.sleep(0.5)
        raise AssertionError(f"{self.name}: {step} failed {_MAX_TRIES} times")


def sent_around(journey: Journey, moment: float) -> bool:
    """Whether the customer sent requests both before and after ``moment``."""
    return min(journey.sent_at.values()) < moment < max(journey.sent_at.values())


def _path(location: str) -> str:
    """A Location header's path and query (Onramp answers with its PUBLIC_URL or a path)."""
    return re.sub(r"^https?://[^/]+", "", location)


def run_all(journeys: list[Journey], work: Callable[[Journey], None]) -> list[BaseException]:
    """Run ``work`` for every journey at once, each in its own thread; the errors raised."""
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(journey: Journey) -> None:
        try:
            work(journey)
        except BaseException as exc:  # reported by the caller, with the others
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=one, args=(j,), name=j.name) for j in journeys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return errors
