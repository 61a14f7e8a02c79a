import functools
from dataclasses import asdict

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator

from generation.longvideo import MAX_LONG_SECONDS, chain_kind
from generation.presets import MOODS, PLATFORMS, platform_for, platform_settings
from generation.prompting import (
    ANATOMY_LABELS,
    ANATOMY_PARTS,
    ANATOMY_PLACEHOLDERS,
    ASPECT_RATIOS,
    CAMERA_MOTIONS,
    CAMERA_SPEEDS,
    GUIDANCE_RANGE,
    MOTION_AMOUNT_RANGE,
    STYLE_PRESETS,
    Anatomy,
    assemble_prompt,
)
from generation.spec import GenerationError
from studio.jobs.engines import PROMPT_MODES, EngineInfo, available_engines, missing_engines
from studio.jobs.models import Prompt
from studio.jobs.recipes import add_form_error, build_request
from studio.prompts.validators import validate_image_upload

RESOLUTIONS = (256, 384, 512, 640, 832, 1280, 1920)
MAX_VARIANTS = 4


def selected_engine(engine_id: str | None) -> EngineInfo | None:
    """The engine a form is about: the one asked for if it offers prompts, else the default."""
    engines = available_engines(modes=PROMPT_MODES)
    by_id = {e.id: e for e in engines}
    for candidate in (engine_id, settings.STUDIO_DEFAULT_ENGINE):
        if candidate in by_id:
            return by_id[candidate]
    return engines[0] if engines else None


def _bound(field: forms.Field, lo: float, hi: float, *, message: str) -> None:
    """Give a number field the engine's limits, both as validators and as the inputs' min/max."""
    field.validators = [
        v for v in field.validators if not isinstance(v, MinValueValidator | MaxValueValidator)
    ] + [MinValueValidator(lo, message=message), MaxValueValidator(hi, message=message)]
    field.min_value, field.max_value = lo, hi  # type: ignore[attr-defined]
    field.widget.attrs.update({"min": lo, "max": hi})


class PromptForm(forms.ModelForm):
    """The prompt, built from its parts or written whole, with camera, style and platform
    controls; its limits are the selected engine's Capabilities."""

    text = forms.CharField(
        label="Prompt",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": "A lighthouse on a cliff at dusk, waves crashing below…",
            }
        ),
    )
    negative_text = forms.CharField(
        label="Negative prompt",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "blurry, low quality, watermark"}),
    )
    camera_motion = forms.ChoiceField(
        label="Camera", choices=[(m.id, m.label) for m in CAMERA_MOTIONS.values()]
    )
    camera_speed = forms.ChoiceField(
        label="Camera speed",
        required=False,
        choices=[(k, label) for k, (label, _) in CAMERA_SPEEDS.items()],
        initial="normal",
    )
    style_preset = forms.ChoiceField(
        label="Style",
        required=False,
        choices=[("", "None")] + [(s.id, s.label) for s in STYLE_PRESETS.values()],
    )
    aspect_ratio = forms.ChoiceField(label="Aspect", choices=[(a, a) for a in ASPECT_RATIOS])
    resolution = forms.IntegerField(
        label="Long side (px)",
        initial=512,
        widget=forms.NumberInput(attrs={"list": "resolutions"}),
    )
    duration_s = forms.FloatField(
        label="Duration (s)", initial=2.0, widget=forms.NumberInput(attrs={"step": "any"})
    )
    fps = forms.IntegerField(label="FPS", initial=16)
    seed = forms.IntegerField(
        label="Seed",
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        widget=forms.NumberInput(attrs={"placeholder": "random"}),
    )
    steps = forms.IntegerField(
        label="Steps",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"placeholder": "default"}),
    )
    guidance = forms.FloatField(
        label="Guidance (CFG)",
        required=False,
        min_value=GUIDANCE_RANGE[0],
        max_value=GUIDANCE_RANGE[1],
        widget=forms.NumberInput(attrs={"step": "0.5", "placeholder": "default"}),
    )
    motion_amount = forms.IntegerField(
        label="Motion amount",
        required=False,
        min_value=MOTION_AMOUNT_RANGE[0],
        max_value=MOTION_AMOUNT_RANGE[1],
        widget=forms.NumberInput(attrs={"placeholder": "default"}),
    )
    engine = forms.ChoiceField(label="Engine")
    image = forms.FileField(
        label="Input image (optional)", required=False, validators=[validate_image_upload]
    )
    variants = forms.IntegerField(
        label="Variants",
        required=False,
        min_value=1,
        max_value=MAX_VARIANTS,
        initial=1,
        help_text="Different seeds, side by side.",
    )
    image_clip = forms.IntegerField(required=False, widget=forms.HiddenInput)
    image_frame = forms.ChoiceField(
        required=False,
        choices=[("last", "Last frame"), ("first", "First frame")],
        widget=forms.HiddenInput,
    )
    platform = forms.ChoiceField(
        label="Made for",
        required=False,
        choices=[("", "Anywhere")] + [(p.id, p.label) for p in PLATFORMS.values()],
    )
    mood = forms.ChoiceField(
        label="Product mood",
        required=False,
        choices=[("", "None")] + [(m.id, m.label) for m in MOODS.values()],
    )

    class Meta:
        model = Prompt
        fields = [
            "text",
            "negative_text",
            "camera_motion",
            "camera_speed",
            "style_preset",
            "aspect_ratio",
            "resolution",
            "duration_s",
            "fps",
            "seed",
            "steps",
            "guidance",
            "motion_amount",
            "engine",
            "image",
        ]

    ROWS = (
        ("engine",),  # its own row: engine labels are long ("Animatic (camera previs)")
        ("platform", "mood"),
        ("camera_motion", "camera_speed", "style_preset"),
        ("aspect_ratio", "resolution", "duration_s", "fps"),
        ("variants", "seed", "steps", "guidance", "motion_amount"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for part in ANATOMY_PARTS:
            self.fields[part] = forms.CharField(
                label=ANATOMY_LABELS[part],
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"placeholder": ANATOMY_PLACEHOLDERS[part]}),
            )
        engines = available_engines(modes=PROMPT_MODES)
        self.fields["engine"].choices = [(e.id, e.label) for e in engines]
        asked = self.data.get("engine") if self.is_bound else self.initial.get("engine")
        self.engine_info = selected_engine(asked)
        self.fields["engine"].initial = self.engine_info.id if self.engine_info else None
        self.resolutions = RESOLUTIONS
        if self.engine_info:
            self._apply_limits(self.engine_info)

    @functools.cached_property
    def other_engines(self):
        """Engines that would take prompts but cannot run here, each with the reason,
        in groups by state (the template regroups them)."""
        return sorted(missing_engines(modes=PROMPT_MODES), key=lambda s: s.state)

    def _apply_limits(self, info: EngineInfo) -> None:
        caps = info.capabilities
        name = info.label
        _bound(
            self.fields["resolution"],
            caps.min_size,
            caps.max_size,
            message=f"{name} makes {caps.min_size}–{caps.max_size} px on the long side.",
        )
        self.fields["resolution"].widget.attrs["step"] = caps.size_multiple
        _bound(
            self.fields["fps"],
            caps.min_fps,
            caps.max_fps,
            message=f"{name} makes {caps.min_fps}–{caps.max_fps} fps.",
        )
        longest = _longest_seconds(caps)
        _bound(
            self.fields["duration_s"],
            0.05,
            longest,
            message=(
                f"{name} chains clips up to {longest:g} s."
                if chain_kind(caps)
                else f"{name} makes clips up to {longest:g} s (at {caps.min_fps} fps)."
            ),
        )
        _bound(
            self.fields["steps"], 1, caps.max_steps, message=f"Steps must be 1–{caps.max_steps}."
        )
        if info.default_guidance is not None:
            self.fields["guidance"].widget.attrs["placeholder"] = f"{info.default_guidance:g}"
        if info.default_motion_amount is not None:
            self.fields["motion_amount"].widget.attrs["placeholder"] = info.default_motion_amount
        self.max_prompt_chars = caps.max_prompt_chars

    @property
    def rows(self):
        """The controls laid out side by side under the prompt, row by row."""
        return [[self[name] for name in row] for row in self.ROWS]

    @property
    def anatomy_fields(self):
        return [self[part] for part in ANATOMY_PARTS]

    @property
    def has_guidance(self) -> bool:
        return bool(self.engine_info and self.engine_info.default_guidance is not None)

    @property
    def has_motion_amount(self) -> bool:
        return bool(self.engine_info and self.engine_info.default_motion_amount is not None)

    def anatomy(self) -> Anatomy:
        source = self.cleaned_data if hasattr(self, "cleaned_data") else self.data
        return Anatomy.from_mapping(source)

    def _check_length(self, name: str) -> None:
        text = self.cleaned_data.get(name) or ""
        limit = getattr(self, "max_prompt_chars", None)
        if limit and len(text) > limit:
            engine = self.engine_info.label if self.engine_info else "This engine"
            self.add_error(
                name,
                f"The {self.fields[name].label.lower()} is {len(text)} characters; "
                f"{engine} takes at most {limit}. Cut {len(text) - limit}.",
            )

    def clean(self):
        data = super().clean()
        if not (data.get("text") or "").strip():
            assembled = assemble_prompt(Anatomy.from_mapping(data))
            if assembled:
                data["text"] = assembled
            elif "text" not in self.errors:
                self.add_error(
                    "text",
                    "Write a prompt. (Or fill in the parts above and the builder writes it.)",
                )
        self._check_length("text")
        self._check_length("negative_text")
        if platform_id := data.get("platform"):
            platform = platform_for(platform_id)
            duration = data.get("duration_s")
            if duration and duration > platform.max_seconds and "duration_s" not in self.errors:
                self.add_error(
                    "duration_s",
                    f"{platform.label} takes videos up to {platform.max_seconds:g} s.",
                )
        if self.errors:
            return data
        candidate = Prompt(**self.prompt_data())
        try:
            has_image = data.get("image") or data.get("image_clip")
            placeholder = "pending-upload" if has_image else None
            build_request(candidate, image_path=placeholder)
        except GenerationError as e:
            add_form_error(self, e, "prompt_form")
        return data

    def prompt_data(self) -> dict:
        """The Prompt row's fields from the cleaned form, the builder's parts included."""
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        data["camera_speed"] = data.get("camera_speed") or "normal"
        data["anatomy"] = Anatomy.from_mapping(self.cleaned_data).to_dict()
        if not data.get("image"):
            data.pop("image")
        return data


def initial_from_prompt(prompt: Prompt | None) -> dict:
    """Form values that repeat a saved prompt's settings (the seed too, so it reproduces)."""
    if prompt is None:
        return {}
    initial = {name: getattr(prompt, name) for name in PromptForm.Meta.fields if name != "image"}
    initial.update(prompt.anatomy or {})
    return initial


def initial_from_recipe(recipe: dict, prompt: Prompt | None, engine: str) -> dict:
    """Form values for "use these settings" on a clip: its prompt row, else its recipe."""
    if prompt is not None:
        return initial_from_prompt(prompt)
    width, height = recipe.get("width") or 512, recipe.get("height") or 288
    return {
        "text": recipe.get("prompt", ""),
        "camera_motion": recipe.get("camera_motion") or "static",
        "style_preset": recipe.get("style", ""),
        "resolution": max(width, height),
        "duration_s": round((recipe.get("num_frames") or 0) / (recipe.get("fps") or 16), 2),
        "fps": recipe.get("fps"),
        "seed": recipe.get("seed"),
        "steps": recipe.get("steps"),
        "guidance": recipe.get("guidance"),
        "engine": engine,
    }


def _longest_seconds(caps) -> float:
    """One pass's length, or the chained maximum where the engine can chain passes."""
    if chain_kind(caps):
        return float(MAX_LONG_SECONDS)
    return min(float(MAX_LONG_SECONDS), round(caps.max_frames / caps.min_fps, 2))


def engine_limits() -> dict:
    """Per engine, what the builder's script needs to bound and show the controls."""
    limits = {}
    for info in available_engines(modes=PROMPT_MODES):
        caps = info.capabilities
        limits[info.id] = {
            "label": info.label,
            "min_size": caps.min_size,
            "max_size": caps.max_size,
            "size_multiple": caps.size_multiple,
            "min_fps": caps.min_fps,
            "max_fps": caps.max_fps,
            "max_frames": caps.max_frames,
            "max_seconds": _longest_seconds(caps),
            "max_steps": caps.max_steps,
            "max_prompt_chars": caps.max_prompt_chars,
            "guidance": info.default_guidance,
            "motion_amount": info.default_motion_amount,
            "platforms": {pid: asdict(platform_settings(pid, caps)) for pid in PLATFORMS},
        }
    return limits


def builder_data() -> dict:
    """Everything the builder's script fills in from: presets, moods, engine limits."""
    return {
        "cameras": {m.id: m.phrase for m in CAMERA_MOTIONS.values()},
        "moods": {m.id: asdict(m) for m in MOODS.values()},
        "engines": engine_limits(),
    }
