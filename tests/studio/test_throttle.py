"""Failed logins and invalid API keys are limited: 429 with Retry-After, even for the right secret."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture
def limits(settings, redis_conn):
    settings.STUDIO_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.STUDIO_LOGIN_FAILURES_PER_IP = 5
    settings.STUDIO_API_KEY_FAILURES_PER_IP = 4
    return settings


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, alice, limits):
    for _ in range(3):
        response = _login(client, "alice", WRONG)
        assert response.status_code == 200 and "correct username and password" in response.text
    response = _login(client, "alice", "alice-pass-123")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= limits.STUDIO_LOGIN_FAILURE_WINDOW_S
    assert "Too many failed logins" in response.text
    assert "_auth_user_id" not in client.session
    # From another address too: the limit is the account's.
    assert _login(client, "ALICE", "alice-pass-123", ip="10.0.0.2").status_code == 429


def test_one_address_guessing_many_accounts_is_stopped(client, alice, bob, limits):
    for i in range(5):
        assert _login(client, f"user{i}", WRONG).status_code == 200
    assert _login(client, "bob", "bob-pass-123").status_code == 429
    response = _login(client, "bob", "bob-pass-123", ip="10.0.0.9")
    assert response.status_code == 302


def test_a_good_login_clears_the_account_count(client, alice, limits):
    for _ in range(2):
        _login(client, "alice", WRONG)
    assert _login(client, "alice", "alice-pass-123").status_code == 302
    client.logout()
    for _ in range(2):
        assert _login(client, "alice", WRONG).status_code == 200
    assert _login(client, "alice", "alice-pass-123").status_code == 302


def test_redis_away_does_not_lock_anyone_out(client, alice, limits, monkeypatch):
    import django_rq

    def down(*args, **kwargs):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(django_rq, "get_connection", down)
    for _ in range(4):
        _login(client, "alice", WRONG)
    assert _login(client, "alice", "alice-pass-123").status_code == 302


def test_a_suspended_user_is_told_so_only_with_the_right_password(client, alice, limits):
    alice.is_active = False
    alice.save()
    response = _login(client, "alice", "alice-pass-123")
    assert response.status_code == 200 and "suspended" in response.text
    assert "correct username and password" not in response.text
    response = _login(client, "alice", WRONG)
    assert "suspended" not in response.text and "correct username and password" in response.text


def test_invalid_api_keys_are_limited_per_address(client, alice, limits):
    from studio.keys.services import api_key_create

    team = alice.memberships.get().team
    _, good = api_key_create(team=team, user=alice, name="t")

    def call(key, ip="10.0.0.1"):
        return client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=ip)

    for i in range(4):
        assert call(f"sk-studio-guess{i}").status_code == 401
    refused = call(good)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 0 < int(refused["Retry-After"]) <= limits.STUDIO_API_KEY_FAILURE_WINDOW_S
    assert call(good, ip="10.0.0.2").status_code == 200


def test_the_admin_login_is_limited_too(client, limits, django_user_model):
    django_user_model.objects.create_user("root", password="root-pass-123", is_staff=True)
    for _ in range(3):
        response = client.post(
            "/admin/login/", {"username": "root", "password": WRONG}, REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 200
    response = client.post(
        "/admin/login/", {"username": "root", "password": "root-pass-123"}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 200 and "Too many failed logins" in response.text
    assert "_auth_user_id" not in client.session
