"""Fetching a catalogue checkpoint: from the local hub cache, with progress, cancel, resume,
the disk check and verification; an unreachable hub gives one clear paragraph. No network:
the hub endpoints used here are closed loopback ports."""

import shutil
import socket
from collections import namedtuple

import pytest

from generation import catalogue
from generation.fetch import cached_snapshot, fetch, verify
from generation.modelstore import MANIFEST, installed, read_manifest
from generation.spec import Cancelled, GenerationError
from tests.tiny.hubcache import COMMIT

WAN = catalogue.get("wan-t2v-1.3b")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def online(monkeypatch):
    """Network allowed, as on a connected machine (the test command sets HF_HUB_OFFLINE)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


class Recorder:
    def __init__(self, cancel_after: int | None = None):
        self.calls: list[tuple[int, int, str]] = []
        self.cancel_after = cancel_after

    def progress(self, done, total, current):
        self.calls.append((done, total, current))

    def should_cancel(self):
        return self.cancel_after is not None and len(self.calls) >= self.cancel_after


def _fetch(models, cache, rec, **kwargs):
    kwargs.setdefault("endpoint", f"http://127.0.0.1:{closed_port()}")
    return fetch(
        WAN,
        models,
        progress=rec.progress,
        should_cancel=rec.should_cancel,
        cache_dir=cache,
        **kwargs,
    )


def test_a_hub_cache_snapshot_installs_without_the_network(tmp_path, wan_hub_cache, tiny_wan_dir):
    assert cached_snapshot(WAN, wan_hub_cache).name == COMMIT
    rec = Recorder()
    target = _fetch(tmp_path / "models", wan_hub_cache, rec)

    assert target == tmp_path / "models" / "wan-t2v-1.3b"
    assert installed(tmp_path / "models") == {"wan-t2v-1.3b": target}
    manifest = read_manifest(target)
    weights = sorted(p.relative_to(tiny_wan_dir) for p in tiny_wan_dir.rglob("*.safetensors"))
    total = sum((tiny_wan_dir / p).stat().st_size for p in weights)
    assert manifest["commit"] == COMMIT and manifest["source"] == "hub cache"
    assert manifest["bytes"] >= total > 0
    for rel in weights:  # Real files in place, not links into the cache.
        assert (target / rel).is_file() and not (target / rel).is_symlink()
        assert (target / rel).read_bytes() == (tiny_wan_dir / rel).read_bytes()
    # Byte progress: never backwards, ends at the total, names the file being copied.
    dones = [d for d, _, _ in rec.calls]
    assert dones == sorted(dones) and rec.calls[-1][:2] == (manifest["bytes"], manifest["bytes"])
    assert any(c.endswith(".safetensors") for _, _, c in rec.calls)


def test_a_copy_across_disks_reports_progress_within_files(tmp_path, wan_hub_cache, monkeypatch):
    monkeypatch.setattr("generation.fetch._same_device", lambda a, b: False)
    monkeypatch.setattr("generation.fetch.COPY_CHUNK", 4096)
    rec = Recorder()
    target = _fetch(tmp_path / "models", wan_hub_cache, rec)
    assert read_manifest(target)
    biggest = max(target.rglob("*.safetensors"), key=lambda p: p.stat().st_size)
    assert biggest.stat().st_size > 3 * 4096
    inside = [c for c in rec.calls if c[2] == biggest.relative_to(target).as_posix()]
    assert len(inside) > 3  # Several reports while one file is copied.


def test_cancel_midway_leaves_no_manifest_and_a_second_fetch_completes(
    tmp_path, wan_hub_cache, monkeypatch
):
    monkeypatch.setattr("generation.fetch._same_device", lambda a, b: False)
    models = tmp_path / "models"
    first = Recorder(cancel_after=3)
    with pytest.raises(Cancelled):
        _fetch(models, wan_hub_cache, first)
    target = models / "wan-t2v-1.3b"
    assert not (target / MANIFEST).exists() and installed(models) == {}
    assert not list(target.rglob("*.part"))
    done_before = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    assert done_before  # Something was finished before the cancel.

    second = Recorder()
    _fetch(models, wan_hub_cache, second)
    assert read_manifest(target)["name"] == "wan-t2v-1.3b"
    # Files finished before the cancel were not copied again.
    assert {p: p.stat().st_mtime_ns for p in done_before} == done_before


def test_an_unreachable_hub_says_what_to_do_in_one_paragraph(tmp_path, online):
    port = closed_port()
    with pytest.raises(GenerationError) as exc:
        _fetch(
            tmp_path / "models",
            tmp_path / "empty-cache",
            Recorder(),
            endpoint=f"http://127.0.0.1:{port}",
        )
    message = exc.value.message
    assert "unreachable" in message and "refused" in message.lower()
    assert str(tmp_path / "models" / "wan-t2v-1.3b") in message
    assert "STUDIO_WAN_MODEL" in message and "STUDIO_HF_ENDPOINT" in message
    assert "\n" not in message and "http://" not in message and "Traceback" not in message
    assert not (tmp_path / "models").exists()  # Nothing was written.


def test_offline_mode_is_reported_without_trying_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(GenerationError) as exc:
        _fetch(tmp_path / "models", tmp_path / "empty-cache", Recorder(), endpoint=None)
    assert "HF_HUB_OFFLINE" in exc.value.message and "STUDIO_WAN_MODEL" in exc.value.message


def test_a_hand_copied_directory_installs_while_offline(tmp_path, tiny_wan_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "models" / "wan-t2v-1.3b"
    shutil.copytree(tiny_wan_dir, target)
    _fetch(tmp_path / "models", tmp_path / "empty-cache", Recorder())
    assert read_manifest(target)["source"] == "local copy"


def test_a_partial_copy_is_not_taken_for_a_model(tmp_path, tiny_wan_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "models" / "wan-t2v-1.3b"
    shutil.copytree(tiny_wan_dir, target)
    shutil.rmtree(target / "vae")
    with pytest.raises(GenerationError, match="unreachable"):
        _fetch(tmp_path / "models", tmp_path / "empty-cache", Recorder())
    assert not (target / MANIFEST).exists()


def test_not_enough_disk_is_refused_before_anything_is_written(
    tmp_path, wan_hub_cache, monkeypatch
):
    monkeypatch.setattr("generation.fetch._same_device", lambda a, b: False)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("shutil.disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(GenerationError) as exc:
        _fetch(tmp_path / "models", wan_hub_cache, Recorder())
    message = exc.value.message
    assert (
        "Not enough disk space" in message
        and "1.0 KB free" in message
        and "500.0 MB margin" in message
    )
    assert str(tmp_path) in message  # Where: the nearest existing folder.
    assert not (tmp_path / "models").exists()


def test_a_truncated_safetensors_file_fails_verification_naming_it(tmp_path, tiny_wan_dir):
    target = tmp_path / "wan"
    shutil.copytree(tiny_wan_dir, target)
    verify(target)
    weights = target / "transformer" / "diffusion_pytorch_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) - 100])
    with pytest.raises(GenerationError) as exc:
        verify(target)
    assert "transformer/diffusion_pytorch_model.safetensors" in exc.value.message
    assert "truncated" in exc.value.message
    assert not weights.exists()  # Removed, so the next fetch downloads it again.


def test_a_missing_component_fails_verification(tmp_path, tiny_wan_dir):
    target = tmp_path / "wan"
    shutil.copytree(tiny_wan_dir, target)
    shutil.rmtree(target / "text_encoder")
    with pytest.raises(GenerationError, match="'text_encoder'"):
        verify(target)


def test_an_installed_model_is_not_fetched_again(tmp_path, wan_hub_cache):
    models = tmp_path / "models"
    _fetch(models, wan_hub_cache, Recorder())
    shutil.rmtree(wan_hub_cache)
    rec = Recorder()
    _fetch(models, tmp_path / "gone", rec)
    assert len(rec.calls) == 1 and rec.calls[0][0] == rec.calls[0][1] > 0


def test_a_download_from_the_hub_reports_bytes_and_installs(tmp_path, wan_fake_hub):
    rec = Recorder()
    target = _fetch(tmp_path / "models", tmp_path / "empty-cache", rec, endpoint=wan_fake_hub.url)
    manifest = read_manifest(target)
    assert manifest["source"] == "hub" and manifest["commit"] == COMMIT
    weights = [f for f in wan_fake_hub.gets if f.endswith(".safetensors")]
    assert weights and all(wan_fake_hub.gets[f] == 1 for f in wan_fake_hub.gets)
    for rel, path in wan_fake_hub.files.items():
        assert (target / rel).read_bytes() == path.read_bytes()
    dones = [d for d, _, _ in rec.calls]
    assert dones == sorted(dones) and rec.calls[-1][:2] == (manifest["bytes"], manifest["bytes"])


def test_a_cancelled_hub_download_resumes_without_fetching_finished_files(tmp_path, wan_fake_hub):
    models = tmp_path / "models"
    first = Recorder(cancel_after=4)
    with pytest.raises(Cancelled):
        _fetch(models, tmp_path / "empty-cache", first, endpoint=wan_fake_hub.url)
    target = models / "wan-t2v-1.3b"
    assert not (target / MANIFEST).exists()
    finished = [rel for rel in wan_fake_hub.files if (target / rel).is_file()]
    assert finished and len(finished) < len(wan_fake_hub.files)
    assert not list(target.rglob("*.incomplete"))

    _fetch(models, tmp_path / "empty-cache", Recorder(), endpoint=wan_fake_hub.url)
    assert read_manifest(target)["source"] == "hub"
    assert all(wan_fake_hub.gets[rel] == 1 for rel in finished)  # Not downloaded again.


def test_a_file_the_hub_serves_short_fails_verification(tmp_path, wan_fake_hub):
    rel = "transformer/diffusion_pytorch_model.safetensors"
    original = wan_fake_hub.files[rel]
    short = tmp_path / "short.safetensors"
    short.write_bytes(original.read_bytes()[:-64])
    listing = wan_fake_hub._listing
    wan_fake_hub._listing = lambda: {  # The listing still gives the full size.
        **listing(),
        "siblings": [
            {**s, "size": original.stat().st_size} if s["rfilename"] == rel else s
            for s in listing()["siblings"]
        ],
    }
    wan_fake_hub.files[rel] = short
    with pytest.raises(GenerationError) as exc:
        _fetch(tmp_path / "models", tmp_path / "empty-cache", Recorder(), endpoint=wan_fake_hub.url)
    assert rel in exc.value.message
    assert not (tmp_path / "models" / "wan-t2v-1.3b" / MANIFEST).exists()


def test_the_hub_going_away_midway_says_fetch_again(tmp_path, wan_fake_hub):
    rec = Recorder()

    def progress(done, total, current):
        rec.progress(done, total, current)
        if len(rec.calls) == 3:  # The network goes after a few chunks.
            wan_fake_hub.server.shutdown()
            wan_fake_hub.server.server_close()

    with pytest.raises(GenerationError) as exc:
        fetch(
            WAN,
            tmp_path / "models",
            progress=progress,
            should_cancel=lambda: False,
            cache_dir=tmp_path / "empty-cache",
            endpoint=wan_fake_hub.url,
        )
    message = exc.value.message
    assert "became unreachable" in message and "Fetch it again to continue" in message
    assert "\n" not in message and "http://" not in message
    assert not (tmp_path / "models" / "wan-t2v-1.3b" / MANIFEST).exists()


@pytest.mark.parametrize(
    "status, headers, expected",
    [
        (403, {"X-Error-Code": "GatedRepo"}, ["is gated", "HF_TOKEN"]),
        (401, {"X-Error-Code": "RepoNotFound"}, ["no repository", "HF_TOKEN"]),
        (401, {}, ["refused access", "HF_TOKEN"]),
        (404, {}, ["HTTP 404", "STUDIO_HF_ENDPOINT"]),
        (503, {}, ["unreachable", "HTTP 503", "STUDIO_WAN_MODEL"]),
    ],
)
def test_hub_refusals_say_what_to_do(tmp_path, wan_fake_hub, status, headers, expected):
    wan_fake_hub.error = (status, headers)
    with pytest.raises(GenerationError) as exc:
        _fetch(tmp_path / "models", tmp_path / "empty-cache", Recorder(), endpoint=wan_fake_hub.url)
    message = exc.value.message
    assert all(text in message for text in expected), message
    assert "\n" not in message and wan_fake_hub.url not in message


def test_an_incomplete_hub_cache_snapshot_is_not_used(tmp_path, wan_hub_cache, online):
    snapshot = cached_snapshot(WAN, wan_hub_cache)
    shutil.rmtree(snapshot / "vae")  # Cached by a download with other patterns.
    with pytest.raises(GenerationError, match="unreachable"):
        _fetch(tmp_path / "models", wan_hub_cache, Recorder())
    assert not (tmp_path / "models").exists()
