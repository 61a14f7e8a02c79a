"""Moderation: the prompt policy before enqueue, reports, the staff queue and its actions,
the append-only audit log, hidden clips on every surface, and staff review of any project."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import User
from django.urls import reverse

from studio.jobs.models import Clip, Generation
from studio.keys.services import api_key_create
from studio.moderation import services
from studio.moderation.models import AppendOnlyError, AuditEntry, PolicyAttempt, Report
from studio.moderation.policy import Rule, first_match
from studio.prompts.services import prompt_submit
from studio.teams.models import Membership

pytestmark = pytest.mark.django_db

SHOT = {"engine": "animatic", "aspect_ratio": "1:1", "resolution": 64, "duration_s": 0.25, "fps": 8}
FORM = {**SHOT, "negative_text": "", "camera_motion": "static", "style_preset": ""}


@pytest.fixture
def staff(db):
    return User.objects.create_user("mod", password="mod-pass-123", is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def bob_in_alices_team(alice, bob):
    """Bob joins Alice's team as a viewer: he sees her projects, he cannot generate there."""
    Membership.objects.create(user=bob, team=alice.memberships.get().team, role="viewer")
    return bob


@pytest.fixture
def violence_rule(staff):
    return services.policy_rule_add(
        actor=staff, category_name="Violence", kind="term", pattern="gore", reason="house rules"
    )


@pytest.fixture
def make_clip(alice, alice_project, run_worker, django_capture_on_commit_callbacks):
    """A real clip from the animatic engine, run by a real worker."""

    def make(text="a lighthouse at dusk") -> Clip:
        with django_capture_on_commit_callbacks(execute=True):
            g = prompt_submit(project=alice_project, user=alice, data={"text": text, **SHOT})
        run_worker()
        return Clip.objects.get(generation=g)

    return make


@pytest.fixture
def clip(make_clip):
    return make_clip()


def bearer(user, team=None) -> dict:
    team = team or user.memberships.first().team
    _, raw = api_key_create(team=team, user=user, name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def video_id(clip: Clip) -> str:
    return f"video_{clip.generation_id.hex}"


# ---- Prompt policy ---------------------------------------------------------------------


def test_terms_match_whole_words_ignoring_case_and_width():
    rules = [Rule(1, "term", "gore", "Violence"), Rule(2, "regex", r"\bblood\w*", "Violence")]
    assert first_match("Lots of GORE here", rules).id == 1
    assert first_match("ＧＯＲＥ", rules).id == 1  # Full-width letters read as plain ones.
    assert first_match("a gorey mess", rules) is None  # Not a word of its own.
    assert first_match("gorge and forest", rules) is None
    assert first_match("Bloody sunset", rules).id == 2
    assert first_match("a calm sea", rules) is None
    assert first_match("cut  them   open", [Rule(3, "term", "cut them open", "V")]).id == 3


def test_a_blocked_prompt_is_a_form_error_naming_the_category_and_is_logged(
    alice_client, alice, alice_project, violence_rule, redis_conn
):
    url = reverse("generate", args=[alice_project.pk])
    response = alice_client.post(url, {**FORM, "text": "a knight, gore everywhere"})
    assert response.status_code == 400
    assert "“Violence” category" in response.content.decode()
    assert not Generation.objects.exists()
    attempt = PolicyAttempt.objects.get()
    assert (attempt.user, attempt.project, attempt.rule) == (alice, alice_project, violence_rule)
    assert attempt.text == "a knight, gore everywhere" and attempt.field == "prompt"
    assert attempt.category == "Violence" and attempt.created_at is not None

    htmx = alice_client.post(url, {**FORM, "text": "gore"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "“Violence” category" in htmx.content.decode()
    assert PolicyAttempt.objects.count() == 2 and not Generation.objects.exists()


def test_negative_prompts_are_checked_too(alice_client, alice_project, violence_rule, redis_conn):
    url = reverse("generate", args=[alice_project.pk])
    response = alice_client.post(url, {**FORM, "text": "a calm sea", "negative_text": "gore"})
    assert response.status_code == 400
    assert "negative prompt is not allowed" in response.content.decode()
    assert PolicyAttempt.objects.get().field == "negative_prompt"
    assert not Generation.objects.exists()


def test_allowed_prompts_still_go_through(alice_client, alice_project, violence_rule, redis_conn):
    url = reverse("generate", args=[alice_project.pk])
    response = alice_client.post(url, {**FORM, "text": "a gorgeous sunrise"})
    assert response.status_code == 302
    assert Generation.objects.count() == 1 and not PolicyAttempt.objects.exists()


def test_api_create_gets_a_400_naming_the_category(client, alice, violence_rule, redis_conn):
    response = client.post(
        "/v1/videos",
        {"prompt": "pure GORE", "model": "animatic", "size": "64x64", "seconds": "1"},
        content_type="application/json",
        **bearer(alice),
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert "Violence" in error["message"]
    assert error["param"] == "prompt" and error["code"] == "prompt_blocked"
    assert not Generation.objects.exists()
    assert PolicyAttempt.objects.get().user == alice


def test_remixes_are_checked_on_the_page_and_the_api(
    alice_client, alice, clip, violence_rule, client
):
    response = alice_client.post(reverse("clip-remix", args=[clip.pk]), {"text": "now with gore"})
    assert response.status_code == 400 and "“Violence” category" in response.content.decode()
    api = client.post(
        f"/v1/videos/{video_id(clip)}/remix",
        {"prompt": "gore"},
        content_type="application/json",
        **bearer(alice),
    )
    assert api.status_code == 400 and "Violence" in api.json()["error"]["message"]
    assert Generation.objects.count() == 1  # Only the clip's own run.
    assert PolicyAttempt.objects.count() == 2


def test_staff_edit_the_policy_in_the_panel(staff_client, staff, alice, alice_project):
    url = reverse("moderation-policy")
    bad = staff_client.post(
        url, {"category": "Hate", "kind": "regex", "pattern": "(unclosed", "reason": "r"}
    )
    assert bad.status_code == 400 and "Not a valid regex" in bad.content.decode()
    no_reason = staff_client.post(url, {"category": "Hate", "kind": "term", "pattern": "slur"})
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.content.decode()
    ok = staff_client.post(
        url, {"category": "Hate", "kind": "regex", "pattern": r"slur\w*", "reason": "policy v2"}
    )
    assert ok.status_code == 302
    with pytest.raises(Exception, match="Hate"):
        services.prompt_policy_check(user=alice, project=alice_project, prompt="SLURS")
    page = staff_client.get(url).content.decode()
    assert "slur\\w*" in page and "SLURS" in page  # The rule and the blocked attempt.
    rule_pk = services.PolicyRule.objects.get().pk
    staff_client.post(reverse("moderation-rule-remove", args=[rule_pk]), {"reason": "too broad"})
    services.prompt_policy_check(user=alice, project=alice_project, prompt="SLURS")
    actions = list(AuditEntry.objects.values_list("action", "reason"))
    assert actions == [("policy.remove", "too broad"), ("policy.add", "policy v2")]


# ---- Reports ---------------------------------------------------------------------------


def test_a_team_member_reports_a_clip_from_its_page(client, bob_in_alices_team, clip):
    client.force_login(bob_in_alices_team)
    page = client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert "Report this clip" in page and reverse("clip-report", args=[clip.pk]) in page
    response = client.post(
        reverse("clip-report", args=[clip.pk]),
        {"reason": "violence", "note": "frame 3"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "is reported" in response.content.decode()
    report = Report.objects.get()
    assert (report.clip, report.reporter, report.reason, report.note, report.status) == (
        clip,
        bob_in_alices_team,
        "violence",
        "frame 3",
        "pending",
    )
    bad = client.post(reverse("clip-report", args=[clip.pk]), {"reason": "nonsense"})
    assert bad.status_code == 400 and Report.objects.count() == 1


def test_outsiders_cannot_report(client, carol, clip):
    client.force_login(carol)
    response = client.post(reverse("clip-report", args=[clip.pk]), {"reason": "other"})
    assert response.status_code == 404 and not Report.objects.exists()


# ---- The queue and its actions ---------------------------------------------------------


@pytest.fixture
def reported(clip, bob_in_alices_team):
    services.report_create(clip=clip, user=bob_in_alices_team, reason="violence", note="frame 3")
    return clip


def test_the_queue_shows_what_a_moderator_needs(staff_client, reported, alice):
    page = staff_client.get(reverse("moderation-queue")).content.decode()
    assert f'id="mod-clip-{reported.pk}"' in page
    assert reverse("moderation-clip-poster", args=[reported.pk]) in page
    assert reverse("moderation-clip-video", args=[reported.pk]) in page
    assert "a lighthouse at dusk" in page and "alice" in page and "alice&#x27;s team" in page
    assert "Violence or gore" in page and "frame 3" in page and "Lighthouse" in page
    video = staff_client.get(reverse("moderation-clip-video", args=[reported.pk]))
    assert video.status_code == 200 and b"ftyp" in b"".join(video.streaming_content)[:64]


def test_non_staff_are_refused_the_panel(client, alice, reported):
    urls = [
        reverse("moderation-queue"),
        reverse("moderation-policy"),
        reverse("moderation-audit"),
        reverse("moderation-projects"),
        reverse("moderation-project", args=[reported.project_id]) + "?reason=x",
        reverse("moderation-clip-video", args=[reported.pk]),
        reverse("moderation-clip-poster", args=[reported.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    client.force_login(alice)
    for url in urls:
        assert client.get(url).status_code == 404, url
    act = client.post(
        reverse("moderation-clip-act", args=[reported.pk]), {"action": "hide", "reason": "x"}
    )
    assert act.status_code == 404
    reported.refresh_from_db()
    assert reported.hidden_at is None and not AuditEntry.objects.exists()
    assert "Moderation" not in client.get(reverse("project-list")).content.decode()


def act(client, clip, action, reason="breaks the rules"):
    return client.post(
        reverse("moderation-clip-act", args=[clip.pk]),
        {"action": action, "reason": reason},
        HTTP_HX_REQUEST="true",
    )


def test_every_action_needs_a_reason(staff_client, reported):
    response = act(staff_client, reported, "hide", reason="  ")
    assert response.status_code == 200 and "Give a reason" in response.content.decode()
    plain = staff_client.post(
        reverse("moderation-clip-act", args=[reported.pk]), {"action": "hide"}
    )
    assert plain.status_code == 400
    reported.refresh_from_db()
    assert reported.hidden_at is None and not AuditEntry.objects.exists()


def test_hide_restore_and_resolve_are_audited(
    staff_client, staff, reported, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(staff_client, reported, "hide", "gore at frame 3")
    assert response.status_code == 200 and "Restore clip" in response.content.decode()
    reported.refresh_from_db()
    assert reported.hidden_at is not None
    assert "gore at frame 3" in response.content.decode()  # The card's history.
    hidden = staff_client.get(reverse("moderation-queue") + "?show=hidden").content.decode()
    assert f'id="mod-clip-{reported.pk}"' in hidden

    act(staff_client, reported, "resolve", "hidden")
    assert Report.objects.get().status == "resolved" and Report.objects.get().closed_by == staff
    queue = staff_client.get(reverse("moderation-queue")).content.decode()
    assert f'id="mod-clip-{reported.pk}"' not in queue  # No pending report left.
    again = act(staff_client, reported, "resolve", "twice")
    assert "no pending reports" in again.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, reported, "restore", "appeal upheld")
    reported.refresh_from_db()
    assert reported.hidden_at is None
    log = list(AuditEntry.objects.order_by("pk").values_list("actor", "action", "reason"))
    assert log == [
        (staff.pk, "clip.hide", "gore at frame 3"),
        (staff.pk, "report.resolve", "hidden"),
        (staff.pk, "clip.restore", "appeal upheld"),
    ]
    page = staff_client.get(reverse("moderation-audit")).content.decode()
    assert "appeal upheld" in page and "Hid clip" in page


def test_dismiss_closes_reports_without_touching_the_clip(staff_client, reported):
    act(staff_client, reported, "dismiss", "nothing wrong")
    reported.refresh_from_db()
    assert reported.hidden_at is None and Report.objects.get().status == "dismissed"
    assert AuditEntry.objects.get().action == "report.dismiss"


def test_a_suspended_author_cannot_log_in_until_reinstated(client, staff, alice, reported):
    client.force_login(alice)
    assert client.get(reverse("project-list")).status_code == 200
    services.user_suspend(actor=staff, user=alice, reason="repeat offender", clip=reported)
    alice.refresh_from_db()
    assert not alice.is_active
    # The open session ends, and the password no longer works.
    assert client.get(reverse("project-list")).status_code == 302
    response = client.post(reverse("login"), {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 200 and response.context["form"].errors
    assert not response.wsgi_request.user.is_authenticated
    assert client.login(username="alice", password="alice-pass-123") is False
    with pytest.raises(services.ModerationError):
        services.user_suspend(actor=staff, user=alice, reason="again")
    services.user_reinstate(actor=staff, user=alice, reason="appeal", clip=reported)
    assert client.login(username="alice", password="alice-pass-123") is True
    history = AuditEntry.objects.filter(clip_id_ref=reported.pk).values_list("action", flat=True)
    assert set(history) == {"user.suspend", "user.reinstate"}


def test_staff_cannot_suspend_themselves(staff):
    with pytest.raises(services.ModerationError, match="yourself"):
        services.user_suspend(actor=staff, user=staff, reason="oops")
    assert not AuditEntry.objects.exists()


def test_the_audit_log_is_append_only(staff, reported):
    entry = services.clip_hide(actor=staff, clip=reported, reason="why").pk
    entry = AuditEntry.objects.get()
    entry.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().reason == "why"
    # Deleting what an entry is about leaves the entry.
    reported.generation.delete()
    assert AuditEntry.objects.get().target_label.startswith(f"Clip {reported.pk}")


# ---- Hidden clips on every surface -----------------------------------------------------


@pytest.fixture
def hidden(staff, make_clip):
    kept = make_clip("a calm sea")
    clip = make_clip("the hidden one")
    services.clip_hide(actor=staff, clip=clip, reason="test")
    return clip, kept


def test_hidden_clips_leave_the_pages_of_their_team(alice_client, hidden):
    clip, kept = hidden
    page = alice_client.get(reverse("project-detail", args=[clip.project_id])).content.decode()
    # The gallery, that is: her own prompt may still fill her form (her last settings).
    page = page[page.index('id="gallery"') :]
    assert "a calm sea" in page and "the hidden one" not in page
    gallery = alice_client.get(
        reverse("project-detail", args=[clip.project_id]) + "?page=1", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"clip-{kept.pk}" in gallery and f"clip-{clip.pk}" not in gallery
    for name in ("clip-detail", "clip-video", "clip-poster", "clip-download"):
        assert alice_client.get(reverse(name, args=[clip.pk])).status_code == 404, name
        assert alice_client.get(reverse(name, args=[kept.pk])).status_code == 200, name
    card = alice_client.get(reverse("generation-detail", args=[clip.generation_id]))
    assert card.status_code == 404
    listing = alice_client.get(reverse("project-list")).content.decode()
    assert '<td class="num">1</td>' in listing  # One clip left to see.


def test_hidden_clips_are_not_derived_from_or_listed_as_derived(
    alice_client, alice, staff, clip, django_capture_on_commit_callbacks, run_worker
):
    from studio.gallery.services import clip_remix

    with django_capture_on_commit_callbacks(execute=True):
        child = clip_remix(clip=clip, user=alice, text="the child")
    run_worker()
    child_clip = Clip.objects.get(generation=child)
    services.clip_hide(actor=staff, clip=child_clip, reason="test")
    page = alice_client.get(reverse("clip-detail", args=[clip.pk])).content.decode()
    assert "the child" not in page
    remix = alice_client.post(reverse("clip-remix", args=[child_clip.pk]), {"text": "again"})
    assert remix.status_code == 404


def test_hidden_clips_leave_the_api(client, alice, alice_project, hidden):
    clip, kept = hidden
    queued = prompt_submit(project=alice_project, user=alice, data={"text": "later", **SHOT})
    auth = bearer(alice)
    listed = client.get("/v1/videos", **auth).json()["data"]
    assert [v["id"] for v in listed] == [f"video_{queued.pk.hex}", video_id(kept)]
    for path in (f"/v1/videos/{video_id(clip)}", f"/v1/videos/{video_id(clip)}/content"):
        response = client.get(path, **auth)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "video_not_found"
    assert client.get(f"/v1/videos/{video_id(kept)}/content", **auth).status_code == 200
    after = client.get("/v1/videos", {"after": video_id(clip)}, **auth)
    assert after.status_code == 404


def test_staff_still_see_hidden_clips_through_the_api(client, staff, hidden, alice):
    clip, _ = hidden
    team = clip.project.team
    Membership.objects.create(user=staff, team=team, role="viewer")
    response = client.get(f"/v1/videos/{video_id(clip)}", **bearer(staff, team))
    assert response.status_code == 200


def test_hiding_takes_the_clip_off_open_pages(
    staff, clip, redis_conn, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()

    def hide():
        with django_capture_on_commit_callbacks(execute=True):
            services.clip_hide(actor=staff, clip=clip, reason="live")

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(f"project-{clip.project_id}", channel)
        await sync_to_async(hide)()
        return await asyncio.wait_for(layer.receive(channel), 10)

    html = async_to_sync(scenario)()["html"]
    assert f'id="clip-{clip.pk}" hx-swap-oob="delete"' in html
    assert f'id="generation-{clip.generation_id}" hx-swap-oob="delete"' in html
    assert "lighthouse" not in html

    # A later push about the run (a card refresh) sends the removal again, never the clip.
    async def refresh():
        channel = await layer.new_channel()
        await layer.group_add(f"project-{clip.project_id}", channel)
        from studio.jobs.live import broadcast_generation

        g = await sync_to_async(Generation.objects.get)(pk=clip.generation_id)
        await sync_to_async(broadcast_generation)(g)
        return await asyncio.wait_for(layer.receive(channel), 10)

    html = async_to_sync(refresh)()["html"]
    assert 'hx-swap-oob="delete"' in html and "lighthouse" not in html


# ---- Staff review, nav, queues ---------------------------------------------------------


def test_staff_open_any_project_read_only_and_each_opening_is_audited(staff_client, staff, hidden):
    clip, kept = hidden
    url = reverse("moderation-project", args=[clip.project_id])
    ask = staff_client.get(url)
    assert ask.status_code == 200 and "Open read-only" in ask.content.decode()
    assert not AuditEntry.objects.filter(action="project.review").exists()
    page = staff_client.get(url, {"reason": "report 12"}).content.decode()
    assert "the hidden one" in page and "a calm sea" in page and "read-only review" in page
    assert 'name="action" value="restore"' in page  # Moderator actions, not member ones.
    assert reverse("generate", args=[clip.project_id]) not in page
    staff_client.get(url, {"reason": "second look"})
    entries = AuditEntry.objects.filter(action="project.review").order_by("pk")
    assert [(e.actor, e.target_id, e.reason) for e in entries] == [
        (staff, str(clip.project_id), "report 12"),
        (staff, str(clip.project_id), "second look"),
    ]


def test_staff_cannot_generate_or_delete_in_other_teams(staff_client, clip, redis_conn):
    response = staff_client.post(reverse("generate", args=[clip.project_id]), FORM)
    assert response.status_code == 404
    assert staff_client.post(reverse("clip-delete", args=[clip.pk])).status_code == 404
    assert Clip.objects.filter(pk=clip.pk).exists() and Generation.objects.count() == 1


def test_staff_see_the_nav_link_and_the_job_queues(staff_client, client, alice):
    page = staff_client.get(reverse("moderation-queue")).content.decode()
    assert f'href="{reverse("moderation-queue")}"' in page
    assert reverse("admin:django_rq_home") in page
    assert staff_client.get(reverse("admin:django_rq_home")).status_code == 200
    client.force_login(alice)
    assert (
        client.get(reverse("admin:django_rq_home")).status_code == 302
    )  # The admin's staff login.


# ---- The Django admin ------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "root-pass-1"))
    return client


def test_admin_clip_list_has_thumbnails_prompts_filters_and_search(superuser_client, hidden):
    clip, kept = hidden
    url = reverse("admin:jobs_clip_changelist")
    page = superuser_client.get(url).content.decode()
    poster = reverse("admin:jobs_clip_media", args=[kept.pk, "poster"])
    assert poster in page and "a calm sea" in page and "the hidden one" in page
    found = superuser_client.get(url, {"q": "calm"}).content.decode()
    assert "a calm sea" in found and "the hidden one" not in found
    only_hidden = superuser_client.get(url, {"hidden": "yes"}).content.decode()
    assert "the hidden one" in only_hidden and "a calm sea" not in only_hidden
    image = superuser_client.get(poster)
    assert image.status_code == 200 and b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"
    runs = superuser_client.get(reverse("admin:jobs_generation_changelist")).content.decode()
    assert poster in runs and "a calm sea" in runs


def test_admin_previews_are_served_instead_of_404_links(superuser_client, client, clip, alice):
    page = superuser_client.get(reverse("admin:jobs_clip_change", args=[clip.pk]))
    html = page.content.decode()
    video = reverse("admin:jobs_clip_media", args=[clip.pk, "file"])
    assert page.status_code == 200 and f'src="{video}"' in html
    assert "/media/clips/" not in html  # The old links to MEDIA_URL, which nothing serves.
    response = superuser_client.get(video)
    assert response.status_code == 200 and b"ftyp" in b"".join(response.streaming_content)[:64]
    assert (
        superuser_client.get(reverse("admin:jobs_clip_media", args=[clip.pk, "x"])).status_code
        == 404
    )
    client.force_login(alice)  # Not staff: the admin's login page, not the file.
    assert client.get(video).status_code == 302


def test_admin_hides_clips_with_a_reason(superuser_client, clip):
    url = reverse("admin:jobs_clip_changelist")
    data = {"action": "hide_clips", "_selected_action": [clip.pk]}
    ask = superuser_client.post(url, data)
    assert ask.status_code == 200 and "audit log" in ask.content.decode()
    blank = superuser_client.post(url, {**data, "apply": "1", "reason": ""})
    assert blank.status_code == 200 and not AuditEntry.objects.exists()
    done = superuser_client.post(url, {**data, "apply": "1", "reason": "spam"})
    assert done.status_code == 302
    clip.refresh_from_db()
    assert clip.hidden_at is not None
    assert (
        AuditEntry.objects.get().action == "clip.hide" and AuditEntry.objects.get().reason == "spam"
    )


def test_admin_deletes_a_clip_with_its_run(superuser_client, clip):
    url = reverse("admin:jobs_clip_delete", args=[clip.pk])
    assert superuser_client.post(url, {"post": "yes"}).status_code == 302
    assert not Clip.objects.exists() and not Generation.objects.exists()


def test_clip_derive_checks_prompted_transformations(alice, clip, violence_rule):
    from generation.spec import GenerationError, GenerationRequest
    from studio.gallery.services import clip_derive

    request = GenerationRequest(mode="video_to_video", prompt="now gore", width=64, height=64)
    with pytest.raises(GenerationError, match="Violence") as e:
        clip_derive(clip=clip, user=alice, engine_id="animatic", request=request, notes=[])
    assert e.value.code == "prompt_blocked"
    assert PolicyAttempt.objects.get().text == "now gore"


def test_moderation_sits_between_the_core_and_the_submit_paths():
    """The policy check is called by prompts, gallery and api, so moderation must not
    depend on any of them; it builds on the generation core only."""
    from tests.studio.test_dependencies import app_graph

    graph = app_graph()
    assert graph["moderation"] <= {"jobs", "projects", "teams", "media"}, graph["moderation"]
    for app in ("prompts", "gallery", "api"):
        assert "moderation" in graph[app], app
