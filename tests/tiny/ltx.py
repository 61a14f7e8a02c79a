"""Tiny random-weight LTX-Video pipeline, saved once per session and loaded from disk.

The engine under test goes through the real `from_pretrained(..., local_files_only=True)`
path, so the fixture writes a complete pipeline directory: transformer, VAE, scheduler,
T5 encoder and a T5 tokenizer built offline (a Unigram vocabulary, no hub download).
The VAE compresses 8× in space and time like the released models, so frame counts follow
the real 8k+1 rule and 32×32 makes a 4×4 latent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny._tokenizer import t5_encoder

# Words the tests' prompts use; anything else falls back to <unk>, which is fine for
# random weights but the vocabulary keeps the tokenizer realistic.
WORDS = [
    "a",
    "cat",
    "dog",
    "bird",
    "red",
    "blue",
    "green",
    "sea",
    "sky",
    "city",
    "night",
    "day",
    "slow",
    "fast",
    "camera",
    "pan",
    "zoom",
    "walks",
    "runs",
    "flies",
    "over",
    "under",
    "the",
    "of",
    "in",
    "on",
    "with",
    "and",
    "waves",
    "forest",
    "mountain",
    "light",
]


def _tokenizer():
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{w}", -5.0) for w in WORDS]
    pieces += [(c, -10.0) for c in "abcdefghijklmnopqrstuvwxyz"]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=32)


def build_tiny_ltx(path) -> Path:
    """Write a tiny LTX-Video pipeline directory at `path` and return it.

    Seeded before each component so the weights, and therefore the frames, are the same
    in every run.
    """
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    path = Path(path)
    tokenizer = _tokenizer()

    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    torch.manual_seed(0)
    text_encoder = t5_encoder(len(tokenizer))
    pipe = LTXPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )
    pipe.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_ltx_dir(tmp_path_factory) -> Path:
    """Build the tiny LTX pipeline once per session."""
    return build_tiny_ltx(tmp_path_factory.mktemp("tiny-ltx") / "ltx")
