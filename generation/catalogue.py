"""The model catalogue: the checkpoints the studio knows how to fetch and run, as data.

Each entry says where a checkpoint lives on the hub (id and revision), which engine
family runs it and in which modes, its native size and frame rule, how much it downloads
and what its components weigh (parameter counts as the safetensors headers give them), so
the studio can tell before downloading anything whether this machine can run it.

Installed models live in `models_dir / entry.name` (see `generation.modelstore`); the
studio registers each as an engine whose id is the entry's name.

Plain data and arithmetic: no torch, no Django, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from generation import memory
from generation.spec import GenerationError

T2V, I2V, V2V = "text_to_video", "image_to_video", "video_to_video"
FORWARD, BACKWARD = "extend_forward", "extend_backward"

GPU_DTYPE = "bfloat16"
"""What the engines load weights in on a GPU (`CheckpointEngine.dtype_name`)."""


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    """The catalogue name users type (`manage.py fetch_model wan-t2v-1.3b`) and the engine id."""
    label: str
    family: str
    """The engine kind that runs it (`generation.engines.ENGINE_CLASSES`)."""
    hub_id: str
    revision: str
    modes: frozenset[str]
    native_size: tuple[int, int]
    """Width × height the checkpoint was trained at (landscape)."""
    native_frames: int
    native_fps: int
    frame_rule: str
    """As `Capabilities.frame_rule` words it, e.g. "4k+1 frames"."""
    params: dict[str, float] = field(default_factory=dict)
    """Parameters per pipeline component, e.g. {"transformer": 1.42e9, ...}."""
    download_bytes: int = 0
    """What `allow_patterns` fetches, in bytes (the files as stored on the hub)."""
    allow_patterns: tuple[str, ...] = (
        "model_index.json",
        "*/config.json",
        "*/*.json",
        "*/*.txt",
        "*/*.model",
        "*/*.safetensors",
    )
    """Only what the diffusers pipeline loads: configs, tokenizers and safetensors weights."""
    gated: bool = False
    """The hub requires accepting a licence (and a token) before downloading."""
    licence: str = ""
    notes: str = ""
    activation_bytes: int = 0
    """Working memory besides the weights for one clip at the native size and length: the
    engines' own heuristic (`CheckpointEngine.activation_bytes`, bf16, VAE tiling on)
    with this checkpoint's hidden size, rounded up."""
    needs_gpu: bool = True
    """The real checkpoint takes hours per clip on a CPU (every entry does; the tiny test
    pipelines are configured engines, not catalogue entries)."""

    @property
    def total_params(self) -> float:
        return sum(self.params.values())

    def weight_bytes(self, params: Mapping[str, float] | None = None) -> dict[str, int]:
        """Bytes per component in bf16 (`params` overrides the catalogue's counts, e.g.
        with what an installed checkpoint's safetensors headers say)."""
        per = memory.DTYPE_BYTES[GPU_DTYPE]
        return {k: int(n * per) for k, n in (params or self.params).items()}

    def memory_needed(self, offload: str, params: Mapping[str, float] | None = None) -> int:
        """Peak bytes on the GPU for one native-size clip under `offload` (none, model,
        group): the weights on the device by `memory.device_weight_bytes`, plus
        `activation_bytes`."""
        weights = self.weight_bytes(params)
        return memory.device_weight_bytes(weights, offload, "cuda") + self.activation_bytes


CATALOGUE: dict[str, CatalogueEntry] = {}
"""Every entry by name, in the order pages list them."""


def _add(entry: CatalogueEntry) -> None:
    CATALOGUE[entry.name] = entry


GB = 1000**3
GIB = memory.GIB

_add(
    CatalogueEntry(
        name="wan-t2v-1.3b",
        label="Wan 2.1 text-to-video 1.3B",
        family="wan",
        hub_id="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
        revision="main",
        modes=frozenset({T2V, V2V}),
        native_size=(832, 480),
        native_frames=81,
        native_fps=16,
        frame_rule="4k+1 frames",
        params={"transformer": 1.42e9, "text_encoder": 5.68e9, "vae": 0.127e9},
        download_bytes=int(17.4 * GB),
        licence="Apache-2.0",
        activation_bytes=int(3.1 * GIB),
        notes="Runs on 8 GB with group offload; the smallest real text-to-video model here.",
    )
)

# Shared components, parameters as the safetensors headers count them (approximate where
# the notes say so): Wan's umt5-xxl encoder, its causal 3D VAE, open-clip ViT-H.
_UMT5, _WAN_VAE, _CLIP_H = 5.68e9, 0.127e9, 0.632e9
# T5-v1.1-XXL encoder (LTX-Video, CogVideoX).
_T5_XXL = 4.76e9
_WAN_14B = 14.29e9
_WAN_I2V_14B = 16.4e9  # The 14B DiT plus per-block image cross-attention (approximate).
_WAN_NOTE = "Wan 2.1 generates best at 81 frames (5 s at 16 fps)."

_add(
    CatalogueEntry(
        name="wan-t2v-14b",
        label="Wan 2.1 text-to-video 14B",
        family="wan",
        hub_id="Wan-AI/Wan2.1-T2V-14B-Diffusers",
        revision="main",
        modes=frozenset({T2V, V2V}),
        native_size=(1280, 720),
        native_frames=81,
        native_fps=16,
        frame_rule="4k+1 frames",
        params={"transformer": _WAN_14B, "text_encoder": _UMT5, "vae": _WAN_VAE},
        download_bytes=int(69 * GB),
        licence="Apache-2.0",
        activation_bytes=int(13.5 * GIB),
        notes=(
            "Download size approximate (the transformer is stored in float32). Also "
            f"renders 832×480. {_WAN_NOTE}"
        ),
    )
)
for _res, _size, _act in (("480p", (832, 480), 5.9), ("720p", (1280, 720), 13.5)):
    _add(
        CatalogueEntry(
            name=f"wan-i2v-14b-{_res}",
            label=f"Wan 2.1 image-to-video 14B {_res.upper()}",
            family="wan",
            hub_id=f"Wan-AI/Wan2.1-I2V-14B-{_res.upper()}-Diffusers",
            revision="main",
            modes=frozenset({I2V}),
            native_size=_size,
            native_frames=81,
            native_fps=16,
            frame_rule="4k+1 frames",
            params={
                "transformer": _WAN_I2V_14B,
                "text_encoder": _UMT5,
                "image_encoder": _CLIP_H,
                "vae": _WAN_VAE,
            },
            download_bytes=int(80 * GB),
            licence="Apache-2.0",
            activation_bytes=int(_act * GIB),
            notes=f"Transformer parameters and download size approximate. {_WAN_NOTE}",
        )
    )
for _kind, _modes in (("t2v", frozenset({T2V, V2V})), ("i2v", frozenset({I2V}))):
    _add(
        CatalogueEntry(
            name=f"wan22-{_kind}-a14b",
            label=f"Wan 2.2 {'text' if _kind == 't2v' else 'image'}-to-video A14B",
            family="wan",
            hub_id=f"Wan-AI/Wan2.2-{_kind.upper()}-A14B-Diffusers",
            revision="main",
            modes=_modes,
            native_size=(1280, 720),
            native_frames=81,
            native_fps=16,
            frame_rule="4k+1 frames",
            # Two 14B experts (high noise, then low noise); one runs at a time.
            params={
                "transformer": _WAN_14B,
                "transformer_2": _WAN_14B,
                "text_encoder": _UMT5,
                "vae": _WAN_VAE,
            },
            download_bytes=int(126 * GB),
            licence="Apache-2.0",
            activation_bytes=int(13.5 * GIB),
            notes=(
                "Mixture of two 14B experts: model offload keeps one on the GPU at a time. "
                "Download size approximate. Also renders 832×480."
            ),
        )
    )
_add(
    CatalogueEntry(
        name="wan22-ti2v-5b",
        label="Wan 2.2 text/image-to-video 5B",
        family="wan",
        hub_id="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
        revision="main",
        modes=frozenset({T2V, I2V, V2V}),
        native_size=(1280, 704),
        native_frames=121,
        native_fps=24,
        frame_rule="4k+1 frames",
        params={"transformer": 5.0e9, "text_encoder": _UMT5, "vae": 0.705e9},
        download_bytes=int(34 * GB),
        licence="Apache-2.0",
        activation_bytes=int(5.3 * GIB),
        notes=(
            "Its VAE compresses 16×16×4, so sizes are multiples of 32. Transformer and VAE "
            "parameters and the download size approximate."
        ),
    )
)
for _version, _hub in (
    ("0.9.0", "Lightricks/LTX-Video"),
    ("0.9.1", "Lightricks/LTX-Video-0.9.1"),
    ("0.9.5", "Lightricks/LTX-Video-0.9.5"),
):
    _add(
        CatalogueEntry(
            name=f"ltx-2b-{_version}",
            label=f"LTX-Video 2B {_version}",
            family="ltx",
            hub_id=_hub,
            revision="main",
            modes=frozenset({T2V, I2V, FORWARD, BACKWARD}),
            native_size=(768, 512),
            native_frames=121,
            native_fps=24,
            frame_rule="8k+1 frames",
            params={"transformer": 1.92e9, "text_encoder": _T5_XXL, "vae": 0.42e9},
            download_bytes=int(28 * GB),
            licence="LTX-Video open weights licence" if _version == "0.9.5" else "OpenRAIL-M",
            activation_bytes=int(7.2 * GIB),
            notes=(
                "Fast: real time on a large GPU at 768×512. VAE parameters and download "
                "size approximate; only the diffusers folders are fetched, not the "
                "single-file checkpoints beside them."
            ),
        )
    )
for _name, _label, _hub, _cog_modes, _transformer, _licence in (
    ("cogvideox-2b", "CogVideoX 2B", "THUDM/CogVideoX-2b", {T2V, V2V}, 1.69e9, "Apache-2.0"),
    ("cogvideox-5b", "CogVideoX 5B", "THUDM/CogVideoX-5b", {T2V, V2V}, 5.57e9, "CogVideoX"),
    ("cogvideox-5b-i2v", "CogVideoX 5B image-to-video", "THUDM/CogVideoX-5b-I2V", {I2V},
     5.57e9, "CogVideoX"),
):  # fmt: skip
    _add(
        CatalogueEntry(
            name=_name,
            label=_label,
            family="cogvideox",
            hub_id=_hub,
            revision="main",
            modes=frozenset(_cog_modes),
            native_size=(720, 480),
            native_frames=49,
            native_fps=8,
            frame_rule="8k+1 frames",
            params={"transformer": _transformer, "text_encoder": _T5_XXL, "vae": 0.216e9},
            download_bytes=int((13.8 if _transformer < 2e9 else 21.5) * GB),
            licence=_licence,
            activation_bytes=int(6.5 * GIB),
            notes="6 s at 8 fps. Download size approximate.",
        )
    )
for _name, _label, _hub, _frames in (
    ("svd", "Stable Video Diffusion", "stabilityai/stable-video-diffusion-img2vid", 14),
    ("svd-xt", "Stable Video Diffusion XT", "stabilityai/stable-video-diffusion-img2vid-xt", 25),
):
    _add(
        CatalogueEntry(
            name=_name,
            label=_label,
            family="svd",
            hub_id=_hub,
            revision="main",
            modes=frozenset({I2V}),
            native_size=(1024, 576),
            native_frames=_frames,
            native_fps=7,
            frame_rule="any frame count",
            params={"unet": 1.52e9, "image_encoder": _CLIP_H, "vae": 0.098e9},
            download_bytes=int(9 * GB),
            # The repository holds float16 variants beside the float32 weights the engine
            # loads; fetch only the latter.
            allow_patterns=(
                "model_index.json",
                "*/config.json",
                "*/*.json",
                "*/diffusion_pytorch_model.safetensors",
                "*/model.safetensors",
            ),
            gated=True,
            licence="Stability AI Community",
            activation_bytes=int(7.2 * GIB),
            notes=(
                "Image-to-video only, no prompt. The hub asks you to accept the licence "
                "first (set HF_TOKEN). Download size approximate."
            ),
        )
    )


def get(name: str) -> CatalogueEntry:
    """The entry called `name`, or a GenerationError listing the known names."""
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise GenerationError(
            f"No model called {name!r} in the catalogue; known models: {known}.", field="model"
        ) from None
