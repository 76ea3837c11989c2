"""Locust: simulated customers, each walking whole journeys one after another.

Every request is reported under its step's name ("step: consent", "sandbox: approve",
…), GET and POST apart. A request that answers otherwise than a working server does
(a 200 where the step should redirect, say) counts as a failure, and that customer's
journey stops there; their next one starts afresh, as a new customer with a new link.

What the customers decided on the consent screen is kept (``--tally-file``), so that
run.py can check that the database holds exactly those decisions.

Run by run.py (`make bench-load`), which starts the server; alone:
`ONRAMP_LOAD_API_KEY=onr_... .venv/bin/locust -f bench/load/locustfile.py --headless
--host http://127.0.0.1:5300 -u 200 -r 20 -t 3m --tally-file tally.json`.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.load.walker import Answer, Decisions, JourneyBroken, JourneyWalker, unexpected

# Seconds a customer spends reading each page: LOAD_THINK_SECONDS="5-15" (uniform). With
# a dozen pages that is about two minutes a journey.
THINK = tuple(float(s) for s in os.environ.get("LOAD_THINK_SECONDS", "5-15").split("-", 1))
# Longer than any answer a working server gives under load; then the request has failed.
TIMEOUT_SECONDS = 60


@dataclass
class Tally:
    """Journeys started, finished and broken, and each customer's consent decisions."""

    started: int = 0
    completed: int = 0
    broken: int = 0
    # A consent step posted without an answer (a timeout, a dropped connection): the
    # server may or may not have recorded it.
    unanswered_consents: int = 0
    decisions: list[Decisions] = field(default_factory=list)

    def add(self, walker: JourneyWalker, consent_unanswered: bool) -> None:
        self.started += 1
        self.completed += walker.completed
        self.broken += not walker.completed
        self.unanswered_consents += consent_unanswered
        if walker.decisions is not None:
            self.decisions.append(walker.decisions)


# One locust process runs one test (run.py never passes --processes).
TALLY = Tally()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--tally-file", default="", help="Write journeys and consent decisions here (JSON)."
    )


@events.quitting.add_listener
def _write_tally(environment: Environment, **_: Any) -> None:
    path = environment.parsed_options.tally_file if environment.parsed_options else ""
    if path:
        Path(path).write_text(json.dumps(asdict(TALLY)))


class Customer(HttpUser):
    """One customer at a time: a new one for each journey."""

    wait_time = between(THINK[0], THINK[-1])

    @task
    def one_journey(self) -> None:
        self.client.cookies.clear()
        self.client.close()
        self.consent_unanswered = False
        walker = JourneyWalker(
            base_url=self.host or "",
            api_key=os.environ["ONRAMP_LOAD_API_KEY"],
            send=self._send,
            pause=self._read_page,
        )
        try:
            walker.walk()
        except JourneyBroken:
            pass  # the request that broke it is already counted as a failure
        finally:
            TALLY.add(walker, self.consent_unanswered)

    def _read_page(self) -> None:
        """Read the page (LOAD_THINK_SECONDS), then act on a new connection: gunicorn closes
        one idle for 2 s (its keepalive) and a browser opens a new one then, whereas a
        request sent on a connection at the moment it closes fails without an answer."""
        self.client.close()
        self.wait()

    def _send(
        self, method: str, url: str, *, name: str, expect: int, leads_to: str, **kwargs: Any
    ) -> Answer:
        with self.client.request(
            method,
            url,
            name=name,
            allow_redirects=False,
            catch_response=True,
            timeout=TIMEOUT_SECONDS,
            **kwargs,
        ) as response:
            # Locust answers 0 when no answer came (a timeout, a dropped connection).
            if name == "step: consent" and method == "POST" and response.status_code == 0:
                self.consent_unanswered = True
            problem = response.error or unexpected(response, expect, leads_to)
            if problem:
                response.failure(problem)
            else:
                response.success()
        return response
