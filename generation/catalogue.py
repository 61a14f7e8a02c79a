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

from dataclasses import dataclass, field

from generation.spec import GenerationError

T2V, I2V, V2V = "text_to_video", "image_to_video", "video_to_video"


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


CATALOGUE: dict[str, CatalogueEntry] = {}
"""Every entry by name, in the order pages list them."""


def _add(entry: CatalogueEntry) -> None:
    CATALOGUE[entry.name] = entry


GB = 1000**3

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
