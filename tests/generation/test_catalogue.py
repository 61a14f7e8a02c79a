"""The catalogue checked against the engines that run it, and its memory arithmetic."""

import pytest

from generation import catalogue
from generation.engines import ENGINE_CLASSES, engine_class
from generation.memory import GIB
from generation.spec import GenerationError

ENTRIES = list(catalogue.CATALOGUE.values())


def test_catalogue_covers_the_issue_list():
    hub_ids = {e.hub_id for e in ENTRIES}
    for hub_id in (
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
        "Wan-AI/Wan2.1-T2V-14B-Diffusers",
        "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
        "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers",
        "Wan-AI/Wan2.2-T2V-A14B-Diffusers",
        "Wan-AI/Wan2.2-I2V-A14B-Diffusers",
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        "THUDM/CogVideoX-2b",
        "THUDM/CogVideoX-5b",
        "THUDM/CogVideoX-5b-I2V",
        "stabilityai/stable-video-diffusion-img2vid",
        "stabilityai/stable-video-diffusion-img2vid-xt",
    ):
        assert hub_id in hub_ids
    assert any(e.family == "ltx" for e in ENTRIES)
    assert catalogue.get("wan-t2v-1.3b").hub_id == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_fits_its_engine_class(entry):
    assert entry.family in ENGINE_CLASSES
    caps = engine_class(entry.family).capabilities
    assert entry.modes and entry.modes <= caps.modes, entry.modes - caps.modes
    width, height = entry.native_size
    multiple = 32 if entry.name == "wan22-ti2v-5b" else caps.size_multiple
    for side in (width, height):
        assert side % multiple == 0, (side, multiple)
        assert caps.min_size <= side <= caps.max_size
    assert entry.frame_rule == caps.frame_rule
    n = entry.native_frames
    assert n >= caps.min_frames
    if caps.frame_multiple > 1:
        assert (n - caps.frame_offset) % caps.frame_multiple == 0
    assert caps.min_fps <= entry.native_fps <= caps.max_fps
    assert entry.revision and entry.download_bytes > 0 and entry.activation_bytes > 0
    assert entry.needs_gpu


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_offload_lowers_memory_needed(entry):
    none, model, group = (entry.memory_needed(o) for o in ("none", "model", "group"))
    assert group < model < none
    # bf16 weights: two bytes a parameter, all of them without offload.
    assert none == sum(int(n * 2) for n in entry.params.values()) + entry.activation_bytes


def test_memory_needed_uses_measured_params_when_given():
    entry = catalogue.get("wan-t2v-1.3b")
    tiny = {"transformer": 1000, "text_encoder": 2000, "vae": 100}
    assert entry.memory_needed("none", tiny) == 6200 + entry.activation_bytes
    assert entry.memory_needed("model", tiny) == 4000 + entry.activation_bytes
    # The 1.3B model's text encoder dominates: over 11 GB in bf16 without offload.
    assert entry.memory_needed("none") > 14 * GIB


def test_wan22_ti2v_checkpoints_take_121_frames(tmp_path):
    (tmp_path / "model_index.json").write_text(
        '{"_class_name": "WanPipeline", "expand_timesteps": true}'
    )
    engine = engine_class("wan")(engine_id="ti2v", model=str(tmp_path), device="cpu")
    assert engine.capabilities.frames_ok(121)
    assert "image_to_video" in engine.capabilities.modes


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(GenerationError) as exc:
        catalogue.get("wan-t2v-13b")
    assert "wan-t2v-13b" in str(exc.value)
    assert "wan-t2v-1.3b" in str(exc.value) and "svd-xt" in str(exc.value)
