"""/v1 answers what its OpenAPI document says, for the odd requests schemathesis sends."""

import re

import pytest

from studio.api.schemas import SECONDS_PATTERN

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/videos", "/models", "/videos/video_abc", "/openapi.json"])
def test_trace_and_other_methods_are_405_with_allow(api, alice_key, client, path):
    for method in ("trace", "put", "patch"):
        response = getattr(client, method)(f"/v1{path}", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
        assert response.status_code == 405, (method, response.content)
        assert response.json()["error"]["code"] == "method_not_allowed"
        allowed = set(response["Allow"].split(", "))
        assert allowed and method.upper() not in allowed


def test_an_idempotency_key_over_255_characters_is_a_400(api, alice_key):
    api.key = alice_key
    response = api.post(
        "/videos", {"prompt": "x", "model": "animatic"}, HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["param"] == "Idempotency-Key" and "255" in error["message"]


@pytest.mark.parametrize(
    "query", ["limit=abc&limit=", "limit=5&limit=7", "order=asc&order=desc", "after=a&after=b"]
)
def test_a_repeated_query_parameter_is_a_400(api, alice_key, query):
    response = api.get(f"/videos?{query}", key=alice_key)
    assert response.status_code == 400, response.content
    name = query.split("=")[0]
    assert response.json()["error"]["param"] == name
    assert "more than once" in response.json()["error"]["message"]


def test_the_seconds_text_pattern_holds_the_bounds_of_the_number():
    pattern = re.compile(SECONDS_PATTERN)
    good = ["0.05", "0.050", "0.1", "1", "4", "4.5s", "10", "99.9", "100", "119.99", "120", "120.0"]
    bad = [
        "0",
        "0.04",
        "0.049",
        "120.01",
        "121",
        "200",
        "600",
        "1000",
        "-1",
        "1e3",
        "",
        "s",
        "4.5ss",
        ".5",
    ]
    assert [g for g in good if not pattern.fullmatch(g)] == []
    assert [b for b in bad if pattern.fullmatch(b)] == []


@pytest.mark.parametrize(
    ("value", "ok"), [("0.05", True), ("120s", True), ("0", False), ("121", False)]
)
def test_seconds_as_text_is_checked_as_the_schema_says(api, alice_key, value, ok):
    api.key = alice_key
    response = api.post(
        "/videos", {"prompt": "x", "model": "animatic", "seconds": value, "size": "96x64"}
    )
    if ok:
        # Within the declared bounds; the engine may still refuse a length (frame limits).
        assert response.status_code in (200, 400), response.content
        error = response.json().get("error") or {}
        assert error.get("param") != "seconds" or "frame" in error["message"], error
    else:
        assert response.status_code == 400 and response.json()["error"]["param"] == "seconds"


def test_the_document_bounds_seconds_in_both_forms(api):
    schema = api.get("/openapi.json").json()
    seconds = schema["components"]["schemas"]["CreateVideo"]["properties"]["seconds"]
    number, text = seconds["anyOf"]
    assert (number["minimum"], number["maximum"]) == (0.05, 120)
    assert text["pattern"] == SECONDS_PATTERN


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"prompt=hello"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n"),
    ],
)
def test_a_malformed_multipart_body_is_a_json_400(api, alice_key, client, content_type, body):
    response = client.generic(
        "POST", "/v1/videos", body, content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )  # fmt: skip
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["type"] == "invalid_request_error"
