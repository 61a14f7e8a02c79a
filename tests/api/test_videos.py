"""The /v1 API through Django's test client, with the real Redis and an in-process worker."""

import base64
import hashlib
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from generation import video
from studio.jobs.models import Clip, Generation, Prompt
from studio.keys.models import ApiKey
from studio.keys.services import api_key_create, api_key_revoke
from studio.teams.models import Membership
from studio.teams.services import member_add
from tests.conftest import png_bytes
from tests.studio.test_prompt_form import post

pytestmark = pytest.mark.django_db

ANIMATIC = {"prompt": "a lighthouse at dusk", "model": "animatic", "seconds": "1", "size": "96x64"}


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit hooks (the enqueue) as the request's transaction commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _pk(video_id: str) -> str:
    return video_id.removeprefix("video_")


def _made(api, commit, run_worker, **overrides) -> dict:
    with commit():
        response = api.post("/videos", {**ANIMATIC, **overrides})
    assert response.status_code == 200, response.json()
    run_worker()
    return api.get(f"/videos/{response.json()['id']}").json()


def test_create_runs_the_same_pipeline_as_the_ui(api, alice_key, alice, commit, run_worker):
    api.key = alice_key
    with commit():
        response = api.post("/videos", ANIMATIC)
    created = response.json()
    assert response.status_code == 200
    assert (created["object"], created["status"], created["progress"]) == ("video", "queued", 0)
    assert (created["size"], created["seconds"], created["model"]) == ("96x64", "1", "animatic")
    g = Generation.objects.get(pk=_pk(created["id"]))
    assert g.prompt.text == "a lighthouse at dusk" and g.requested_by == alice
    assert g.project.name == "API" and g.project.team == alice.memberships.get().team
    assert response["openai-poll-after-ms"] == "2000"

    run_worker()
    done = api.get(f"/videos/{created['id']}").json()
    assert (done["status"], done["progress"], done["error"]) == ("completed", 100, None)
    assert done["completed_at"] >= done["created_at"]
    clip = Clip.objects.get(generation=g)
    assert (clip.width, clip.height, clip.num_frames) == (96, 64, 24)
    # The clip is in the project's gallery, like any clip made in the browser.
    api_client = api.client
    api_client.force_login(alice)
    page = api_client.get(f"/projects/{g.project_id}/").content.decode()
    assert f"/clips/{clip.pk}/" in page


def test_content_variants(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    mp4 = api.get(f"/videos/{done['id']}/content")
    assert mp4["Content-Type"] == "video/mp4"
    with av.open(io.BytesIO(b"".join(mp4.streaming_content))) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (96, 64)
    ranged = api.get(f"/videos/{done['id']}/content", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100
    thumb = api.get(f"/videos/{done['id']}/content", {"variant": "thumbnail"})
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size == (96, 64)
    sheet = api.get(f"/videos/{done['id']}/content", {"variant": "spritesheet"})
    image = Image.open(io.BytesIO(b"".join(sheet.streaming_content)))
    assert image.format == "JPEG" and image.size == (1024, 4 * round(256 * 64 / 96))
    bad = api.get(f"/videos/{done['id']}/content", {"variant": "gif"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "variant"


def test_spritesheet_is_drawn_for_clips_made_before_it_existed(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    clip = Clip.objects.get(generation_id=_pk(done["id"]))
    default_storage.delete(clip.spritesheet.name)
    response = api.get(f"/videos/{done['id']}/content", {"variant": "spritesheet"})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    clip.refresh_from_db()
    assert default_storage.exists(clip.spritesheet.name)


def test_content_of_an_unfinished_video_is_a_clear_400(api, alice_key, commit):
    api.key = alice_key
    with commit():
        created = api.post("/videos", ANIMATIC).json()
    response = api.get(f"/videos/{created['id']}/content")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "video_not_ready"
    assert "only a completed video" in response.json()["error"]["message"]


def test_progress_is_the_real_step_progress(api, alice_key, commit):
    api.key = alice_key
    with commit():
        created = api.post("/videos", ANIMATIC).json()
    Generation.objects.filter(pk=_pk(created["id"])).update(
        status="running", step=3, total_steps=12
    )
    running = api.get(f"/videos/{created['id']}").json()
    assert (running["status"], running["progress"]) == ("in_progress", 25)


def test_multipart_upload_makes_image_to_video(api, alice_key, commit, run_worker):
    image = io.BytesIO(png_bytes(120, 80))
    image.name = "still.png"
    with commit():
        response = api.post_form("/videos", {**ANIMATIC, "input_reference": image}, key=alice_key)
    assert response.status_code == 200, response.json()
    g = Generation.objects.get(pk=_pk(response.json()["id"]))
    assert g.mode == "image_to_video" and g.prompt.image
    run_worker()
    g.refresh_from_db()
    assert g.status == "succeeded", g.error


def test_json_data_url_reference(api, alice_key, commit):
    api.key = alice_key
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes(40, 40)).decode()
    with commit():
        response = api.post("/videos", {**ANIMATIC, "input_reference": {"image_url": data_url}})
    assert response.status_code == 200, response.json()
    assert Generation.objects.get(pk=_pk(response.json()["id"])).mode == "image_to_video"


def test_studio_extras_reach_the_recipe(api, alice_key, commit):
    api.key = alice_key
    extras = {"seed": 42, "fps": 12, "camera_motion": "dolly_in", "negative_prompt": "blur"}
    with commit():
        created = api.post("/videos", {**ANIMATIC, **extras}).json()
    recipe = Generation.objects.get(pk=_pk(created["id"])).recipe
    assert (recipe["seed"], recipe["fps"], recipe["camera_motion"]) == (42, 12, "dolly_in")
    assert recipe["num_frames"] == 12 and "blur" in recipe["negative_prompt"]


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"model": "animatic"}, "prompt", "Missing required parameter: 'prompt'"),
        (
            {**ANIMATIC, "model": "sora-2"},
            "model",
            "Models here that can do text to video: animatic",
        ),
        ({**ANIMATIC, "size": "big"}, "size", "WIDTHxHEIGHT"),
        ({**ANIMATIC, "size": "100x50"}, "size", "multiple of 8. Try size 96x64"),
        ({**ANIMATIC, "size": "4000x64"}, "size", "outside 64–1920px"),
        ({**ANIMATIC, "seconds": "four"}, "seconds", "must be a number"),
        ({**ANIMATIC, "seconds": "9000"}, "seconds", "between 0.05 and 120"),
        ({**ANIMATIC, "seconds": "121"}, "seconds", "between 0.05 and 120"),
        ({**ANIMATIC, "camera_motion": "barrel_roll"}, "camera_motion", "must be one of"),
        ({**ANIMATIC, "prompt": "x" * 2001}, "prompt", "limit is 2000"),
        ({**ANIMATIC, "steps": 0}, "steps", "at least 1"),
        (
            {**ANIMATIC, "input_reference": {"image_url": "https://example.com/a.png"}},
            "input_reference",
            "does not download",
        ),
        ({**ANIMATIC, "input_reference": {"file_id": "file-1"}}, "input_reference", "file_id"),
        ({**ANIMATIC, "project_id": 999999}, "project_id", "No project 999999"),
    ],
)
def test_bad_create_requests_are_openai_errors(api, alice_key, body, param, needle):
    api.key = alice_key
    response = api.post("/videos", body)
    error = response.json()["error"]
    assert response.status_code in (400, 404)
    assert error["param"] == param and needle in error["message"], error
    assert set(error) == {"message", "type", "param", "code"}
    assert Generation.objects.count() == 0 and Prompt.objects.count() == 0


def test_a_mode_no_engine_has_is_a_clear_400(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    response = api.post("/videos/edits", {"video": {"id": done["id"]}, "prompt": "watercolor"})
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "model"
    assert "No engine configured here can do video to video" in error["message"]


def test_an_engine_without_the_mode_names_those_with_it(
    api, alice_key, tiny_wan_settings, commit, run_worker
):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    body = {"video": {"id": done["id"]}, "prompt": "watercolor", "model": "animatic"}
    error = api.post("/videos/edits", body).json()["error"]
    assert error["param"] == "model" and "needs one of these engines: Wan" in error["message"]
    image = {"image_url": "data:image/png;base64," + base64.b64encode(png_bytes()).decode()}
    error = api.post("/videos", {**ANIMATIC, "model": "wan", "input_reference": image}).json()
    assert "cannot do image to video. Models here that can: animatic" in error["error"]["message"]


def test_malformed_and_unsupported_bodies(api, alice_key):
    api.key = alice_key
    response = api.client.post(
        "/v1/videos", b"{not json", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = api.client.post(
        "/v1/videos", b"[1, 2]", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )  # fmt: skip
    assert (
        response.status_code == 400 and "must be an object" in response.json()["error"]["message"]
    )
    response = api.client.post(
        "/v1/videos", b"<xml/>", content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )  # fmt: skip
    assert response.status_code == 400 and "Content-Type" in response.json()["error"]["message"]


def test_oversized_uploads_are_413(api, alice_key, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 2_000
    image = io.BytesIO(np.random.default_rng(0).bytes(5_000))
    image.name = "big.png"
    response = api.post_form("/videos", {**ANIMATIC, "input_reference": image}, key=alice_key)
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "input_reference"
    huge = io.BytesIO(b"\0" * (2_000 + (1 << 20) + 10))
    huge.name = "huge.png"
    response = api.post_form("/videos", {**ANIMATIC, "input_reference": huge}, key=alice_key)
    assert response.status_code == 413 and "limit" in response.json()["error"]["message"]
    assert Generation.objects.count() == 0


def test_not_an_image_is_a_400(api, alice_key):
    bad = io.BytesIO(b"this is text")
    bad.name = "notes.png"
    response = api.post_form("/videos", {**ANIMATIC, "input_reference": bad}, key=alice_key)
    assert response.status_code == 400 and "not an image" in response.json()["error"]["message"]


def test_multipart_fields_are_validated_like_json(api, alice_key, commit):
    response = api.post_form("/videos", {**ANIMATIC, "fps": "0"}, key=alice_key)
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "fps"
    assert error["message"] == "'fps' must be between 1 and 120; got '0'."
    with commit():
        created = api.post("/videos", ANIMATIC, key=alice_key).json()
    # The SDK's `video={"id": ...}` arrives as a `video[id]` form field.
    response = api.post_form(
        "/videos/extensions",
        {"video[id]": created["id"], "prompt": "more", "seconds": "1"},
        key=alice_key,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "video_not_ready"


def test_an_internal_error_is_an_openai_500_that_a_create_must_not_retry(
    api, alice_key, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("studio.api.services.video_create", broken)
    monkeypatch.setattr("studio.api.services.visible_generation", broken)
    api.key = alice_key
    response = api.post("/videos", ANIMATIC)
    assert response.status_code == 500 and response["x-should-retry"] == "false"
    assert response.json()["error"]["type"] == "server_error"
    assert "disk on fire" not in response.json()["error"]["message"]
    response = api.get("/videos/video_" + "0" * 32)
    assert response.status_code == 500 and not response.has_header("x-should-retry")


def test_keys(api, alice, alice_key, bob):
    assert api.get("/videos", key="").status_code == 401
    assert api.get("/videos", key="").json()["error"]["code"] == "missing_api_key"
    assert api.get("/videos", key="sk-studio-nope").json()["error"]["code"] == "invalid_api_key"
    assert api.get("/videos", key=alice_key).status_code == 200
    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    api_key_revoke(key=key)
    response = api.get("/videos", key=alice_key)
    assert response.status_code == 401 and "revoked" in response.json()["error"]["message"]


def test_a_key_dies_with_its_owners_membership(api, alice, bob, alice_project):
    team = alice.memberships.get().team
    member_add(team=team, user=bob, role=Membership.Role.EDITOR)
    _, raw = api_key_create(team=team, user=bob, name="bob in alice's team")
    assert api.get("/videos", key=raw).status_code == 200
    Membership.objects.filter(team=team, user=bob).delete()
    response = api.get("/videos", key=raw)
    assert response.status_code == 401 and "no longer" in response.json()["error"]["message"]


def test_viewers_read_but_do_not_write(api, alice, bob, alice_project, commit, run_worker):
    team = alice.memberships.get().team
    member_add(team=team, user=bob, role=Membership.Role.VIEWER)
    _, viewer_key = api_key_create(team=team, user=bob, name="viewer")
    response = api.post("/videos", ANIMATIC, key=viewer_key)
    assert response.status_code == 403 and "editor" in response.json()["error"]["message"]
    assert api.get("/videos", key=viewer_key).status_code == 200


def test_other_teams_videos_do_not_exist(api, alice_key, bob_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    vid = done["id"]
    for response in [
        api.get(f"/videos/{vid}", key=bob_key),
        api.get(f"/videos/{vid}/content", key=bob_key),
        api.delete(f"/videos/{vid}", key=bob_key),
        api.post(f"/videos/{vid}/remix", {"prompt": "mine"}, key=bob_key),
        api.post("/videos/extensions", {"video": {"id": vid}, "prompt": "p", "seconds": 1},
                 key=bob_key),
        api.get("/videos", {"after": vid}, key=bob_key),
    ]:  # fmt: skip
        assert response.status_code == 404, response.content
    assert api.get("/videos", key=bob_key).json()["data"] == []
    assert Generation.objects.count() == 1


def test_project_scoped_key(api, alice, alice_project, commit, run_worker):
    team = alice.memberships.get().team
    _, team_key = api_key_create(team=team, user=alice, name="team")
    with commit():
        elsewhere = api.post("/videos", ANIMATIC, key=team_key).json()
    _, scoped = api_key_create(team=team, user=alice, name="one", project=alice_project)
    with commit():
        here = api.post("/videos", ANIMATIC, key=scoped).json()
    assert here["project_id"] == alice_project.pk
    assert [v["id"] for v in api.get("/videos", key=scoped).json()["data"]] == [here["id"]]
    assert api.get(f"/videos/{elsewhere['id']}", key=scoped).status_code == 404
    assert len(api.get("/videos", key=team_key).json()["data"]) == 2
    response = api.post("/videos", {**ANIMATIC, "project_id": elsewhere["project_id"]}, key=scoped)
    assert response.status_code == 404


def test_list_pages_with_cursors(api, alice_key, commit):
    api.key = alice_key
    ids = []
    for n in range(5):
        with commit():
            ids.append(api.post("/videos", {**ANIMATIC, "prompt": f"shot {n}"}).json()["id"])
    newest_first = list(reversed(ids))
    seen, after = [], None
    while True:
        page = api.get("/videos", {"limit": 2, **({"after": after} if after else {})}).json()
        assert page["object"] == "list" and len(page["data"]) <= 2
        seen += [v["id"] for v in page["data"]]
        assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == seen[-1]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == newest_first
    asc = api.get("/videos", {"order": "asc", "limit": 10}).json()
    assert [v["id"] for v in asc["data"]] == ids and asc["has_more"] is False
    assert api.get("/videos", {"limit": 0}).status_code == 400
    assert api.get("/videos", {"order": "sideways"}).status_code == 400


def test_remix_keeps_recipe_and_records_lineage(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker, seed=99, camera_motion="pan_left")
    with commit():
        response = api.post(f"/videos/{done['id']}/remix", {"prompt": "a castle at dawn"})
    remix = response.json()
    assert response.status_code == 200, remix
    assert remix["remixed_from_video_id"] == done["id"] and remix["prompt"] == "a castle at dawn"
    run_worker()
    g = Generation.objects.get(pk=_pk(remix["id"]))
    assert (g.recipe["seed"], g.recipe["camera_motion"]) == (99, "pan_left")
    assert g.clip.parent_clip.generation_id.hex == _pk(done["id"])
    api.client.force_login(g.requested_by)
    card = api.client.get(f"/projects/{g.project_id}/").content.decode()
    assert f"clip {g.clip.parent_clip_id}</a> · Remix" in card
    missing = api.post(f"/videos/{done['id']}/remix", {})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "prompt"


def test_remix_of_an_unfinished_video_is_refused(api, alice_key, commit):
    api.key = alice_key
    with commit():
        created = api.post("/videos", ANIMATIC).json()
    response = api.post(f"/videos/{created['id']}/remix", {"prompt": "again"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "video_not_ready"


def test_delete(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    clip = Clip.objects.get(generation_id=_pk(done["id"]))
    files = clip.file_names
    assert len(files) == 3 and all(default_storage.exists(f) for f in files)
    with commit():  # Files go once the deletion commits.
        response = api.delete(f"/videos/{done['id']}")
    assert response.json() == {"id": done["id"], "object": "video.deleted", "deleted": True}
    assert not any(default_storage.exists(f) for f in files)
    assert api.get(f"/videos/{done['id']}").status_code == 404
    assert not Generation.objects.exists() and not Clip.objects.exists()


def test_delete_cancels_a_queued_video_and_refuses_a_running_one(api, alice_key, commit):
    api.key = alice_key
    with commit():
        queued = api.post("/videos", ANIMATIC).json()
        running = api.post("/videos", ANIMATIC).json()
    assert api.delete(f"/videos/{queued['id']}").status_code == 200
    assert not Generation.objects.filter(pk=_pk(queued["id"])).exists()
    Generation.objects.filter(pk=_pk(running["id"])).update(status="running")
    response = api.delete(f"/videos/{running['id']}")
    assert response.status_code == 400 and "asked to stop" in response.json()["error"]["message"]
    assert Generation.objects.get(pk=_pk(running["id"])).cancel_requested


def test_edit_an_uploaded_video_with_tiny_wan(
    api, alice_key, tiny_wan_settings, commit, run_worker, tmp_path
):
    frames = np.stack([np.roll(np.full((32, 32, 3), 60, np.uint8), k, axis=1) for k in range(9)])
    frames[:, 8:24, 8:24] = 220
    path = tmp_path / "mine.mp4"
    video.encode_mp4(frames, 16, path)
    upload = io.BytesIO(path.read_bytes())
    upload.name = "mine.mp4"
    with commit():
        response = api.post_form(
            "/videos/edits",
            {"video": upload, "prompt": "as a watercolor painting", "strength": "0.5"},
            key=alice_key,
        )
    assert response.status_code == 200, response.json()
    edited = response.json()
    assert edited["remixed_from_video_id"] is None and edited["size"] == "32x32"
    run_worker()
    g = Generation.objects.get(pk=_pk(edited["id"]))
    assert g.status == "succeeded", g.error
    assert g.mode == "video_to_video" and g.recipe["strength"] == 0.5


def test_a_non_video_upload_is_a_400(api, alice_key, tiny_wan_settings, tmp_path):
    tiny_wan_settings.MEDIA_ROOT = str(tmp_path)
    upload = io.BytesIO(b"not a video at all")
    upload.name = "clip.mp4"
    response = api.post_form("/videos/edits", {"video": upload, "prompt": "x"}, key=alice_key)
    assert response.status_code == 400 and response.json()["error"]["param"] == "video"
    assert not list((Path(tiny_wan_settings.MEDIA_ROOT) / "inputs" / "api").glob("*/*"))


def test_extension_needs_seconds_and_video(api, alice_key, commit, run_worker):
    api.key = alice_key
    done = _made(api, commit, run_worker)
    response = api.post("/videos/extensions", {"video": {"id": done["id"]}, "prompt": "more"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "seconds"
    response = api.post("/videos/extensions", {"prompt": "more", "seconds": 2})
    assert response.status_code == 400 and response.json()["error"]["param"] == "video"


def test_rate_limit(api, alice_key, bob_key, settings):
    settings.STUDIO_API_RATE_LIMIT = 3
    for n in range(3):
        response = api.get("/models", key=alice_key)
        assert response.status_code == 200
        assert response["x-ratelimit-remaining-requests"] == str(2 - n)
    limited = api.get("/models", key=alice_key)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert api.get("/models", key=bob_key).status_code == 200


def test_unknown_paths_and_methods(api, alice_key):
    api.key = alice_key
    response = api.get("/nothing/here")
    assert response.status_code == 404 and response.json()["error"]["message"]
    response = api.client.put("/v1/videos", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
    assert response.status_code == 405 and "use GET or POST" in response.json()["error"]["message"]


def test_models_list_the_engines(api, alice_key, tiny_wan_settings):
    api.key = alice_key
    models = {m["id"]: m for m in api.get("/models").json()["data"]}
    assert set(models) == {"animatic", "wan"}
    assert "video_to_video" in models["wan"]["modes"]
    assert api.get("/models/wan").json()["id"] == "wan"
    assert api.get("/models/sora-2").status_code == 404


def test_failed_video_reports_its_reason(api, alice_key, commit):
    api.key = alice_key
    with commit():
        created = api.post("/videos", ANIMATIC).json()
    Generation.objects.filter(pk=_pk(created["id"])).update(
        status="failed", error="Out of memory at 96×64; try 64×64.", error_code="out_of_memory"
    )
    failed = api.get(f"/videos/{created['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "code": "out_of_memory",
        "message": "Out of memory at 96×64; try 64×64.",
    }
    assert json.dumps(failed)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ('{"prompt": "a\\ud800", "model": "animatic"}', "not valid text"),
        ('{"prompt": "a\\u0000b", "model": "animatic"}', "not valid text"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"prompt": "x", "model": "animatic", "size": "512x0"}', "WIDTHxHEIGHT"),
        ('{"prompt": ["x"], "model": "animatic"}', "must be a string"),
        ('{"prompt": "x", "model": "animatic", "seconds": [4]}', "must be a number"),
        ('{"prompt": "x", "model": "animatic", "seed": 1.5}', "must be an integer"),
        ('{"prompt": "x", "model": "animatic", "seed": -1}', "between 0 and 9223372036854775807"),
        ('{"prompt": "x", "model": 7}', "must be a string"),
        ('{"prompt": "x", "model": "animatic", "input_reference": "a.png"}', "image file"),
    ],
)
def test_odd_json_is_a_400_not_a_500(api, alice_key, raw, needle):
    response = api.client.post(
        "/v1/videos", raw.encode(), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_key}",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert needle in response.json()["error"]["message"]


def test_big_seeds_stay_exact(api, alice_key, commit):
    api.key = alice_key
    for seed in (2**62 + 1, "9223372036854775807"):
        with commit():
            created = api.post("/videos", {**ANIMATIC, "seed": seed}).json()
        assert Generation.objects.get(pk=_pk(created["id"])).recipe["seed"] == int(seed)


def test_head_works_where_get_does(api, alice_key):
    response = api.client.head("/v1/videos", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
    assert response.status_code == 200


def test_redis_down_at_submit_still_records_the_job(api, alice_key, commit, monkeypatch):
    def unreachable(generation_id):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr("studio.jobs.services._enqueue", unreachable)
    api.key = alice_key
    with commit():
        response = api.post("/videos", ANIMATIC)
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert Generation.objects.get().status == "queued"


def test_a_failed_create_leaves_no_image_behind(api, alice_key, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = io.BytesIO(png_bytes(64, 64))
    image.name = "ref.png"
    body = {**ANIMATIC, "size": "8x8", "input_reference": image}
    response = api.post_form("/videos", body, key=alice_key)
    assert response.status_code == 400 and response.json()["error"]["param"] == "size"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_upload_tags_are_untrusted(api, alice_key, tiny_wan_settings, commit, tmp_path):
    tiny_wan_settings.MEDIA_ROOT = str(tmp_path / "media")
    frames = np.full((9, 32, 32, 3), 90, np.uint8)
    path = tmp_path / "tagged.mp4"
    tags = {"generation_id": "junk", "seed": "abc", "prompt": ["not", "text"]}
    video.encode_mp4(frames, 16, path, metadata=video.recipe_metadata(tags))
    upload = io.BytesIO(path.read_bytes())
    upload.name = "tagged.mp4"
    with commit():
        response = api.post_form(
            "/videos/edits", {"video": upload, "prompt": "ink wash"}, key=alice_key
        )
    assert response.status_code == 200, response.json()
    assert Generation.objects.get().recipe["seed"] == 0


def test_an_upload_not_of_ours_is_not_read_again_to_hash_it(
    api, alice_key, tiny_wan_settings, commit, tmp_path, monkeypatch
):
    """Only an upload tagged as one of the caller's clips is hashed (to prove it unchanged):
    hashing every upload in the request was CPU that other requests waited for."""
    tiny_wan_settings.MEDIA_ROOT = str(tmp_path / "media")
    path = tmp_path / "theirs.mp4"
    video.encode_mp4(np.full((9, 32, 32, 3), 90, np.uint8), 16, path)
    with path.open("ab") as f:  # A `free` box: 1 MB more of a still valid MP4.
        f.write((1 << 20).to_bytes(4, "big") + b"free" + bytes((1 << 20) - 8))
    hashed = []
    sha256 = hashlib.sha256

    class CountingSha256:
        def __init__(self, data=b"", **kwargs):
            self.digest = sha256(data, **kwargs)
            hashed.append(memoryview(data).nbytes)

        def update(self, data):
            hashed.append(memoryview(data).nbytes)
            self.digest.update(data)

        def hexdigest(self):
            return self.digest.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", CountingSha256)
    upload = io.BytesIO(path.read_bytes())
    upload.name = "theirs.mp4"
    with commit():
        response = api.post_form(
            "/videos/edits", {"video": upload, "prompt": "ink wash"}, key=alice_key
        )
    assert response.status_code == 200, response.json()
    assert hashed and sum(hashed) < 1 << 20  # The key's digest, not the video's.


def test_an_unreadable_upload_is_named_as_the_user_named_it(api, alice_key, tiny_wan_settings):
    upload = io.BytesIO(b"")
    upload.name = "holiday.mp4"
    response = api.post_form("/videos/edits", {"video": upload, "prompt": "x"}, key=alice_key)
    assert response.status_code == 400
    assert "holiday.mp4" in response.json()["error"]["message"]


def test_delete_waits_for_jobs_reading_the_video(
    api, alice_key, tiny_wan_settings, commit, run_worker
):
    api.key = alice_key
    done = _made(api, commit, run_worker, size="32x32", model="wan", seconds="0.5", steps=2)
    with commit():
        edit = api.post("/videos/edits", {"video": {"id": done["id"]}, "prompt": "ink"}).json()
    response = api.delete(f"/videos/{done['id']}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "in_use"
    run_worker()
    assert api.get(f"/videos/{edit['id']}").json()["status"] == "completed"
    assert api.delete(f"/videos/{done['id']}").status_code == 200


def test_delete_removes_inputs_nothing_else_uses(api, alice_key, settings, commit, run_worker):
    api.key = alice_key
    image = {"image_url": "data:image/png;base64," + base64.b64encode(png_bytes()).decode()}
    first = _made(api, commit, run_worker, input_reference=image)
    with commit():
        remix = api.post(f"/videos/{first['id']}/remix", {"prompt": "again"}).json()
    run_worker()
    image = Generation.objects.get(pk=_pk(first["id"])).recipe["image_path"]
    assert default_storage.exists(image)
    with commit():
        assert api.delete(f"/videos/{first['id']}").status_code == 200
    assert default_storage.exists(image), "the remix still uses the image"
    assert Prompt.objects.count() == 1
    with commit():
        assert api.delete(f"/videos/{remix['id']}").status_code == 200
    assert not default_storage.exists(image) and Prompt.objects.count() == 0


def test_listing_survives_deleting_as_you_go(api, alice_key, commit, run_worker):
    api.key = alice_key
    for n in range(5):
        _made(api, commit, run_worker, prompt=f"shot {n}")
    deleted, after = 0, None
    while True:
        page = api.get("/videos", {"limit": 2, **({"after": after} if after else {})}).json()
        for item in page["data"]:
            assert api.delete(f"/videos/{item['id']}").status_code == 200
            deleted += 1
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert deleted == 5 and not Generation.objects.exists()


def test_remix_of_a_derived_video_points_at_its_source(
    api, alice_key, tiny_wan_settings, commit, run_worker
):
    api.key = alice_key
    done = _made(api, commit, run_worker, size="32x32", model="wan", seconds="0.5", steps=2)
    with commit():
        edit = api.post("/videos/edits", {"video": {"id": done["id"]}, "prompt": "ink"}).json()
    run_worker()
    response = api.post(f"/videos/{edit['id']}/remix", {"prompt": "oil paint"})
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "not_remixable"
    assert done["id"] in error["message"]


def test_a_key_never_reaches_outside_its_team(api, alice, bob, alice_project, commit):
    api.key = api_key_create(
        team=alice.memberships.get().team, user=alice, name="x", project=alice_project
    )[1]
    bobs_project = bob.memberships.get().team.projects.create(name="Bob's", created_by=bob)
    ApiKey.objects.update(project=bobs_project)  # As a careless admin edit could.
    assert api.get("/videos").json()["data"] == []
    assert api.post("/videos", ANIMATIC).status_code == 404
    assert not Generation.objects.filter(project=bobs_project).exists()


def test_idempotency_key_makes_a_retried_create_return_the_first_video(api, alice_key, commit):
    api.key = alice_key
    with commit():
        first = api.post("/videos", ANIMATIC, HTTP_IDEMPOTENCY_KEY="req-1").json()
        again = api.post("/videos", ANIMATIC, HTTP_IDEMPOTENCY_KEY="req-1").json()
        other = api.post("/videos", ANIMATIC, HTTP_IDEMPOTENCY_KEY="req-2").json()
    assert first["id"] == again["id"] != other["id"]
    assert Generation.objects.count() == 2
    # A failed attempt does not use the key up.
    bad = api.post("/videos", {**ANIMATIC, "size": "1x1"}, HTTP_IDEMPOTENCY_KEY="req-3")
    assert bad.status_code == 400
    with commit():
        good = api.post("/videos", ANIMATIC, HTTP_IDEMPOTENCY_KEY="req-3")
    assert good.status_code == 200 and Generation.objects.count() == 3


def test_prompt_limit_counts_what_the_user_wrote(api, alice_key, tiny_wan_settings, commit):
    api.key = alice_key
    body = {"prompt": "w" * 1990, "model": "wan", "size": "32x32", "seconds": "0.5",
            "camera_motion": "dolly_in", "style": "cinematic"}  # fmt: skip
    with commit():
        response = api.post("/videos", body)
    assert response.status_code == 200, response.json()
    recipe = Generation.objects.get().recipe
    assert len(recipe["prompt"]) > 2000 and recipe["prompt"].startswith("w" * 1990)


# ---- The prompt form's creative controls: camera speed, guidance, motion amount ----------

CONTROLS = ("guidance", "options", "prompt", "camera_motion")


def test_controls_are_recorded_as_the_form_records_them(
    api, alice_key, alice_client, alice_project, tiny_wan_settings, commit
):
    api.key = alice_key
    asked = {"camera_motion": "pan_left", "camera_speed": "fast", "guidance": 7.5, "seed": 3}
    body = {**ANIMATIC, "model": "wan", "size": "32x32", "seconds": "0.5", "fps": 16, **asked}
    with commit():
        created = api.post("/videos", body)
    assert created.status_code == 200, created.json()
    by_api = Generation.objects.get(pk=_pk(created.json()["id"]))
    post(alice_client, alice_project, text=ANIMATIC["prompt"], engine="wan", resolution="32",
         aspect_ratio="1:1", duration_s="0.5", fps="16", style_preset="",
         **{k: str(v) for k, v in asked.items()})  # fmt: skip
    by_form = Generation.objects.get(project=alice_project)
    assert {k: by_api.recipe[k] for k in CONTROLS} == {k: by_form.recipe[k] for k in CONTROLS}
    assert by_api.recipe["guidance"] == 7.5 and "quickly" in by_api.recipe["prompt"]
    assert (by_api.prompt.camera_speed, by_api.prompt.guidance) == ("fast", 7.5)

    with commit():
        animatic = api.post("/videos", {**ANIMATIC, "camera_speed": "slow"}).json()
    assert Generation.objects.get(pk=_pk(animatic["id"])).recipe["options"] == {"camera_speed": 0.5}


def test_motion_amount_is_svds(api, alice_key, settings, tiny_svd_dir, commit):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "svd": {"model": str(tiny_svd_dir)}}
    api.key = alice_key
    image = {"image_url": "data:image/png;base64," + base64.b64encode(png_bytes(64, 64)).decode()}
    body = {"prompt": "waves", "model": "svd", "size": "64x64", "seconds": "0.5", "fps": 7}
    with commit():
        created = api.post("/videos", {**body, "input_reference": image, "motion_amount": 200})
    assert created.status_code == 200, created.json()
    g = Generation.objects.get(pk=_pk(created.json()["id"]))
    assert g.recipe["options"]["motion_bucket_id"] == 200 and g.prompt.motion_amount == 200
    models = {m["id"]: m for m in api.get("/models").json()["data"]}
    assert models["svd"]["default_motion_amount"] == 127
    assert models["animatic"]["default_motion_amount"] is None

    refused = api.post("/videos", {**ANIMATIC, "motion_amount": 200}).json()["error"]
    assert (refused["param"], refused["code"]) == ("motion_amount", "unsupported_parameter")
    assert "Model 'animatic' has no motion amount." in refused["message"]
    assert refused["message"].endswith("Models here that take a motion amount: svd.")


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"guidance": 7.5}, "guidance", "Models here that take a guidance scale: wan."),
        ({"guidance": 0.5}, "guidance", "must be at least 1;"),
        ({"guidance": 21}, "guidance", "must be at most 20;"),
        ({"motion_amount": 0}, "motion_amount", "must be at least 1;"),
        ({"motion_amount": 256}, "motion_amount", "must be at most 255;"),
        (
            {"motion_amount": 100, "model": "wan"},
            "motion_amount",
            "Models here that take a motion amount: none is configured here.",
        ),
        ({"camera_speed": "warp"}, "camera_speed", "must be one of"),
    ],
)
def test_controls_an_engine_lacks_or_out_of_bounds_are_400s(
    api, alice_key, tiny_wan_settings, body, param, needle
):
    api.key = alice_key
    response = api.post("/videos", {**ANIMATIC, **body})
    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == param and needle in error["message"], error
    assert Generation.objects.count() == 0 and Prompt.objects.count() == 0


def test_remix_carries_the_controls_and_may_change_them(
    api, alice_key, alice_client, commit, run_worker
):
    api.key = alice_key
    done = _made(api, commit, run_worker, camera_motion="pan_left", camera_speed="fast")
    with commit():
        same = api.post(f"/videos/{done['id']}/remix", {"prompt": "a castle"}).json()
        slower = api.post(
            f"/videos/{done['id']}/remix", {"prompt": "a castle", "camera_speed": "slow"}
        ).json()
    same, slower = (Generation.objects.get(pk=_pk(v["id"])) for v in (same, slower))
    assert same.recipe["options"] == {"camera_speed": 2.0} and same.prompt.camera_speed == "fast"
    assert slower.recipe["options"] == {"camera_speed": 0.5}
    assert slower.prompt.camera_speed == "slow"
    refused = api.post(f"/videos/{done['id']}/remix", {"prompt": "x", "guidance": 4})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "guidance"
    # "Use these settings" on the API's clip fills the form with its controls.
    clip = Clip.objects.get(generation_id=_pk(done["id"]))
    alice_client.force_login(clip.generation.requested_by)
    url = reverse("prompt-form", args=[clip.project_id]) + f"?from_clip={clip.pk}"
    html = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert '<option value="fast" selected>' in html


def test_remix_keeps_or_replaces_guidance(api, alice_key, tiny_wan_settings, commit, run_worker):
    api.key = alice_key
    body = {"model": "wan", "size": "32x32", "seconds": "0.5", "steps": 2, "guidance": 7.5}
    done = _made(api, commit, run_worker, **body)
    assert done["status"] == "completed", done
    with commit():
        kept = api.post(f"/videos/{done['id']}/remix", {"prompt": "a castle"}).json()
        changed = api.post(f"/videos/{done['id']}/remix", {"prompt": "a castle", "guidance": 3})
    assert Generation.objects.get(pk=_pk(kept["id"])).recipe["guidance"] == 7.5
    assert Generation.objects.get(pk=_pk(changed.json()["id"])).recipe["guidance"] == 3.0
