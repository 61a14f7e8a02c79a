"""Read request parameters from JSON or multipart bodies, with one clear error per bad value."""

import base64
import binascii
import json
import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from .errors import ApiError

# The SDK sends nested objects in multipart bodies as `video[id]=...`.
NESTED = re.compile(r"^(\w+)\[(\w+)\]$")
SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(;base64)?,(.*)$", re.DOTALL)


def read_body(request) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (fields, files) of a JSON, multipart or form-encoded body."""
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
        return data, {}
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        data: dict[str, Any] = {}
        for key in request.POST:
            value = request.POST.getlist(key)[-1]
            nested = NESTED.match(key)
            if nested:
                outer = data.setdefault(nested.group(1), {})
                if isinstance(outer, dict):
                    outer[nested.group(2)] = value
            else:
                data[key] = value
        return data, {key: request.FILES[key] for key in request.FILES}
    if not content_type or not request.body:
        return {}, {}
    raise ApiError(
        400,
        f"Unsupported Content-Type {content_type!r}: send application/json or multipart/form-data.",
        code="unsupported_content_type",
    )


def text(data: dict, name: str, *, required: bool = False, max_length: int = 2000) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"Missing required parameter: '{name}'.", param=name)
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"'{name}' must be a string.", param=name)
    if "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ApiError(400, f"'{name}' holds characters that are not valid text.", param=name)
    if len(value) > max_length:
        raise ApiError(
            400, f"'{name}' is {len(value)} characters; the limit is {max_length}.", param=name
        )
    return value


def number(
    data: dict,
    name: str,
    *,
    default: Any = None,
    required: bool = False,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
) -> Any:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, f"Missing required parameter: '{name}'.", param=name)
        return default
    kind = "an integer" if integer else "a number"
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        if isinstance(value, int) and integer:
            parsed = value
        elif integer:
            text = str(value).strip()
            try:
                parsed = int(text)  # Exact, so 64-bit seeds survive.
            except ValueError:
                as_float = float(text)
                if as_float != int(as_float):
                    raise ValueError from None
                parsed = int(as_float)
        else:
            parsed = float(str(value).strip().removesuffix("s"))
    except (TypeError, ValueError, OverflowError):
        raise ApiError(400, f"'{name}' must be {kind}; got {value!r}.", param=name) from None
    too_low = low is not None and parsed < low
    too_high = high is not None and parsed > high
    if parsed != parsed or too_low or too_high:
        fmt = "{:d}" if integer else "{:g}"
        lo = fmt.format(low) if low is not None else None
        hi = fmt.format(high) if high is not None else None
        if lo is not None and hi is not None:
            bounds = f"between {lo} and {hi}"
        else:
            bounds = f"at least {lo}" if lo is not None else f"at most {hi}"
        raise ApiError(400, f"'{name}' must be {bounds}; got {value!r}.", param=name)
    return parsed


def size(data: dict) -> tuple[int, int] | None:
    value = data.get("size")
    if value is None or value == "":
        return None
    match = SIZE.match(str(value))
    if not match or not int(match.group(1)) or not int(match.group(2)):
        raise ApiError(
            400,
            f"'size' must be WIDTHxHEIGHT in pixels, such as 512x288; got {value!r}.",
            param="size",
        )
    return int(match.group(1)), int(match.group(2))


def choice(data: dict, name: str, options, *, default: str = "") -> str:
    value = data.get(name)
    if value is None or value == "":
        return default
    if value not in options:
        raise ApiError(
            400, f"'{name}' must be one of: {', '.join(options)}; got {value!r}.", param=name
        )
    return value


def image_reference(data: dict, files: dict, *, name: str = "input_reference"):
    """An uploaded image, or one sent as a data URL; the studio never fetches URLs."""
    if name in files:
        return files[name]
    ref = data.get(name)
    if ref in (None, ""):
        return None
    if not isinstance(ref, dict):
        raise ApiError(
            400, f"'{name}' must be an image file upload or an object with image_url.", param=name
        )
    if ref.get("file_id"):
        raise ApiError(
            400,
            f"'{name}.file_id' is not supported here: upload the image, or send it as a "
            "data URL in image_url.",
            param=name,
        )
    url = ref.get("image_url") or ""
    match = DATA_URL.match(url) if isinstance(url, str) else None
    if not match:
        raise ApiError(
            400,
            f"'{name}.image_url' must be a data: URL (data:image/png;base64,...); this studio "
            "does not download images from the network.",
            param=name,
        )
    try:
        raw = base64.b64decode(match.group(3), validate=True) if match.group(2) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if not raw:
        raise ApiError(400, f"'{name}.image_url' holds no base64 image data.", param=name)
    subtype = (match.group(1) or "image/png").split("/")[1]
    return SimpleUploadedFile(f"reference.{subtype}", raw, content_type=match.group(1))


def video_reference(data: dict, files: dict) -> tuple[str | None, Any]:
    """Return (video id, None) for a reference to one of ours, or (None, upload)."""
    if "video" in files:
        return None, files["video"]
    ref = data.get("video")
    if isinstance(ref, dict) and ref.get("id"):
        return str(ref["id"]), None
    if isinstance(ref, str) and ref:
        return ref, None
    raise ApiError(
        400,
        "Missing required parameter: 'video' (an object with the id of a completed video, "
        "or an uploaded video file).",
        param="video",
    )
