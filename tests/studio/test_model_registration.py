"""A model installed under STUDIO_MODELS_DIR becomes an engine with nothing restarted:
in the prompt form, in GET /v1/models, and in a worker that was already running."""

import shutil

import django_rq
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from generation import machine, modelstore
from generation.spec import GenerationError, GenerationRequest
from studio.jobs.engines import engine_status, get_registry
from studio.jobs.models import Generation
from studio.jobs.services import generation_submit
from studio.jobs.worker import StudioWorker
from studio.keys.services import api_key_create

NAME = "wan-t2v-1.3b"


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.STUDIO_MODELS_DIR = tmp_path / "models"
    settings.STUDIO_MODELS_DIR.mkdir()
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}}
    settings.STUDIO_DEFAULT_ENGINE = "animatic"
    return settings.STUDIO_MODELS_DIR


def install(models_dir, tiny_dir):
    """Lay a (tiny) pipeline out as a fetch would: files first, the manifest last."""
    path = modelstore.model_path(models_dir, NAME)
    shutil.copytree(tiny_dir, path)
    modelstore.write_manifest(
        path,
        {"name": NAME, "hub_id": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "revision": "main",
         "installed_at": "2026-11-30T19:00:00+00:00", "bytes": 1, "files": 1},
    )  # fmt: skip
    return path


def engine_choices(client, project) -> set[str]:
    form = client.get(reverse("project-detail", args=[project.pk])).context["form"]
    return {value for value, _ in form.fields["engine"].choices}


def api_models(client, alice) -> set[str]:
    _, raw = api_key_create(team=alice.memberships.get().team, user=alice, name="t")
    response = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    return {m["id"] for m in response.json()["data"]}


def test_installed_model_appears_and_disappears_without_a_restart(
    models_dir, tiny_wan_dir, alice, alice_client, alice_project, redis_conn
):
    assert engine_choices(alice_client, alice_project) == {"animatic"}
    assert NAME not in api_models(alice_client, alice)
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert 'id="other-engines"' in page and f'title="{NAME}: ' in page
    assert "Ask your admin" in page and "/staff/models/" not in page
    assert engine_status(NAME).state in (machine.NEEDS_GPU, machine.NOT_DOWNLOADED)
    _, raw = api_key_create(team=alice.memberships.get().team, user=alice, name="k")
    missing = alice_client.get(f"/v1/models/{NAME}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "model_not_found" and "cannot run here" in error["message"]

    path = install(models_dir, tiny_wan_dir)

    assert engine_choices(alice_client, alice_project) == {"animatic", NAME}
    assert NAME in api_models(alice_client, alice)
    found = alice_client.get(f"/v1/models/{NAME}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert found.status_code == 200 and "text_to_video" in found.json()["modes"]
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert f'title="{NAME}: ' not in page

    shutil.rmtree(path)

    assert engine_choices(alice_client, alice_project) == {"animatic"}
    assert NAME not in api_models(alice_client, alice)


def test_an_unfinished_download_is_not_an_engine(models_dir, tiny_wan_dir, alice_client,
                                                  alice_project):  # fmt: skip
    shutil.copytree(tiny_wan_dir, models_dir / NAME)  # no manifest yet
    assert engine_choices(alice_client, alice_project) == {"animatic"}


def test_a_running_worker_runs_a_model_installed_after_it_started(
    models_dir, tiny_wan_dir, alice, alice_project, redis_conn, django_capture_on_commit_callbacks
):
    registry = get_registry()
    worker = StudioWorker([django_rq.get_queue("default")], connection=redis_conn)
    assert NAME not in registry
    warm = registry.get("animatic")

    install(models_dir, tiny_wan_dir)
    with django_capture_on_commit_callbacks(execute=True):
        g = generation_submit(
            project=alice_project,
            user=alice,
            engine_id=NAME,
            request=GenerationRequest(
                prompt="a lighthouse at dusk", width=32, height=32, num_frames=9, fps=8,
                steps=2, seed=3,
            ),
        )  # fmt: skip
    worker.work(burst=True, with_scheduler=False)

    g.refresh_from_db()
    assert g.status == "succeeded", g.error
    assert get_registry() is registry and registry.get("animatic") is warm
    assert Generation.objects.get(pk=g.pk).clip.num_frames == 9


def test_a_configured_hub_model_not_in_the_cache_is_missing_with_the_setting_to_use(
    settings, alice, alice_client, alice_project, redis_conn
):
    settings.STUDIO_ENGINE_CONFIGS = {"animatic": {}, "wan": {"model": "nobody/no-such-model"}}
    assert engine_choices(alice_client, alice_project) == {"animatic"}
    status = engine_status("wan")
    assert status.state == machine.NOT_DOWNLOADED
    assert "nobody/no-such-model" in status.reason and "STUDIO_WAN_MODEL" in status.reason
    page = alice_client.get(reverse("project-detail", args=[alice_project.pk])).content.decode()
    assert 'title="wan: ' in page and "STUDIO_WAN_MODEL" in page

    _, raw = api_key_create(team=alice.memberships.get().team, user=alice, name="k")
    response = alice_client.get("/v1/models/wan", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404
    assert "not downloaded" in response.json()["error"]["message"]
    created = alice_client.post(
        "/v1/videos", {"model": "wan", "prompt": "a kite"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )  # fmt: skip
    assert created.status_code == 400
    assert "cannot run here: not downloaded" in created.json()["error"]["message"]

    with pytest.raises(GenerationError, match="cannot run here"):
        generation_submit(
            project=alice_project, user=alice, engine_id="wan",
            request=GenerationRequest(prompt="a kite", width=32, height=32, num_frames=9, fps=8),
        )  # fmt: skip
    assert not Generation.objects.exists()


def test_studio_engines_leaves_an_installed_model_out_and_says_so(
    models_dir, tiny_wan_dir, settings, alice, alice_client, alice_project
):
    staff_client = Client()
    staff_client.force_login(User.objects.create_user("keeper", is_staff=True))
    install(models_dir, tiny_wan_dir)
    settings.STUDIO_ENGINES = ["animatic"]

    assert engine_choices(alice_client, alice_project) == {"animatic"}
    assert NAME not in api_models(alice_client, alice)
    status = engine_status(NAME)
    assert status.state == machine.SWITCHED_OFF and "STUDIO_ENGINES (animatic)" in status.reason
    _, raw = api_key_create(team=alice.memberships.get().team, user=alice, name="k")
    created = alice_client.post(
        "/v1/videos", {"model": NAME, "prompt": "a kite"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )  # fmt: skip
    assert created.status_code == 400 and "switched off" in created.json()["error"]["message"]
    models_page = staff_client.get(reverse("library:index")).content.decode()
    assert "Switched off: <code>STUDIO_ENGINES</code>" in models_page
    machine_page = staff_client.get(reverse("machine:index")).content.decode()
    assert "switched off" in machine_page

    settings.STUDIO_ENGINES = ["animatic", NAME]
    assert engine_choices(alice_client, alice_project) == {"animatic", NAME}
    assert "Switched off" not in staff_client.get(reverse("library:index")).content.decode()
