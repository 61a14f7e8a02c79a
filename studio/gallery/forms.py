import json

from django import forms
from django.conf import settings

from generation.spec import MODE_LABELS, GenerationError
from generation.upscale import DEFAULT_MODEL, UPSCALE_MODEL_LABELS
from studio.jobs.engines import available_engines
from studio.jobs.models import Clip
from studio.jobs.recipes import DERIVE_MODES, add_form_error, build_derived_request

FIELD_MODES = {
    "engine": DERIVE_MODES,
    "scale": ("interpolate", "upscale"),
    "upscaler": ("upscale", "enhance"),
    "upscale_model": ("upscale", "enhance"),
    "target_fps": ("enhance",),
    "target_size": ("enhance",),
    "prompt": ("extend_forward", "extend_backward", "video_to_video"),
    "seconds": ("extend_forward", "extend_backward"),
    "strength": ("video_to_video",),
}
"""Which action each field belongs to; the page shows only the chosen action's fields."""

MODE_NEEDS = {
    "extend_forward": "LTX-Video",
    "extend_backward": "LTX-Video",
    "video_to_video": "Wan or CogVideoX",
    "interpolate": "the enhance engine",
    "upscale": "the enhance engine",
    "enhance": "the enhance engine",
}

# Seconds per input megapixel per frame on a 2-core CPU, from bench/README.md (ncnn):
# realesrgan-x4plus ≈ 9.5 s at 256×144, realesr-animevideov3 ≈ 0.35 s, Lanczos ≈ 0.005 s.
CPU_SECONDS_PER_MP = {"fast": 9.5, "general": 260.0, "anime": 260.0, "lanczos": 0.15}


def upscale_estimates(clip: Clip) -> dict[str, float]:
    """Rough seconds to upscale the clip on a 2-core CPU, per model and for Lanczos."""
    megapixels = clip.width * clip.height / 1e6 * clip.num_frames
    return {k: megapixels * rate for k, rate in CPU_SECONDS_PER_MP.items()}


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


class DeriveForm(forms.Form):
    """Make a new clip from this one; validated against the engine that will run it."""

    mode = forms.ChoiceField(label="Action")
    engine = forms.ChoiceField(label="Engine", required=False)
    scale = forms.TypedChoiceField(
        label="Factor", coerce=int, choices=[(2, "×2"), (3, "×3"), (4, "×4")], initial=2
    )
    upscaler = forms.ChoiceField(
        label="Upscaler",
        choices=[
            ("auto", "Real-ESRGAN (adds detail)"),
            ("lanczos", "Lanczos (instant, no new detail)"),
        ],
        initial="auto",
        required=False,
    )
    upscale_model = forms.ChoiceField(
        label="Upscale model",
        choices=[
            (k, {"fast": "Fast", "general": "General (photo, slow)", "anime": "Anime"}.get(k, v))
            for k, v in UPSCALE_MODEL_LABELS.items()
        ],
        initial=DEFAULT_MODEL,
    )
    target_fps = forms.IntegerField(
        label="Target fps (enhance)",
        required=False,
        min_value=1,
        help_text="×2, ×3 or ×4 the clip's; blank keeps it.",
    )
    target_size = forms.IntegerField(
        label="Target long side, px (enhance)",
        required=False,
        min_value=1,
        help_text="Up to ×4 the clip's; blank keeps it.",
    )
    prompt = forms.CharField(
        label="Prompt (extend, restyle)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Blank: the clip's own prompt"}),
    )
    seconds = forms.FloatField(label="Seconds to add", min_value=0.1, max_value=600, initial=2)
    strength = forms.FloatField(label="Restyle strength", min_value=0, max_value=1, initial=0.6)

    def __init__(self, *args, clip: Clip | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.clip = clip
        offered = set().union(*(e.capabilities.modes for e in available_engines()))
        self.fields["mode"].choices = [(m, MODE_LABELS[m]) for m in DERIVE_MODES if m in offered]
        self.fields["engine"].choices = [("", "Automatic")] + [
            (e.id, e.label) for e in available_engines(modes=set(DERIVE_MODES))
        ]
        missing = [m for m in DERIVE_MODES if m not in offered]
        self.missing = [f"{MODE_LABELS[m]} needs {MODE_NEEDS[m]}" for m in missing]
        self.factors = self._factors(clip)
        self.estimate = ""
        if clip is not None:
            estimates = upscale_estimates(clip)
            self.estimate = (
                f"Upscaling these {clip.num_frames} frames of {clip.width}×{clip.height} on a "
                f"2-core CPU takes {_duration(estimates['fast'])} with Fast, "
                f"{_duration(estimates['general'])} with General, "
                f"{_duration(estimates['lanczos'])} with Lanczos (a GPU is far faster)."
            )
        enhancers = [e.capabilities for e in available_engines(modes={"enhance"})]
        if enhancers:  # The browser's limits; the engine's plan gives the precise ones.
            self.fields["target_fps"].widget.attrs["max"] = max(c.max_fps for c in enhancers)
            self.fields["target_size"].widget.attrs["max"] = max(c.max_size for c in enhancers)
        self.engine = None
        self.request = None
        self.notes: list[str] = []

    @staticmethod
    def _factors(clip: Clip | None) -> dict[str, list[int]]:
        """The factors each scaling action accepts for this clip, within the engines' sizes."""
        factors: dict[str, list[int]] = {}
        for mode in ("interpolate", "upscale"):
            engines = available_engines(modes={mode})
            allowed = sorted({s for e in engines for s in e.capabilities.scales.get(mode, ())})
            if mode == "upscale" and engines and clip is not None:
                biggest = max(e.capabilities.max_size for e in engines)
                allowed = [s for s in allowed if max(clip.width, clip.height) * s <= biggest]
            factors[mode] = allowed
        return factors

    @property
    def factors_json(self) -> str:
        return json.dumps(self.factors)

    @property
    def field_groups(self):
        """Each field with the actions it belongs to, for the page to show only those."""
        return [(self[name], " ".join(FIELD_MODES.get(name, ()))) for name in self.fields]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        mode, scale = data.get("mode"), data.get("scale")
        allowed = self.factors.get(mode)
        if allowed is not None and scale not in allowed:
            offered = ", ".join(f"×{s}" for s in allowed) or "no factor"
            what = f"this {self.clip.width}×{self.clip.height} clip" if self.clip else "a video"
            self.add_error("scale", f"{MODE_LABELS[mode]} of {what} offers {offered}.")
            return data
        if self.clip is None:
            return data  # the upload is probed, and the request built, when it is stored
        try:
            self.engine, self.request, self.notes = build_derived_request(
                self.clip,
                mode=data["mode"],
                engine_id=data.get("engine") or None,
                scale=data["scale"],
                upscale_model=data["upscale_model"],
                upscaler=data.get("upscaler") or "auto",
                target_fps=data.get("target_fps"),
                target_size=data.get("target_size"),
                prompt=data.get("prompt") or "",
                seconds=data["seconds"],
                strength=data["strength"],
            )
        except GenerationError as e:
            add_form_error(self, e, "derive_form")
        return data


class RemixForm(forms.Form):
    """The clip's recipe and seed again, with a new prompt."""

    text = forms.CharField(
        label="New prompt",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "The same shot, in a snowstorm"}),
        error_messages={"required": "Write the new prompt."},
    )


class ClipRenameForm(forms.Form):
    title = forms.CharField(label="Title", required=False, max_length=120)


class FootageForm(DeriveForm):
    """Your own video as the source: restyle, extend, upscale or interpolate it."""

    video = forms.FileField(label="Your video (MP4, MOV or WebM)")

    field_order = ["video"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "footage_%s")  # beside the prompt form on one page
        super().__init__(*args, clip=None, **kwargs)
        self.order_fields(["video", "mode"])

    def clean_video(self):
        upload = self.cleaned_data["video"]
        if upload.size > settings.STUDIO_MAX_UPLOAD_BYTES:
            mb = settings.STUDIO_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise forms.ValidationError(f"The video is larger than {mb} MB.")
        return upload
