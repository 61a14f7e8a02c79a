from django import forms

from generation.spec import MODE_LABELS, GenerationError
from generation.upscale import DEFAULT_MODEL, UPSCALE_MODEL_LABELS
from studio.jobs.engines import available_engines
from studio.jobs.models import Clip
from studio.jobs.recipes import DERIVE_MODES, add_form_error, build_derived_request


class DeriveForm(forms.Form):
    """Make a new clip from this one; validated against the engine that will run it."""

    mode = forms.ChoiceField(label="Action")
    engine = forms.ChoiceField(label="Engine", required=False)
    scale = forms.TypedChoiceField(
        label="Factor", coerce=int, choices=[(2, "×2"), (3, "×3"), (4, "×4")], initial=2
    )
    upscale_model = forms.ChoiceField(
        label="Upscale model",
        choices=list(UPSCALE_MODEL_LABELS.items()),
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

    def __init__(self, *args, clip: Clip, **kwargs):
        super().__init__(*args, **kwargs)
        self.clip = clip
        offered = set().union(*(e.capabilities.modes for e in available_engines()))
        self.fields["mode"].choices = [(m, MODE_LABELS[m]) for m in DERIVE_MODES if m in offered]
        self.fields["engine"].choices = [("", "Automatic")] + [
            (e.id, e.label) for e in available_engines(modes=set(DERIVE_MODES))
        ]
        enhancers = [e.capabilities for e in available_engines(modes={"enhance"})]
        if enhancers:  # The browser's limits; the engine's plan gives the precise ones.
            self.fields["target_fps"].widget.attrs["max"] = max(c.max_fps for c in enhancers)
            self.fields["target_size"].widget.attrs["max"] = max(c.max_size for c in enhancers)
        self.engine = None
        self.request = None
        self.notes: list[str] = []

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.engine, self.request, self.notes = build_derived_request(
                self.clip,
                mode=data["mode"],
                engine_id=data.get("engine") or None,
                scale=data["scale"],
                upscale_model=data["upscale_model"],
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
