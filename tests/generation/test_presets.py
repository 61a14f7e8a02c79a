import pytest

from generation.presets import (
    EXAMPLES,
    MOODS,
    PLATFORMS,
    platform_for,
    platform_settings,
)
from generation.prompting import (
    ASPECT_RATIOS,
    CAMERA_MOTIONS,
    STYLE_PRESETS,
    assemble_prompt,
    prompt_hints,
)
from generation.spec import Capabilities, GenerationError

BIG = Capabilities(modes=frozenset({"text_to_video"}), max_size=1920, max_frames=2000, max_fps=60)


@pytest.mark.parametrize(
    ("pid", "aspect", "cap"),
    [
        ("tiktok", "9:16", 15),
        ("instagram_reel", "9:16", 30),
        ("youtube_short", "9:16", 60),
        ("x_video", "16:9", 30),
        ("feed_square", "1:1", 60),
        ("feed_portrait", "4:5", 60),
    ],
)
def test_platforms_from_the_seed(pid, aspect, cap):
    p = PLATFORMS[pid]
    assert (p.id, p.aspect_ratio, p.max_seconds) == (pid, aspect, cap)
    rw, rh = ASPECT_RATIOS[aspect]
    assert p.width / p.height == pytest.approx(rw / rh, rel=0.01)
    assert p.label and p.fps == 30


def test_platform_settings_on_an_engine_that_can_do_it_all():
    s = platform_settings("tiktok", BIG)
    assert (s.aspect_ratio, s.resolution, s.fps, s.max_seconds) == ("9:16", 1920, 30, 15)
    assert s.notes == ()


def test_platform_settings_fits_a_small_engine_and_says_so():
    small = Capabilities(
        modes=frozenset({"text_to_video"}), max_size=832, size_multiple=16, max_frames=81
    )
    s = platform_settings("youtube_short", small)
    assert s.resolution == 832
    assert s.fps == 30
    assert s.max_seconds == pytest.approx(81 / 30, abs=0.01)
    assert any("832" in n for n in s.notes) and any("60 s" in n for n in s.notes)
    slow = Capabilities(modes=frozenset({"text_to_video"}), max_fps=24, max_frames=2000)
    assert platform_settings("x_video", slow).fps == 24


def test_unknown_platform_is_an_error_naming_the_field():
    with pytest.raises(GenerationError) as exc:
        platform_for("myspace")
    assert exc.value.field == "platform" and "tiktok" in exc.value.message


def test_moods_name_real_presets():
    assert set(MOODS) == {"premium", "energetic", "tech", "natural"}
    for m in MOODS.values():
        assert m.style_words and m.lighting and m.camera_motion in CAMERA_MOTIONS
        assert not m.style_preset or m.style_preset in STYLE_PRESETS
    assert len({m.camera_motion for m in MOODS.values()}) == 4


def test_examples_assemble_into_prompts_the_hints_like():
    assert set(EXAMPLES) == {"tokyo_street", "dark_forest", "product_hero"}
    for e in EXAMPLES.values():
        text = assemble_prompt(e.anatomy)
        assert 100 < len(text) < 500
        warnings = [h for h in prompt_hints(text, camera_motion=e.camera_motion, max_chars=2000)]
        assert warnings == [], (e.id, warnings)
    assert "Tokyo" in assemble_prompt(EXAMPLES["tokyo_street"].anatomy)
