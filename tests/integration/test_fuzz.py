"""Property-based fuzzing of every route the live server documents, for the three examples.

Schemathesis reads the server's own ``/openapi.json`` and generates requests with Hypothesis:
valid ones (they must be accepted, unless the document says otherwise) and invalid ones (they
must be refused with a 4xx). Every answer must be a documented status with a body that matches
the documented schema, and none may be a 5xx. Inputs are derandomized so a run is repeatable;
``K8S_MLSERVE_FUZZ_EXAMPLES`` raises the number of requests per route for a deeper local run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from k8s_mlserve.testing import ServerProcess

from .conftest import API_KEYS, MONITORING_TOKEN

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("K8S_MLSERVE_FUZZ_EXAMPLES", "40"))
HEADERS = {"X-API-Key": API_KEYS[0], "Authorization": f"Bearer {MONITORING_TOKEN}"}
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            # Invalid requests may also be refused as too large (too many rows, a huge body).
            "negative_data_rejection": {"expected-statuses": [400, 401, 404, 413, 422]},
        },
        "operations": [
            {
                # JSON Schema cannot say that a tensor's data holds as many elements as its
                # shape multiplies to, nor that the tensors name each feature once: a
                # schema-valid V2 request may still be malformed (400). Every other check,
                # 5xx and conformance included, applies to these routes too.
                "include-path-regex": r"^/v2/models/.*/infer$",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            }
        ],
    }
)
EVERY_ROUTE = {
    "POST /predict",
    "GET /",
    "GET /version",
    "GET /health",
    "GET /ready",
    "GET /startup",
    "GET /metrics",
    "GET /drift",
    "GET /shadow",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/static/{name}",
    "POST /admin/reload",
    "GET /v1/models",
    "GET /v1/models/{name}",
    "POST /v1/models/{name}:predict",
    "GET /v2",
    "GET /v2/health/live",
    "GET /v2/health/ready",
    "GET /v2/models/{name}",
    "GET /v2/models/{name}/ready",
    "POST /v2/models/{name}/infer",
    "GET /v2/models/{name}/versions/{version}",
    "GET /v2/models/{name}/versions/{version}/ready",
    "POST /v2/models/{name}/versions/{version}/infer",
}


def _fuzz(operation: Any, mode: GenerationMode, url: str, session: requests.Session) -> str:
    """The first failure found on ``operation`` (its report, with a curl line), or ''."""
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        if found:
            return
        try:
            case.call_and_validate(base_url=url, session=session, headers=HEADERS)
        except FailureGroup as failure:
            found.append(f"{operation.label} ({mode.value}):\n{failure}")

    run()
    return found[0] if found else ""


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_documented_route_answers_as_documented(
    example_server: tuple[str, ServerProcess], mode: GenerationMode
) -> None:
    _, server = example_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=CONFIG)
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    assert documented == EVERY_ROUTE
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is invalid
        operations.append(result.ok())
    # Schemathesis leaves out the route that serves the document it reads.
    assert {op.label for op in operations} == EVERY_ROUTE - {"GET /openapi.json"}
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            try:
                failure = _fuzz(operation, mode, server.url, session)
            except Unsatisfiable:
                if mode is GenerationMode.NEGATIVE:
                    continue  # no parameters or body that could be invalid (any name is a name)
                failure = f"{operation.label}: no valid request could be generated"
            if failure:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
