"""`manage.py fetch_model NAME`: installs from the local hub cache; an offline machine or an
unreachable hub gets one paragraph on stderr and a non-zero exit, never a traceback."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation.modelstore import read_manifest

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_command(tmp_path, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_HUB_CACHE")}
    environ.update(
        STUDIO_VAR_DIR=str(tmp_path / "var"),
        HF_HUB_CACHE=str(tmp_path / "empty-cache"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "fetch_model", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_offline_machine_gets_one_paragraph_and_a_non_zero_exit(tmp_path):
    done = run_command(tmp_path, "wan-t2v-1.3b", HF_HUB_OFFLINE="1")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    error = done.stderr.strip()
    assert error.startswith("CommandError: Could not download wan-t2v-1.3b")
    assert "\n" not in error and "HF_HUB_OFFLINE" in error and "STUDIO_WAN_MODEL" in error
    assert str(tmp_path / "var" / "models" / "wan-t2v-1.3b") in error


def test_unreachable_endpoint_gets_one_paragraph_and_a_non_zero_exit(tmp_path):
    port = closed_port()
    done = run_command(tmp_path, "wan-t2v-1.3b", "--endpoint", f"http://127.0.0.1:{port}")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    error = done.stderr.strip()
    assert "\n" not in error and "connection refused" in error and str(port) not in error


def test_unknown_name_lists_the_catalogue(tmp_path):
    with pytest.raises(CommandError, match="known models: .*wan-t2v-1.3b"):
        call_command("fetch_model", "wan-t2v-9000b")


def test_installs_from_the_hub_cache_printing_progress(
    tmp_path, settings, wan_hub_cache, monkeypatch, capsys
):
    monkeypatch.setenv("HF_HUB_CACHE", str(wan_hub_cache))
    settings.STUDIO_MODELS_DIR = tmp_path / "models"
    call_command("fetch_model", "wan-t2v-1.3b")
    out = capsys.readouterr().out
    assert "100.0%" in out and "Installed wan-t2v-1.3b" in out
    assert read_manifest(tmp_path / "models" / "wan-t2v-1.3b")["source"] == "hub cache"
