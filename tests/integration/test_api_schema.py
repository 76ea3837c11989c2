"""The running API against its own OpenAPI document, with schemathesis.

For every operation schemathesis generates requests from /api/openapi.json, valid
ones and invalid ones, and checks each answer: no server error, every status, header
and body as documented, invalid input refused with a 4xx, authentication enforced.
Examples are bounded and derandomized: the same requests on every run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from app.api.keys import create_key
from app.api.views import api
from app.extensions import db
from tests.conftest import reset_database, test_settings

# pytest 9 breaks schemathesis.pytest.from_fixture (it reads the private
# Function._nodeid), so each operation is driven with schemathesis' hypothesis
# strategy directly, one test per operation and generation mode.
OPERATIONS = [(op.method, op.openapi_path) for op in api.operations.values()]
EXAMPLES = 20
# Requests a schema cannot tell apart from good ones, refused for what the values mean:
# an email domain reserved for testing, a journey or locale this instance does not have,
# a webhook URL that is not https or reaches a private address, a made-up cursor.
SEMANTIC_REFUSALS = {
    ("PUT", "/api/v1/customers/{external_id}"): {422},
    ("POST", "/api/v1/customers/{external_id}/links"): {422},
    ("POST", "/api/v1/webhook-endpoints"): {422},
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}/tls"): {422},  # not PEM
    ("GET", "/api/v1/consents"): {400},
    ("GET", "/api/v1/connections"): {400},
}

# What schemathesis expects for invalid requests, and 414: a value of many-byte characters
# past its maxLength can make the query string longer than the 4 KB the API reads; 413
# likewise for a body of long PEM fields (mutual TLS) past the API's body limit.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *(400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429),
                    "5xx",
                ]
            }
        }
    }
)


@pytest.fixture
def api_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(test_settings(tmp_path))
    reset_database(app)
    with app.app_context():
        _, key = create_key("schemathesis", ["read", "write", "credentials", "files"])
    app.config["TEST_API_KEY"] = key
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_api_behaves_as_its_openapi_document_says(
    api_app: Flask, method: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app, config=CONFIG)
    operation = schema[path][method]
    # Uncompressed: schemathesis' WSGI transport reads a body as sent, while its default
    # headers accept zstd and gzip (compression itself: test_compression.py).
    auth = {
        "Authorization": f"Bearer {api_app.config['TEST_API_KEY']}",
        "Accept-Encoding": "identity",
    }
    refusals = SEMANTIC_REFUSALS.get((method, path), set()) if mode.is_positive else set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        if mode.is_positive and case.headers and "Idempotency-Key" in case.headers:
            # Generated keys repeat across different requests, which is refused (422) as
            # it should be; test_api_idempotency covers that. Here each request is new.
            case.headers["Idempotency-Key"] = str(uuid.uuid4())
        if not refusals:
            case.call_and_validate(headers=auth)
            return
        response = case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])
        if response.status_code in refusals:
            # Still a problem document naming the field at fault.
            assert response.json()["errors"][0]["field"]
        else:
            assert response.status_code < 400 or response.status_code == 404, response.text

    check()
