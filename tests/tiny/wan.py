"""Tiny random-weight Wan 2.x pipelines, built offline and saved like a real checkpoint.

Tests load them through the engine's real `from_pretrained(..., local_files_only=True)`
path, so what runs in CI is the same code that loads the 14B weights. The builders are
plain functions so scripts (benchmarks) can use them without pytest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny._tokenizer import t5_encoder, word_tokenizer

# Enough everyday English that test prompts tokenize to real ids, not <unk>; the tiny
# UMT5 has 64 embeddings, so the vocabulary stays at 64 entries.
_WORD_TEXT = (
    "a an the of in on at and with to from by over under is are this that it "
    "cat dog man woman child car city street sea sky sun rain snow forest tree mountain "
    "river night day red blue green white black light slow fast walking running flying "
    "camera pan zoom shot close wide cinematic style video blurry low quality"
)
WORDS = tuple(_WORD_TEXT.split())


def build_tokenizer():
    """Return a UMT5-shaped fast tokenizer over `WORDS` (pad 0, eos 1, unk 2)."""
    tokenizer = word_tokenizer(WORDS)
    if len(tokenizer) > 64:
        raise ValueError(f"Tiny vocabulary has {len(tokenizer)} entries; the text encoder has 64.")
    return tokenizer


def _text_parts() -> dict:
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    text_encoder = t5_encoder(64, umt5=True)
    return {
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": build_tokenizer(),
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
    }


def _transformer(**overrides):
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    kwargs = dict(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    kwargs.update(overrides)
    return WanTransformer3DModel(**kwargs)


def build_tiny_wan(path: str | Path) -> Path:
    """Save a tiny Wan text-to-video pipeline (also serves video-to-video) to `path`."""
    from diffusers import WanPipeline

    path = Path(path)
    pipe = WanPipeline(transformer=_transformer(), **_text_parts())
    pipe.save_pretrained(path)
    return path


# CLIP sees 4x4 pixels as 16 patches plus a class token; a first+last checkpoint embeds
# both frames, so its image position table holds two of those sequences.
_CLIP_SIZE = 4
_CLIP_TOKENS = _CLIP_SIZE * _CLIP_SIZE + 1


def build_tiny_wan_i2v(path: str | Path, *, first_last: bool = False) -> Path:
    """Save a tiny Wan 2.1-style image-to-video pipeline (CLIP image encoder) to `path`.

    `first_last=True` builds the first+last-frame (FLF2V) variant, whose transformer has
    an image position table (`pos_embed_seq_len`) and therefore always takes two frames.
    """
    import torch
    from diffusers import WanImageToVideoPipeline
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    path = Path(path)
    extra = {"pos_embed_seq_len": 2 * _CLIP_TOKENS} if first_last else {}
    transformer = _transformer(in_channels=36, image_dim=4, **extra)
    torch.manual_seed(0)
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=4,
            projection_dim=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=_CLIP_SIZE,
            intermediate_size=16,
            patch_size=1,
        )
    ).eval()
    image_processor = CLIPImageProcessor(crop_size=_CLIP_SIZE, size=_CLIP_SIZE)
    pipe = WanImageToVideoPipeline(
        transformer=transformer,
        image_encoder=image_encoder,
        image_processor=image_processor,
        **_text_parts(),
    )
    pipe.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_wan_dir(tmp_path_factory) -> Path:
    return build_tiny_wan(tmp_path_factory.mktemp("tiny-wan") / "wan")


@pytest.fixture(scope="session")
def tiny_wan_i2v_dir(tmp_path_factory) -> Path:
    return build_tiny_wan_i2v(tmp_path_factory.mktemp("tiny-wan-i2v") / "wan-i2v")


@pytest.fixture(scope="session")
def tiny_wan_flf2v_dir(tmp_path_factory) -> Path:
    return build_tiny_wan_i2v(
        tmp_path_factory.mktemp("tiny-wan-flf2v") / "wan-flf2v", first_last=True
    )
