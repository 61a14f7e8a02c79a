"""Hostile values in every page's forms and query strings: a clear 4xx (or the page with a
form error), never a 500.

Every URL pattern of the access matrix is sent, as a user it admits, every field name any
of the studio's forms declares (and the query and form parameters the views read by hand),
all set to one hostile value at a time: ids past any integer column, numbers past Python's
integer-string limit, infinities, NUL bytes, a long string, a path.
"""

import importlib
import pkgutil

import pytest
from django import forms
from django.urls import reverse

import studio
from tests.studio.test_access import LOGIN, MATRIX, ROLES, world  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

HOSTILE = {
    "past 64 bits": "9" * 25,
    "past int() digits": "9" * 5000,
    "negative": "-1",
    "infinity": "1e999",
    "not a number": "nan",
    "NUL": "a\x00b",
    "long": "x" * 20_000,
    "a path": "../../../../etc/passwd",
}

# Read by views from request.GET / request.POST rather than through a form.
HAND_READ = {"clip", "from_clip", "image_clip", "frame", "member", "team", "order", "after",
             "q", "sort", "engine", "mode", "aspect", "camera", "by", "origin", "starred",
             "variant", "next", "offset", "favourite", "role", "reason", "action"}  # fmt: skip


def _form_fields() -> set[str]:
    names = set(HAND_READ)
    for info in pkgutil.walk_packages(studio.__path__, "studio."):
        if not info.name.endswith(".forms"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                names.update(getattr(value, "base_fields", {}))
    return names


FIELDS = sorted(_form_fields())


def _admitted(expected: dict) -> str | None:
    """A role the endpoint lets in (its answer is neither a refusal nor the login page)."""
    for role in ROLES:
        if role != "anonymous" and expected[role] not in (403, 404, LOGIN):
            return role
    return None


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_hostile_values_never_give_a_500(client, world, name):  # noqa: F811 (the fixture)
    method, args, _, expected = MATRIX[name]
    role = _admitted(expected)
    if role is None:
        pytest.skip("no signed-in role is let in")
    url = reverse(name, args=args(world) if args else None)
    for label, value in HOSTILE.items():
        client.force_login(world.users[role])
        data = {field: value for field in FIELDS}
        response = getattr(client, method)(url, data)
        assert response.status_code < 500, (name, label, response.status_code)
        if method == "post":  # The query string too.
            response = client.post(f"{url}?{'&'.join(f'{f}=1e999' for f in HAND_READ)}", {})
            assert response.status_code < 500, (name, label, "query", response.status_code)
