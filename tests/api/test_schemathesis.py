"""schemathesis against the live studio: no 5xx, and every answer as the document says.

Runs in-process through schemathesis' Python API and Hypothesis, bounded and repeatable
(a fixed number of examples per operation, derandomized), against daphne and a worker
started for the test, with a real API key.
"""

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live import running_studio

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = 12  # Per operation and mode: about 250 requests, well under a minute.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def live_url(redis_conn, tmp_path):
    env = {"STUDIO_ENGINES": "animatic", "STUDIO_API_RATE_LIMIT": "0"}
    with running_studio(tmp_path, env) as url:
        yield url


def _failures(operation, mode: GenerationMode, base_url: str, key: str) -> list[str]:
    found: list[str] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {key}"})
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # One report per distinct failure, not a shrunk example.
            found.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")

    run()
    return found


def test_the_api_keeps_its_contract(live_url, alice_key):
    schema = schemathesis.openapi.from_url(f"{live_url}/v1/openapi.json")
    base_url = f"{live_url}/v1"
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _failures(operation, mode, base_url, alice_key)
    assert failures == [], "\n\n".join(dict.fromkeys(failures))
