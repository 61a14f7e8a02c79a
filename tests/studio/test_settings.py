"""Secrets and deployment settings: a random key kept under var/, production refusing the
public development key, and `manage.py check --deploy` clean behind TLS."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

import studio.settings

BASE = Path(settings.BASE_DIR)
GOOD_KEY = secrets.token_urlsafe(50)


def load(monkeypatch, **environ) -> dict:
    """Run studio/settings.py afresh with these variables (others of ours unset)."""
    with monkeypatch.context() as m:
        for name in ("SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "STUDIO_ENV", "STUDIO_HTTPS"):
            m.delenv(name, raising=False)
        for name, value in environ.items():
            m.setenv(name, value)
        return runpy.run_path(studio.settings.__file__)


def test_secret_key_script_makes_a_private_key_once(tmp_path):
    def run() -> Path:
        out = subprocess.run(
            [str(BASE / "scripts/secret-key.sh"), str(tmp_path / "var")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return Path(out.stdout.strip())

    path = run()
    key = path.read_text().strip()
    assert path == tmp_path / "var/secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(key) >= 50 and len(set(key)) > 5
    assert run() == path and path.read_text().strip() == key  # reused, not replaced
    other = tmp_path / "other"
    assert (
        Path(
            subprocess.run(
                [str(BASE / "scripts/secret-key.sh"), str(other)], capture_output=True, text=True
            ).stdout.strip()
        ).read_text()
        != path.read_text()
    )


def test_the_key_comes_from_a_file(monkeypatch, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(GOOD_KEY + "\n")
    loaded = load(monkeypatch, STUDIO_ENV="production", SECRET_KEY_FILE=str(key_file))
    assert loaded["SECRET_KEY"] == GOOD_KEY and loaded["PRODUCTION"]


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SECRET_KEY": studio.settings.DEV_SECRET_KEY},
        {"SECRET_KEY": "too-short"},
        {"SECRET_KEY": GOOD_KEY, "DEBUG": "1"},
    ],
    ids=["no-key", "public-dev-key", "short-key", "debug-on"],
)
def test_production_refuses_to_start_unsafe(monkeypatch, environ):
    with pytest.raises(ImproperlyConfigured):
        load(monkeypatch, STUDIO_ENV="production", **environ)


def test_development_keeps_working_without_a_key(monkeypatch):
    loaded = load(monkeypatch)
    assert loaded["SECRET_KEY"] == studio.settings.DEV_SECRET_KEY and not loaded["PRODUCTION"]
    with pytest.raises(ImproperlyConfigured, match="STUDIO_ENV"):
        load(monkeypatch, STUDIO_ENV="prod")


def test_https_switches_on_secure_cookies_and_hsts(monkeypatch):
    plain = load(monkeypatch, STUDIO_ENV="production", SECRET_KEY=GOOD_KEY)
    assert "SECURE_HSTS_SECONDS" not in plain and "SESSION_COOKIE_SECURE" not in plain
    tls = load(monkeypatch, STUDIO_ENV="production", SECRET_KEY=GOOD_KEY, STUDIO_HTTPS="1")
    assert tls["SESSION_COOKIE_SECURE"] and tls["CSRF_COOKIE_SECURE"]
    assert tls["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600 and tls["SECURE_SSL_REDIRECT"]
    assert tls["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def _check_deploy(**environ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE, env={**env, **environ}, capture_output=True, text=True,
    )  # fmt: skip


def test_check_deploy_is_clean_in_production_behind_tls():
    result = _check_deploy(STUDIO_ENV="production", SECRET_KEY=GOOD_KEY, STUDIO_HTTPS="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_defaults():
    result = _check_deploy()
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # the public development key
