"""The UAT suite's only way to set up and read back: Onramp's JSON API, with a UAT key.

Customers get external ids ``uat-<run id>-<n>`` so that runs never collide and
``flask uat reset`` can erase them afterwards. See docs/api.md for the endpoints.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import requests

TIMEOUT_SECONDS = 30


class ApiError(AssertionError):
    """The API refused a set-up call: the message says which and why, for the tester."""


@dataclass
class OnrampApi:
    """``/api/v1`` of one Onramp environment, called with a key that has read and write."""

    base_url: str
    key: str
    session: requests.Session = field(default_factory=requests.Session)

    def attempt(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The API's answer as it is, refusals included (a scenario may expect one)."""
        return self.session.request(
            method,
            f"{self.base_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=TIMEOUT_SECONDS,
            **kwargs,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The API's JSON answer; a refusal fails the scenario, saying what was refused."""
        response = self.attempt(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(
                f"{method} /api/v1{path} answered {response.status_code}: {response.text[:500]}"
            )
        return response.json() if response.content else None

    def list(self, path: str, **filters: str) -> list[dict[str, Any]]:
        """Every page of a list, oldest first."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {**filters, "limit": "100", **({"cursor": cursor} if cursor else {})}
            page = self.call("GET", path, params=params)
            found.extend(page["data"])
            cursor = page["next_cursor"]
            if not cursor:
                return found


@dataclass
class UatCustomer:
    """A customer made for one scenario, and what the API says about them."""

    api: OnrampApi
    external_id: str
    name: str

    def link(
        self,
        journey_id: str | None = None,
        *,
        locale: str | None = None,
        expires_in: int | None = None,
        reconnect: str | None = None,
    ) -> dict[str, str]:
        """A new journey link: ``{"url", "expires_at"}``; ``reconnect`` (a connection id)
        makes it re-authorize that connection."""
        body = {
            "journey_id": journey_id,
            "locale": locale,
            "expires_in": expires_in,
            "reconnect": reconnect,
        }
        return dict(
            self.api.call(
                "POST",
                f"/customers/{self.external_id}/links",
                json={k: v for k, v in body.items() if v is not None},
            )
        )

    def url(self, journey_id: str | None = None, *, locale: str | None = None) -> str:
        return self.link(journey_id, locale=locale)["url"]

    def reconnect_url(self, connection_id: str) -> str:
        """A link to sign in again to the platform of one of their connections."""
        return self.link(reconnect=connection_id)["url"]

    def credentials(self, connection_id: str) -> requests.Response:
        """Ask for the connection's access token, as the business's data pipeline does
        (Onramp refreshes it first when it is about to expire)."""
        answer = self.api.attempt("GET", f"/connections/{connection_id}/credentials")
        if answer.status_code == 403:
            raise ApiError(
                "The UAT key may not read credentials: make a new one on the server with "
                "`flask uat key` (it has the read, write and credentials scopes)."
            )
        return answer

    def uploads(self) -> list[dict[str, Any]]:
        """The files they uploaded instead of connecting, oldest first."""
        return list(self.api.call("GET", f"/customers/{self.external_id}/uploads")["data"])

    def download(self, upload_id: str) -> requests.Response:
        """A file's content, as the business's data pipeline downloads it."""
        answer = self.api.attempt("GET", f"/uploads/{upload_id}/content")
        if answer.status_code == 403:
            raise ApiError(
                "The UAT key may not download files: make a new one on the server with "
                "`flask uat key` (it has the read, write, credentials and files scopes)."
            )
        return answer

    def wait_for_statuses(
        self, expected: list[tuple[str, str | None]], seconds: float = 30
    ) -> list[tuple[str, str | None]]:
        """The connections' statuses once they are ``expected`` (Onramp finishing work the
        customer is not waiting on), or as they are when ``seconds`` have passed."""
        deadline = time.monotonic() + seconds
        while (found := self.statuses()) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        return found

    def record(self) -> dict[str, Any]:
        """The customer with their runs, consents and connections."""
        return dict(self.api.call("GET", f"/customers/{self.external_id}"))

    def runs(self) -> list[dict[str, Any]]:
        return list(self.record()["runs"])

    def consents(self) -> list[dict[str, Any]]:
        return self.api.list("/consents", customer=self.external_id)

    def decisions(self) -> dict[str, str]:
        """Each consent item's latest decision (scope notes left out)."""
        latest: dict[str, str] = {}
        for record in self.consents():
            if record["decision"] != "scoped":
                latest[record["item"]] = record["decision"]
        return latest

    def connections(self) -> list[dict[str, Any]]:
        return self.api.list("/connections", customer=self.external_id)

    def statuses(self) -> list[tuple[str, str | None]]:
        """Each connection's status and organisation, oldest first."""
        return [(c["status"], c["organisation_name"]) for c in self.connections()]


@dataclass
class Customers:
    """Makes this run's customers: ``uat-<run id>-<n>``."""

    api: OnrampApi
    run_id: str
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new(self, name: str = "UAT Trading Ltd") -> UatCustomer:
        external_id = f"uat-{self.run_id}-{next(self._numbers)}"
        email = f"{external_id}@uat.onramp.example"
        self.api.call("PUT", f"/customers/{external_id}", json={"name": name, "email": email})
        return UatCustomer(self.api, external_id, name)
