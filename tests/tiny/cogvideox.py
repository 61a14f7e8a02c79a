"""Tiny random-weight CogVideoX pipelines, saved once per session and loaded from disk.

The engine under test goes through the real `from_pretrained(..., local_files_only=True)`
path, so each fixture writes a complete pipeline directory: transformer, VAE, scheduler,
T5 encoder and a tokenizer built offline (a word-level vocabulary, no hub download).
The VAE compresses 8× in space and 4× in time like the released models (32×32 makes a
4×4 latent, 17 frames make 5 latent frames), so the engine's frame rule is exercised for real.

Two directories, because the released checkpoints differ the same way: the text-to-video
transformer (also used for video to video) takes the noisy latents only; the image-to-video
transformer takes them concatenated with the image latents (twice the input channels) and,
like CogVideoX-5b-I2V, learns positional embeddings for one fixed size (32×32 here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny._tokenizer import t5_encoder, word_tokenizer

# Words the tests' prompts use; anything else maps to <unk>, which is fine for random
# weights, but a real vocabulary keeps the tokenizer's padding and truncation realistic.
WORDS = (
    "a an the of in on at with and over under into from to is are "
    "cat dog bird fox horse fish astronaut robot person woman man child "
    "red blue green gold white black bright dark soft "
    "sea sky city night day sun moon rain snow forest mountain river street light "
    "walks runs flies swims dances waves floats glows "
    "slow fast camera pan zoom tilt orbit dolly shot close wide cinematic"
)

TINY_SIZE = 32
"""Width and height the image-to-video transformer's learned embeddings are sized for."""

TEXT_LEN = 16
"""Prompt tokens the transformers accept (226 in the released models)."""


def tiny_tokenizer():
    """Build the T5-like tokenizer offline: pad 0, eos 1, unk 2, then `WORDS`."""
    return word_tokenizer(WORDS.split(), model_max_length=TEXT_LEN)


def _vae():
    from diffusers import AutoencoderKLCogVideoX

    return AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )


def _build(path, *, image_to_video: bool) -> Path:
    import torch
    from diffusers import (
        CogVideoXDDIMScheduler,
        CogVideoXImageToVideoPipeline,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )

    path = Path(path)
    tokenizer = tiny_tokenizer()
    latent = TINY_SIZE // 8
    torch.manual_seed(0)
    if image_to_video:
        # Rotary attention needs a head dim divisible by 16; learned positional embeddings
        # pin the size, as in CogVideoX-5b-I2V.
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=2,
            attention_head_dim=16,
            in_channels=8,
            out_channels=4,
            time_embed_dim=2,
            text_embed_dim=32,
            num_layers=1,
            sample_width=latent,
            sample_height=latent,
            sample_frames=17,
            patch_size=2,
            temporal_compression_ratio=4,
            max_text_seq_length=TEXT_LEN,
            use_rotary_positional_embeddings=True,
            use_learned_positional_embeddings=True,
        )
    else:
        transformer = CogVideoXTransformer3DModel(
            num_attention_heads=4,
            attention_head_dim=8,
            in_channels=4,
            out_channels=4,
            time_embed_dim=2,
            text_embed_dim=32,
            num_layers=1,
            sample_width=latent,
            sample_height=latent,
            sample_frames=17,
            patch_size=2,
            temporal_compression_ratio=4,
            max_text_seq_length=TEXT_LEN,
        )
    torch.manual_seed(0)
    vae = _vae()
    torch.manual_seed(0)
    text_encoder = t5_encoder(len(tokenizer))
    scheduler = CogVideoXDDIMScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        set_alpha_to_one=True,
        snr_shift_scale=3.0,
        timestep_spacing="trailing",
    )
    cls = CogVideoXImageToVideoPipeline if image_to_video else CogVideoXPipeline
    pipe = cls(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipe.save_pretrained(path)
    return path


def build_tiny_cogvideox(path) -> Path:
    """Write a tiny CogVideoX text-to-video pipeline directory at `path` and return it.

    Seeded before each component so the weights, and therefore the frames, are the same
    in every run. Video to video loads from the same directory, as with the real models.
    """
    return _build(path, image_to_video=False)


def build_tiny_cogvideox_i2v(path) -> Path:
    """Write a tiny CogVideoX image-to-video pipeline directory at `path` and return it."""
    return _build(path, image_to_video=True)


@pytest.fixture(scope="session")
def tiny_cogvideox_dir(tmp_path_factory) -> Path:
    """Build the tiny CogVideoX text-to-video pipeline once per session."""
    return build_tiny_cogvideox(tmp_path_factory.mktemp("tiny-cogvideox") / "cogvideox")


@pytest.fixture(scope="session")
def tiny_cogvideox_i2v_dir(tmp_path_factory) -> Path:
    """Build the tiny CogVideoX image-to-video pipeline once per session."""
    return build_tiny_cogvideox_i2v(tmp_path_factory.mktemp("tiny-cogvideox-i2v") / "i2v")
