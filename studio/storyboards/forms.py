from django import forms

from generation.prompting import ASPECT_RATIOS, CAMERA_MOTIONS, STYLE_PRESETS
from studio.jobs.engines import PROMPT_MODES, available_engines
from studio.prompts.validators import validate_image_upload
from studio.storyboards.models import Shot, Storyboard
from studio.storyboards.services import BOARD_FIELDS, SHOT_FIELDS, TEMPLATES

CAMERA_CHOICES = [(m.id, m.label) for m in CAMERA_MOTIONS.values()]
STYLE_CHOICES = [(s.id, s.label) for s in STYLE_PRESETS.values()]


def engine_choices() -> list[tuple[str, str]]:
    return [(e.id, e.label) for e in available_engines(modes=PROMPT_MODES)]


class StoryboardCreateForm(forms.Form):
    name = forms.CharField(max_length=120, required=False)
    template = forms.ChoiceField(
        required=False, choices=[("", "Blank storyboard")] + list(TEMPLATES.items())
    )
    engine = forms.ChoiceField()
    product_name = forms.CharField(
        max_length=80, required=False, help_text="Product pack: shown in the call to action."
    )
    product_image = forms.FileField(
        required=False, validators=[validate_image_upload], help_text="Product pack: the hero shot."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"].choices = engine_choices()

    def clean(self):
        data = super().clean()
        if data.get("template") == "product" and not (data.get("product_name") or "").strip():
            self.add_error("product_name", "Name the product; the call to action shows it.")
        return data


class StoryboardForm(forms.ModelForm):
    style_preset = forms.ChoiceField(
        label="Shared style", required=False, choices=[("", "None")] + STYLE_CHOICES
    )
    aspect_ratio = forms.ChoiceField(label="Aspect", choices=[(a, a) for a in ASPECT_RATIOS])
    engine = forms.ChoiceField()
    resolution = forms.IntegerField(label="Long side (px)", min_value=16, max_value=4096)
    fps = forms.IntegerField(label="FPS", min_value=1, max_value=120)
    seed = forms.IntegerField(min_value=0, max_value=2**62)

    class Meta:
        model = Storyboard
        fields = list(BOARD_FIELDS)
        widgets = {"negative_text": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"].choices = engine_choices()


class ShotForm(forms.ModelForm):
    description = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What the shot shows…"}),
    )
    camera_motion = forms.ChoiceField(label="Camera", choices=CAMERA_CHOICES)
    style_preset = forms.ChoiceField(
        label="Style", required=False, choices=[("", "The board's")] + STYLE_CHOICES
    )
    duration_s = forms.FloatField(label="Duration (s)", min_value=0.1, max_value=120, initial=2.0)
    transition_s = forms.FloatField(label="Crossfade (s)", min_value=0.04, max_value=5, initial=0.5)
    trim_in = forms.FloatField(label="Trim in (s)", min_value=0, max_value=120, initial=0)
    trim_out = forms.FloatField(label="Trim out (s)", min_value=0, max_value=120, required=False)
    image = forms.FileField(
        label="Image (optional)", required=False, validators=[validate_image_upload]
    )

    class Meta:
        model = Shot
        fields = list(SHOT_FIELDS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        has_image = data.get("image") or (self.instance.pk and self.instance.image)
        if not (data.get("description") or "").strip() and not has_image:
            self.add_error("description", "Describe the shot or give it an image.")
        trim_out = data.get("trim_out")
        if trim_out is not None and trim_out <= data.get("trim_in", 0):
            self.add_error("trim_out", "Trim out must come after trim in.")
        return data


class ExportForm(forms.Form):
    soundtrack = forms.FileField(
        required=False,
        label="Soundtrack (optional)",
        help_text="MP3, M4A, AAC, WAV, OGG, FLAC or Opus; trimmed and faded to the film.",
    )
