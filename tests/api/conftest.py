import pytest

from studio.keys.services import api_key_create


def _key_for(user, project=None):
    team = user.memberships.get().team
    _, raw = api_key_create(team=team, user=user, name="tests", project=project)
    return raw


@pytest.fixture
def alice_key(alice):
    return _key_for(alice)


@pytest.fixture
def bob_key(bob):
    return _key_for(bob)


@pytest.fixture
def api(client, redis_conn):
    """The Django test client speaking to /v1 with a bearer key; Redis counts the rate limit."""

    class Api:
        def __init__(self):
            self.key = None
            self.client = client

        def _headers(self, key):
            key = key if key is not None else self.key
            return {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}

        def get(self, path, data=None, key=None, **extra):
            return client.get(f"/v1{path}", data, **self._headers(key), **extra)

        def post(self, path, data=None, key=None, **extra):
            return client.post(
                f"/v1{path}", data or {}, content_type="application/json",
                **self._headers(key), **extra,
            )  # fmt: skip

        def post_form(self, path, data, key=None):
            return client.post(f"/v1{path}", data, **self._headers(key))

        def delete(self, path, key=None):
            return client.delete(f"/v1{path}", **self._headers(key))

    return Api()
