"""Read a request body, JSON or multipart, into the one dict a contract model validates.

The official SDK sends multipart/form-data (files as parts, nested objects as
`video[id]=...`); other clients send JSON. Both reach the same model, so a field is
declared and checked once, whichever way it came.
"""

import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.params import ParamShortcut
from ninja.params.models import BodyModel
from ninja.params.models import Param as NinjaParam

from .errors import ApiError

NESTED = re.compile(r"^(\w+)\[(\w+)\]$")


def check_length(request: HttpRequest) -> None:
    """Refuse an oversized body by its Content-Length, before reading a byte of it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "The Content-Length header is not a number.") from None
    if length > settings.STUDIO_MAX_UPLOAD_BYTES + (1 << 20):  # An upload plus its fields.
        raise ApiError(
            413,
            f"The request body is {length / 2**20:.1f} MB; the limit is "
            f"{settings.STUDIO_MAX_UPLOAD_BYTES // 2**20} MB.",
            code="request_too_large",
        )


def read_body(request: HttpRequest) -> dict[str, Any]:
    """Return the fields of a JSON, multipart or form-encoded body, uploads included."""
    check_length(request)
    content_type = request.content_type or ""
    if content_type == "application/json" or (not content_type and request.body):
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(
                400, f"The request body is not valid JSON ({exc}).", code="invalid_json"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "The JSON body must be an object.", code="invalid_json")
        return data
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return _form_fields(request)
    if not content_type or not request.body:
        return {}
    raise ApiError(
        400,
        f"Unsupported Content-Type {content_type!r}: send application/json or multipart/form-data.",
        code="unsupported_content_type",
    )


def _form_fields(request: HttpRequest) -> dict[str, Any]:
    """Fields and files of a form; `a[b]=v` becomes `{"a": {"b": v}}`, an empty field is absent."""
    data: dict[str, Any] = {}
    for key in request.POST:
        value = request.POST.getlist(key)[-1]
        if value == "":
            continue  # A form cannot send null: an empty field means "not given".
        nested = NESTED.match(key)
        if nested:
            outer = data.setdefault(nested.group(1), {})
            if isinstance(outer, dict):
                outer[nested.group(2)] = value
        else:
            data[key] = value
    for key in request.FILES:
        data[key] = request.FILES[key]
    return data


class _PayloadModel(BodyModel):
    @classmethod
    def get_request_data(cls, request, api, path_params):
        data = read_body(request)
        name = getattr(cls, "__read_from_single_attr__", None)
        return {name: data} if name else data


class _Payload(NinjaParam):
    """A request body that may be JSON or multipart; documented as its JSON schema."""

    _model = _PayloadModel

    @classmethod
    def _param_source(cls) -> str:
        return "body"


# `body: Payload[CreateVideo]` in a view, as ninja's own `Body[...]` and `Form[...]`.
Payload = ParamShortcut(lambda **kwargs: _Payload(..., **kwargs))
