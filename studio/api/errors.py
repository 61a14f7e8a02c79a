"""Errors in the OpenAI shape, so the official SDK raises the matching exception class."""

from typing import Any

import annotated_types
from django.http import JsonResponse
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .schemas import Error, ErrorDetail

# The `type` OpenAI uses for each status; the SDK picks its exception from the status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        return error_response(
            self.status, self.message, param=self.param, code=self.code, headers=self.headers
        )


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    detail = ErrorDetail(
        message=message,
        type=ERROR_TYPES.get(status, "invalid_request_error"),
        param=param,
        code=code,
    )
    response = JsonResponse(Error(error=detail).model_dump(), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# ---- Validation errors -----------------------------------------------------------------

TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "list_type": "a list",
}
BOUND_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
# The error types of the checks in schemas.py, with the code each answers with.
STUDIO_TYPES = {
    "invalid_text": "invalid_text",
    "invalid_value": "invalid_value",
    "invalid_type": "invalid_type",
    "unsupported_value": "unsupported_value",
}


def validation_error(error: dict[str, Any], params: type[BaseModel]) -> ApiError:
    """One pydantic error as an OpenAI 400 that names the parameter and says what would work.

    `params` is the model ninja validated, whose fields are the view's arguments (a whole
    body or query model, or single parameters); the bounds, titles and examples the
    message quotes come from the declaration of the field at fault.
    """
    field, names = _field_at(params, error["loc"])
    subject = ".".join(names) or "body"
    message, code = _describe(error, f"'{subject}'", field)
    return ApiError(400, message, param=subject.split(".")[0], code=code)


def _describe(error: dict[str, Any], subject: str, field: FieldInfo | None) -> tuple[str, str]:
    kind, ctx = error["type"], error.get("ctx") or {}
    got = f"; got {_short(error.get('input'))}"
    if kind == "missing":
        return f"Missing required parameter: {subject}.", "missing_required_parameter"
    if kind in TYPE_WORDS:
        return f"{subject} must be {TYPE_WORDS[kind]}{got}.", "invalid_type"
    if kind == "string_unicode":
        return f"{subject} holds characters that are not valid text.", "invalid_text"
    if kind in ("string_too_long", "too_long"):
        length = len(error["input"])
        return (
            f"{subject} is {length} characters; the limit is {ctx['max_length']}.",
            "invalid_value",
        )
    if kind in ("string_too_short", "too_short"):
        least = ctx["min_length"]
        if least == 1:
            return f"{subject} must not be empty.", "invalid_value"
        return f"{subject} must be at least {least} characters long.", "invalid_value"
    if kind in BOUND_TYPES:
        return f"{subject} must be {_bounds(field, ctx)}{got}.", "invalid_value"
    if kind == "string_pattern_mismatch":
        return f"{subject} must be {_pattern_words(field, ctx)}{got}.", "invalid_value"
    if kind in ("literal_error", "enum"):
        return f"{subject} must be one of: {ctx['expected']}{got}.", "invalid_value"
    if kind in STUDIO_TYPES:
        # The studio's own checks word their message as what the value must be or do.
        return f"{subject} {error['msg']}.", STUDIO_TYPES[kind]
    return f"{subject} is not valid: {error['msg']}{got}.", "invalid_value"


def _field_at(params: type[BaseModel], loc: tuple) -> tuple[FieldInfo | None, list[str]]:
    """The declared field at `loc`, and the names the client knows it by on the way there.

    A view argument holding a whole model (`body: CreateVideo`) is not a name the client
    sent; union tags and list indexes in `loc` are not fields.
    """
    field: FieldInfo | None = None
    names: list[str] = []
    current: Any = params
    for part in loc:
        fields = getattr(current, "model_fields", None) or {}
        match = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        if match is None:
            continue
        inner = _model_in(match.annotation)
        if not (current is params and inner is not None):
            names.append(str(part))
        field, current = match, inner
    return field, names


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation holds, directly or in a union, for looking one level deeper."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _number(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


BOUND_NAMES = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}
BOUND_WORDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def _bounds(field: FieldInfo | None, ctx: dict) -> str:
    """Both ends of a range when the field declares both, though the value broke only one."""
    limits = {k: v for k, v in ctx.items() if k in BOUND_WORDS}
    for item in field.metadata if field is not None else ():
        if name := BOUND_NAMES.get(type(item)):
            limits[name] = getattr(item, name)
    if "ge" in limits and "le" in limits:
        return f"between {_number(limits['ge'])} and {_number(limits['le'])}"
    return " and ".join(f"{BOUND_WORDS[k]} {_number(v)}" for k, v in limits.items())


def _pattern_words(field: FieldInfo | None, ctx: dict) -> str:
    """Say what a patterned value looks like: its title and an example when declared."""
    title = field.title if field is not None else None
    examples = (field.examples if field is not None else None) or []
    words = title or f"text matching {ctx.get('pattern')}"
    return f"{words}, such as {examples[0]}" if examples else words


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
