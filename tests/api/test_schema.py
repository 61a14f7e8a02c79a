"""The OpenAPI document is valid and matches the routes and the Video the API really returns."""

import re

import pytest
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from studio.api import urls
from studio.api.presenters import video_json
from studio.api.schema import openapi_schema
from studio.jobs.models import Generation

# Django's converters in /v1 routes, as the schema names the same path parameters.
PATH_PARAMS = {"video": "video_id", "model": "model"}


def _route_path(pattern: URLPattern | URLResolver) -> str:
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: f"{{{PATH_PARAMS[m[1]]}}}", str(pattern.pattern))
    return f"/{route}"


@pytest.fixture
def schema(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_schema_is_valid_openapi_served_without_a_key(schema):
    validate(schema)
    assert schema["openapi"] == "3.1.0"
    assert schema == openapi_schema("http://testserver/v1")
    assert schema["paths"]["/openapi.json"]["get"]["security"] == []


def test_schema_documents_exactly_the_routes(schema):
    *routes, catch_all = urls.urlpatterns
    assert isinstance(catch_all.pattern, RegexPattern), "the last /v1 route is the 404 catch-all"
    assert sorted(_route_path(p) for p in routes) == sorted(schema["paths"])


def test_video_schema_matches_the_presenter(schema, alice, alice_project):
    generation = Generation.objects.create(
        project=alice_project,
        requested_by=alice,
        engine="animatic",
        mode="text_to_video",
        recipe={"prompt": "x", "width": 64, "height": 64, "num_frames": 8, "fps": 8, "seed": 1},
    )
    video = schema["components"]["schemas"]["Video"]
    body = video_json(generation)
    assert set(body) == set(video["properties"])
    Draft202012Validator(video).validate(body)
