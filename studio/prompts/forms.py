from django import forms
from django.conf import settings

from generation.longvideo import MAX_LONG_SECONDS
from generation.prompting import ASPECT_RATIOS, CAMERA_MOTIONS, STYLE_PRESETS
from generation.spec import GenerationError
from studio.jobs.engines import PROMPT_MODES, available_engines
from studio.jobs.models import Prompt
from studio.jobs.recipes import add_form_error, build_request
from studio.prompts.validators import validate_image_upload

RESOLUTIONS = (256, 384, 512, 640, 832, 1280, 1920)


class PromptForm(forms.ModelForm):
    """The prompt with its camera and style controls; validates against the chosen engine."""

    text = forms.CharField(
        label="Prompt",
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "placeholder": "A lighthouse on a cliff at dusk, waves crashing below…",
            }
        ),
        error_messages={
            "required": "Write a prompt.",
            "max_length": "The prompt is limited to %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    negative_text = forms.CharField(
        label="Negative prompt",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "blurry, low quality, watermark"}),
    )
    camera_motion = forms.ChoiceField(
        label="Camera", choices=[(m.id, m.label) for m in CAMERA_MOTIONS.values()]
    )
    style_preset = forms.ChoiceField(
        label="Style",
        required=False,
        choices=[("", "None")] + [(s.id, s.label) for s in STYLE_PRESETS.values()],
    )
    aspect_ratio = forms.ChoiceField(label="Aspect", choices=[(a, a) for a in ASPECT_RATIOS])
    resolution = forms.IntegerField(
        label="Long side (px)",
        min_value=16,
        max_value=4096,
        initial=512,
        widget=forms.NumberInput(attrs={"list": "resolutions", "step": 16}),
    )
    duration_s = forms.FloatField(
        label="Duration (s)", min_value=0.1, max_value=MAX_LONG_SECONDS, initial=2.0
    )
    fps = forms.IntegerField(label="FPS", min_value=1, max_value=120, initial=16)
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
        max_value=150,
        widget=forms.NumberInput(attrs={"placeholder": "default"}),
    )
    engine = forms.ChoiceField(label="Engine")
    image = forms.FileField(
        label="Input image (optional)", required=False, validators=[validate_image_upload]
    )

    class Meta:
        model = Prompt
        fields = [
            "text",
            "negative_text",
            "camera_motion",
            "style_preset",
            "aspect_ratio",
            "resolution",
            "duration_s",
            "fps",
            "seed",
            "steps",
            "engine",
            "image",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        engines = available_engines(modes=PROMPT_MODES)
        ids = [e.id for e in engines]
        self.fields["engine"].choices = [(e.id, e.label) for e in engines]
        default = settings.STUDIO_DEFAULT_ENGINE
        self.fields["engine"].initial = default if default in ids else (ids[0] if ids else None)
        self.resolutions = RESOLUTIONS

    ROWS = (
        ("camera_motion", "style_preset", "aspect_ratio", "resolution"),
        ("duration_s", "fps", "seed", "steps", "engine"),
    )

    @property
    def rows(self):
        """The controls laid out side by side under the prompt, row by row."""
        return [[self[name] for name in row] for row in self.ROWS]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        candidate = Prompt(**{k: v for k, v in data.items() if k != "image"})
        try:
            placeholder = "pending-upload" if data.get("image") else None
            build_request(candidate, image_path=placeholder)
        except GenerationError as e:
            add_form_error(self, e, "prompt_form")
        return data
