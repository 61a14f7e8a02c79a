"""Tiny random-weight Stable Video Diffusion pipeline, saved once per session.

The engine under test goes through the real `from_pretrained(..., local_files_only=True)`
path, so the fixture writes a complete pipeline directory: spatio-temporal UNet, temporal
VAE decoder, CLIP vision encoder with its image processor, and the Euler scheduler with
the released model's settings. The VAE compresses 4× in space (two blocks), so 32×32 makes
an 8×8 latent; the frame count is free, as with the real model.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def build_tiny_svd(path) -> Path:
    """Write a tiny Stable Video Diffusion pipeline directory at `path` and return it.

    Seeded before each component so the weights, and therefore the frames, are the same in
    every run. The pipeline always resizes the conditioning image to 224×224 for CLIP, so
    the tiny vision encoder keeps that input size and uses large patches to stay small.
    """
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    path = Path(path)
    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 32),
        layers_per_block=1,
        sample_size=32,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=32,
        num_attention_heads=2,
        projection_class_embeddings_input_dim=96,
        addition_time_embed_dim=32,
        num_frames=25,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=[32, 32, 32, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        layers_per_block=1,
        latent_channels=4,
    )
    torch.manual_seed(0)
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            projection_dim=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=224,
            intermediate_size=37,
            patch_size=32,
        )
    ).eval()
    feature_extractor = CLIPImageProcessor(crop_size=224, size=224)
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=feature_extractor,
    )
    pipe.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_svd_dir(tmp_path_factory) -> Path:
    """Build the tiny Stable Video Diffusion pipeline once per session."""
    return build_tiny_svd(tmp_path_factory.mktemp("tiny-svd") / "svd")
