"""The served OpenAPI document is valid, complete, and says exactly what the API enforces."""

import dataclasses
import json
import math
import re

import openai
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from generation.prompting import (
    CAMERA_MOTIONS,
    CAMERA_SPEEDS,
    GUIDANCE_RANGE,
    MOTION_AMOUNT_RANGE,
    STYLE_PRESETS,
)
from studio.api.presenters import present_video
from studio.api.views import api
from studio.jobs.engines import get_registry
from studio.jobs.models import Generation

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "delete", "put", "patch"}


@pytest.fixture
def schema(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_schema_is_valid_openapi_served_without_a_key(schema):
    validate(schema)
    assert schema["openapi"] == "3.1.0"
    assert schema["servers"] == [{"url": "http://testserver/v1"}]
    assert schema == json.loads(
        json.dumps({**api.get_openapi_schema(), **{"servers": schema["servers"]}})
    )
    assert schema["paths"]["/openapi.json"]["get"]["security"] == []
    secured = [op for path, _, op in _operations(schema) if path != "/openapi.json"]
    assert secured and all(op["security"] == [{"BearerKey": []}] for op in secured)


def _route(pattern) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))


def test_schema_documents_exactly_the_routes_and_methods(client, schema):
    routes = {_route(p) for p in api.urls[0]}
    assert routes == set(schema["paths"])
    for path, item in schema["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        # PATCH is used nowhere: every route answers it with a 405 that lists what it takes.
        response = client.patch("/v1" + re.sub(r"{\w+}", "x", path))
        assert response.status_code == 405, path
        allowed = set(response["Allow"].split(", "))
        assert allowed == documented | ({"HEAD"} if "GET" in documented else set()), path
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("status", ["queued", "failed", "cancelled"])
def test_video_schema_matches_the_presenter_and_the_sdk(schema, alice, alice_project, status):
    generation = Generation.objects.create(
        project=alice_project,
        requested_by=alice,
        engine="animatic",
        mode="text_to_video",
        status=status,
        error="Out of memory." if status == "failed" else "",
        recipe={"prompt": "x", "width": 64, "height": 64, "num_frames": 8, "fps": 8, "seed": 1},
    )
    body = json.loads(present_video(generation).model_dump_json())
    video = schema["components"]["schemas"]["Video"]
    assert set(body) == set(video["properties"]) == set(video["required"])
    document = {"$ref": "#/components/schemas/Video", "components": schema["components"]}
    Draft202012Validator(document).validate(body)
    # Every field of the official SDK's Video is there.
    assert set(openai.types.Video.model_fields) <= set(body)


# ---- Every limit the document declares is the one the API enforces ---------------------

# Limits the API is known to enforce, by operation and parameter; each must be in the
# document, so a limit cannot be checked in code without being documented (or vanish).
KNOWN_LIMITS = [
    ("createVideo", "prompt", {"minLength": 1, "maxLength": 2000}),
    ("createVideo", "negative_prompt", {"maxLength": 2000}),
    ("createVideo", "model", {"maxLength": 64}),
    ("createVideo", "seconds", {"minimum": 0.05, "maximum": 120}),
    ("createVideo", "size", {"pattern": r"^[1-9]\d{0,4}x[1-9]\d{0,4}$"}),
    ("createVideo", "fps", {"minimum": 1, "maximum": 120}),
    ("createVideo", "seed", {"minimum": 0, "maximum": 2**63 - 1}),
    ("createVideo", "steps", {"minimum": 1}),
    ("createVideo", "camera_motion", {"enum": list(CAMERA_MOTIONS)}),
    ("createVideo", "style", {"enum": list(STYLE_PRESETS)}),
    ("createVideo", "camera_speed", {"enum": list(CAMERA_SPEEDS)}),
    ("createVideo", "guidance", {"minimum": GUIDANCE_RANGE[0], "maximum": GUIDANCE_RANGE[1]}),
    (
        "createVideo",
        "motion_amount",
        {"minimum": MOTION_AMOUNT_RANGE[0], "maximum": MOTION_AMOUNT_RANGE[1]},
    ),
    ("createVideo", "project_id", {"minimum": 1}),
    ("createVideo", "Idempotency-Key", {"maxLength": 255}),
    ("remixVideo", "prompt", {"minLength": 1, "maxLength": 2000}),
    ("remixVideo", "camera_speed", {"enum": list(CAMERA_SPEEDS)}),
    ("remixVideo", "guidance", {"minimum": GUIDANCE_RANGE[0], "maximum": GUIDANCE_RANGE[1]}),
    (
        "remixVideo",
        "motion_amount",
        {"minimum": MOTION_AMOUNT_RANGE[0], "maximum": MOTION_AMOUNT_RANGE[1]},
    ),
    ("extendVideo", "seconds", {"minimum": 0.05, "maximum": 120}),
    ("extendVideo", "direction", {"enum": ["forward", "backward"]}),
    ("editVideo", "strength", {"minimum": 0, "maximum": 1}),
    ("listVideos", "limit", {"minimum": 1, "maximum": 100}),
    ("listVideos", "order", {"enum": ["asc", "desc"]}),
    ("downloadVideoContent", "variant", {"enum": ["video", "thumbnail", "spritesheet"]}),
]
CONSTRAINTS = ("minimum", "maximum", "minLength", "maxLength", "pattern", "enum")


def _resolve(node: dict, schema: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _branches(prop: dict, schema: dict) -> list[dict]:
    """The non-null alternatives of a property, each with the property's own annotations."""
    prop = _resolve(prop, schema)
    outer = {k: v for k, v in prop.items() if k not in ("anyOf", "oneOf")}
    union = prop.get("anyOf") or prop.get("oneOf")
    if union is None:
        return [prop]
    return [{**outer, **_resolve(b, schema)} for b in union if b.get("type") != "null"]


def _parameters(schema: dict):
    """Every (operation, where, name, branches) the document declares, bodies from their JSON."""
    for path, method, op in _operations(schema):
        for param in op.get("parameters", []):
            yield (
                op["operationId"],
                path,
                method,
                param["in"],
                param["name"],
                _branches(param["schema"], schema),
            )
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            for name, prop in _resolve(body["schema"], schema)["properties"].items():
                yield op["operationId"], path, method, "body", name, _branches(prop, schema)


def test_known_limits_are_in_the_schema(schema):
    declared = {(op, name): branches for op, *_, name, branches in _parameters(schema)}
    for operation, name, limits in KNOWN_LIMITS:
        found = {
            key: branch[key]
            for branch in declared[(operation, name)]
            for key in CONSTRAINTS
            if key in branch
        }
        assert {key: found.get(key) for key in limits} == limits, (operation, name)


def _probes(branch: dict, base):
    """Values just outside each declared bound (refused) and just inside it (accepted)."""
    integer = branch.get("type") == "integer"
    if "minimum" in branch:
        low = branch["minimum"]
        yield False, low - 1 if integer else math.nextafter(low, -math.inf)
        yield True, low
    if "maximum" in branch:
        high = branch["maximum"]
        yield False, high + 1 if integer else math.nextafter(high, math.inf)
        yield True, high
    text = base if isinstance(base, str) else ""
    if "maxLength" in branch:
        yield False, text.ljust(branch["maxLength"] + 1, "x")
        yield True, text.ljust(branch["maxLength"], "x")
    if "minLength" in branch:
        yield False, text[: branch["minLength"] - 1]
        yield True, text[: branch["minLength"]].ljust(branch["minLength"], "x")
    if "pattern" in branch:
        example = (branch.get("examples") or [None])[0]
        assert example is not None, f"a patterned field needs an example: {branch}"
        assert re.search(branch["pattern"], example)
        assert not re.search(branch["pattern"], example + "!")
        yield False, example + "!"
        yield True, example
    if "enum" in branch:
        yield False, "none-of-these"
        for choice in branch["enum"]:
            yield True, choice


# An engine whose own limits are wider than the contract's, so only the contract refuses;
# its id is as long as `model` may be, to probe that limit from inside too. It takes
# guidance and a motion amount, which engines without them refuse whatever the value.
PERMISSIVE = "permissive-animatic".ljust(64, "-")


@pytest.fixture
def permissive_engine(settings):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, PERMISSIVE: {"kind": "animatic"}}
    settings.STUDIO_API_RATE_LIMIT = 0
    engine = get_registry().get(PERMISSIVE)
    engine.capabilities = dataclasses.replace(
        engine.capabilities, min_fps=1, max_fps=120, max_frames=10**6, max_steps=10**6
    )
    engine.default_guidance, engine.default_motion_amount = 5.0, 127
    return PERMISSIVE


def test_every_declared_limit_is_the_enforced_one(schema, api, alice_key, permissive_engine):
    """Generated from the document: each bound is refused just outside and taken just inside.

    "Refused" is a 400 naming that parameter; anything else (a 200, or another parameter's
    or another kind of error, such as the video not being ready) is the value getting past.
    """
    api.key = alice_key
    queued = api.post("/videos", {"prompt": "a source", "model": PERMISSIVE, "size": "96x64"})
    assert queued.status_code == 200, queued.json()
    video = queued.json()["id"]
    bases = {
        "createVideo": {"prompt": "a lighthouse", "model": PERMISSIVE, "size": "96x64"},
        "remixVideo": {"prompt": "again"},
        "extendVideo": {"prompt": "more", "video": {"id": video}, "seconds": 1},
        "editVideo": {"prompt": "ink", "video": {"id": video}},
    }
    # The bases themselves pass the contract: they fail, if at all, for the source video.
    expected = {
        "createVideo": 200,
        "listVideos": 200,
        "remixVideo": "video_not_ready",
        "extendVideo": "video_not_ready",
        "editVideo": "video_not_ready",
        "downloadVideoContent": "video_not_ready",
    }

    def send(path, method, where, name, value, body):
        url = "/v1" + re.sub(r"{\w+}", video, path)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {alice_key}"}
        query = {}
        if where == "body":
            body = {**body, name: value}
        elif where == "query":
            query = {name: value}
        elif where == "header":
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        if method == "get":
            return api.client.get(url, query, **headers)
        return api.client.post(url, json.dumps(body), content_type="application/json", **headers)

    failures, probed = [], set()
    for operation, path, method, where, name, branches in _parameters(schema):
        if operation not in expected:
            continue
        base = bases.get(operation, {})
        if operation not in probed:
            probed.add(operation)
            response = send(path, method, "none", "", None, base)
            outcome = (
                response.status_code
                if response.status_code == 200
                else response.json()["error"]["code"]
            )
            assert outcome == expected[operation], (operation, response.json())
        for branch in branches:
            for accepted, value in _probes(branch, base.get(name)):
                response = send(path, method, where, name, value, base)
                error = response.json().get("error") if response.status_code != 200 else None
                refused = response.status_code == 400 and error["param"] == name
                if response.status_code >= 500 or refused == accepted:
                    shown = value if len(str(value)) < 40 else f"{str(value)[:20]}…({len(value)})"
                    failures.append(f"{operation} {name}={shown!r}: {response.status_code} {error}")
    assert probed == set(expected)
    assert not failures, "\n".join(failures)
