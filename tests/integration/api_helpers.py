"""Helpers for the API tests: keys made with the CLI, authenticated calls, problem checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.engine.registry import EXTENSION_KEY
from app.engine.schema import Journey

RETURN_URL = "https://lender.example/onramp/done"
PROBLEMS = "https://onramp.dev/problems/"


def allow_return_url(app: Flask) -> None:
    """Let the default journey send customers back to RETURN_URL, as its file could say."""
    journeys = app.extensions[EXTENSION_KEY]
    data = journeys["default"].model_dump(mode="json")
    data["integration"] = {
        "allowed_origins": ["https://lender.example"],
        "return_urls": ["https://lender.example/onramp"],
    }
    journeys["default"] = Journey.model_validate(data)


def create_key(app: Flask, *scopes: str, name: str = "backend") -> str:
    """A key made as an operator makes one: with `flask api-keys create`."""
    args = ["api-keys", "create", "--name", name]
    for scope in scopes:
        args += ["--scope", scope]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


@dataclass
class Api:
    """A client of the API with one key."""

    client: FlaskClient
    key: str

    def call(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        response.close()
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, **kwargs)


def problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """The problem document of ``response``, checked to be of this status and type."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["type"] == PROBLEMS + slug
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]
