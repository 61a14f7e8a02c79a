import dataclasses

import pytest

from generation.prompting import (
    ANATOMY_LABELS,
    ANATOMY_PARTS,
    ANATOMY_PLACEHOLDERS,
    ASPECT_RATIOS,
    CAMERA_MOTIONS,
    STYLE_PRESETS,
    Anatomy,
    Hint,
    assemble_prompt,
    camera_phrase,
    compose_negative,
    compose_prompt,
    count_subjects,
    hint_camera,
    hint_complexity,
    hint_faces,
    hint_length,
    hint_movement,
    hint_pace,
    prompt_hints,
    random_seed,
    size_for,
)
from generation.spec import GenerationError

MOTION_IDS = [
    "static",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "zoom_in",
    "zoom_out",
    "dolly_in",
    "dolly_out",
    "orbit",
    "crane_up",
    "crane_down",
    "tracking",
    "handheld",
    "drone",
]


def test_camera_motions_are_the_fifteen_in_order():
    assert list(CAMERA_MOTIONS) == MOTION_IDS
    for key, motion in CAMERA_MOTIONS.items():
        assert motion.id == key
        assert motion.label and motion.phrase
    assert len({m.phrase for m in CAMERA_MOTIONS.values()}) == 15
    assert "left" in CAMERA_MOTIONS["pan_left"].phrase
    assert "right" in CAMERA_MOTIONS["pan_right"].phrase


def test_presets_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        CAMERA_MOTIONS["orbit"].phrase = "spin"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        STYLE_PRESETS["anime"].negative = ""  # type: ignore[misc]


def test_style_presets_cover_the_required_looks():
    required = {"cinematic", "anime", "documentary", "film_35mm", "pixel_art"}
    assert required <= set(STYLE_PRESETS)
    assert len(STYLE_PRESETS) > len(required)
    assert STYLE_PRESETS["film_35mm"].label == "35mm film"
    for key, style in STYLE_PRESETS.items():
        assert style.id == key
        assert style.label and style.phrase and style.negative


@pytest.mark.parametrize(
    ("aspect", "expected"),
    [
        ("16:9", (1280, 720)),
        ("9:16", (720, 1280)),
        ("1:1", (1280, 1280)),
        ("4:5", (1024, 1280)),
        ("21:9", (1280, 544)),
    ],
)
def test_size_for_known_ratios(aspect, expected):
    assert size_for(aspect, long_side=1280) == expected


@pytest.mark.parametrize("aspect", list(ASPECT_RATIOS))
@pytest.mark.parametrize("long_side", [16, 200, 832, 1920])
def test_size_for_rounds_to_the_multiple_and_keeps_the_shape(aspect, long_side):
    width, height = size_for(aspect, long_side=long_side)
    assert width % 16 == 0 and height % 16 == 0
    assert width >= 16 and height >= 16
    rw, rh = ASPECT_RATIOS[aspect]
    if long_side >= 832:
        assert width / height == pytest.approx(rw / rh, rel=0.04)


def test_size_for_other_multiple():
    assert size_for("16:9", long_side=640, multiple=8) == (640, 360)
    assert size_for("16:9", long_side=640) == (640, 368)


def test_size_for_rejects_unknown_aspect_and_tiny_sides():
    with pytest.raises(GenerationError) as exc:
        size_for("3:2", long_side=1024)
    assert exc.value.field == "aspect_ratio"
    assert "16:9" in exc.value.message
    with pytest.raises(GenerationError):
        size_for("16:9", long_side=8)


def test_compose_prompt_puts_user_text_then_style_then_camera():
    prompt = compose_prompt("A red fox in fresh snow.", camera_motion="pan_left", style="anime")
    assert prompt.startswith("A red fox in fresh snow. ")
    style_at = prompt.index(STYLE_PRESETS["anime"].phrase[1:])
    camera_at = prompt.index(CAMERA_MOTIONS["pan_left"].phrase[1:])
    assert 0 < style_at < camera_at
    assert prompt.endswith(".") and ".." not in prompt


def test_compose_prompt_defaults_to_static_without_style():
    prompt = compose_prompt("  A lighthouse at dusk  ")
    assert prompt.startswith("A lighthouse at dusk. ")
    assert CAMERA_MOTIONS["static"].phrase[1:] in prompt
    assert not any(s.phrase[1:] in prompt for s in STYLE_PRESETS.values())
    assert compose_prompt("x", camera_motion="") == compose_prompt("x", camera_motion="static")


def test_compose_prompt_without_user_text_still_reads_as_sentences():
    prompt = compose_prompt("", camera_motion="zoom_in")
    assert prompt == "The camera slowly zooms in on the subject."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"camera_motion": "barrel_roll"}, "camera_motion"), ({"style": "vaporwave"}, "style")],
)
def test_compose_prompt_rejects_unknown_ids(kwargs, field):
    with pytest.raises(GenerationError) as exc:
        compose_prompt("A cat", **kwargs)
    assert exc.value.field == field


def test_compose_negative_merges_and_dedupes():
    negative = compose_negative("blurry, Color,  watermark", style="noir")
    terms = [t.strip() for t in negative.split(",")]
    assert terms[:3] == ["blurry", "Color", "watermark"]
    assert "color" not in terms  # already given by the user, in another case
    assert "saturated" in terms
    assert compose_negative("blurry") == "blurry"
    assert compose_negative("", style="") == ""
    with pytest.raises(GenerationError) as exc:
        compose_negative("x", style="nope")
    assert exc.value.field == "style"


def test_random_seed_range_and_variety():
    seeds = [random_seed() for _ in range(8)]
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    assert len(set(seeds)) > 1


def test_compose_prompt_says_a_preset_phrase_once_when_the_text_has_it():
    camera = CAMERA_MOTIONS["orbit"].phrase
    style = STYLE_PRESETS["anime"].phrase
    prompt = compose_prompt(f"A fox. {camera}. {style}", camera_motion="orbit", style="anime")
    assert prompt.lower().count(camera) == 1
    assert prompt.lower().count(style) == 1


# --- anatomy and assembly --------------------------------------------------------------


def test_assemble_prompt_orders_the_parts_like_a_shot_description():
    prompt = assemble_prompt(
        Anatomy(
            subject="A red fox",
            action="trots slowly",
            environment="through fresh snow",
            lighting="golden hour light",
            camera="low tracking shot",
            style="cinematic",
            quality="highly detailed.",
        )
    )
    assert prompt == (
        "A red fox trots slowly through fresh snow. Golden hour light. Low tracking shot. "
        "Cinematic, highly detailed."
    )


def test_assemble_prompt_skips_blank_parts_without_stray_punctuation():
    assert assemble_prompt(Anatomy()) == ""
    assert assemble_prompt(Anatomy(lighting="  soft  light. ")) == "Soft light."
    assert assemble_prompt(Anatomy(environment="a misty lake")) == "A misty lake."
    prompt = assemble_prompt(Anatomy(subject="a boat", environment="a misty lake", quality="4k"))
    assert prompt == "A boat, a misty lake. 4k."


def test_anatomy_from_mapping_keeps_only_its_parts():
    anatomy = Anatomy.from_mapping({"subject": " a cat ", "action": None, "engine": "wan"})
    assert anatomy == Anatomy(subject="a cat")
    assert anatomy.to_dict() == {"subject": "a cat"}
    assert Anatomy().is_empty and not anatomy.is_empty
    assert list(ANATOMY_LABELS) == list(ANATOMY_PARTS) == list(ANATOMY_PLACEHOLDERS)


# --- hints: each rule fires on the bad case and stays quiet on the good one -------------


def test_hint_movement():
    assert hint_movement("A lighthouse on a cliff at dusk").rule == "movement"
    assert hint_movement("Waves crash against a lighthouse") is None
    assert hint_movement("") is None


def test_hint_complexity_counts_subjects():
    assert count_subjects("a man walks a dog") == 2
    assert count_subjects("three kids and a dog") == 3
    assert hint_complexity("a man walks a dog in a park") is None
    hint = hint_complexity("a knight, a dragon, a princess, a wizard and a horse")
    assert hint.rule == "complexity" and hint.level == "warning" and "5 subjects" in hint.message
    assert hint_complexity("a crowd cheers in a stadium").rule == "complexity"


def test_hint_camera():
    assert hint_camera("A fox runs", "static").rule == "camera"
    assert hint_camera("A fox runs", "") is not None
    assert hint_camera("A fox runs", "pan_left") is None
    assert hint_camera("Aerial drone shot of a fox running", "static") is None
    assert hint_camera("A close-up of a fox", "static") is None


def test_hint_pace():
    assert hint_pace("A dancer spins on a stage").rule == "pace"
    assert hint_pace("A dancer spins slowly on a stage") is None
    assert hint_pace("A dancer spins in slow-motion") is None
    assert hint_pace("A still life of pears") is None  # nothing moves: the movement hint's job


def test_hint_faces():
    hint = hint_faces("Extreme close-up of a woman's face as she smiles")
    assert hint.rule == "faces" and hint.level == "warning"
    assert hint_faces("A close-up of a ripe peach") is None
    assert hint_faces("A woman smiles in a wide shot of a meadow") is None


def test_hint_length_against_the_engine_limit():
    over = hint_length("x" * 5000, 2000)
    assert over.level == "warning" and "5000" in over.message and "2000" in over.message
    assert "3000" in over.message
    near = hint_length("word " * 390, 2000)
    assert near.level == "tip" and "1950 of 2000" in near.message
    assert hint_length("A fox", 2000).rule == "length"  # very short
    assert hint_length("A red fox trots slowly through fresh snow at dawn", 2000) is None


def test_prompt_hints_puts_warnings_first_and_stays_quiet_on_a_good_prompt():
    good = "A red fox trots slowly through fresh snow at dawn, the camera tracking alongside"
    assert prompt_hints(good, camera_motion="static", max_chars=2000) == []
    hints = prompt_hints(
        "A knight, a dragon, a princess and a wizard; close-up of a face",
        camera_motion="static",
        max_chars=2000,
    )
    rules = [h.rule for h in hints]
    assert {"faces", "complexity", "movement"} <= set(rules)
    assert all(h.level == "warning" for h in hints[:2]) and hints[-1].level == "tip"
    assert all(isinstance(h, Hint) for h in hints)


def test_camera_phrase_follows_the_speed():
    assert camera_phrase("pan_left") == CAMERA_MOTIONS["pan_left"].phrase
    assert "very slowly" in camera_phrase("pan_left", "slow")
    assert "quickly" in camera_phrase("pan_left", "fast") and "slowly" not in camera_phrase(
        "pan_left", "fast"
    )
    assert camera_phrase("handheld", "fast").endswith("moving quickly")
    assert camera_phrase("static", "fast") == CAMERA_MOTIONS["static"].phrase
    assert "quickly" in compose_prompt("A fox", camera_motion="orbit", camera_speed="fast")
    with pytest.raises(GenerationError) as exc:
        camera_phrase("orbit", "warp")
    assert exc.value.field == "camera_speed"
