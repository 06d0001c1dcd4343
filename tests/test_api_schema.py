"""schemathesis against the server's own /api/openapi.json, on a real server on 127.0.0.1:
generated requests to every operation, a bounded number each; no answer is a 5xx, and every
answer's status code and content type are the ones the document gives."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .server import ServerProcess, make_token

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def token(server: ServerProcess) -> str:
    return make_token(server.data, "fuzzer", "admin")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_5xx_and_every_answer_as_documented(server: ServerProcess, token: str) -> None:
    api = schemathesis.openapi.from_url(f"{server.url}/api/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
            )

        call()


def test_the_document_names_every_endpoint(server: ServerProcess) -> None:
    document = httpx.get(f"{server.url}/api/openapi.json", timeout=10).json()
    assert set(document["paths"]) == {
        "/api/health",
        "/api/openapi.json",
        "/api/session",
        "/api/forms/{collection}",
        "/api/records/{collection}",
        "/api/records/{collection}/{slug}",
        "/api/records/{collection}/{slug}/history",
        "/api/records/{collection}/{slug}/revert",
        "/api/records/{collection}/{slug}/merge",
        "/api/changes",
        "/api/assets",
        "/api/builds",
        "/api/settings/{name}",
        "/api/settings/{name}/history",
    }
