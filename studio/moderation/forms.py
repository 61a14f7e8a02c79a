import re

from django import forms

from .models import PolicyCategory, PolicyRule, Report
from .policy import compile_rule


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="Reason", choices=Report.Reason.choices)
    note = forms.CharField(
        label="Note for the moderators",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What is wrong with this clip?"}),
    )


ACTIONS = {
    "hide": "Hide clip",
    "restore": "Restore clip",
    "suspend": "Suspend author",
    "reinstate": "Reinstate author",
    "resolve": "Resolve reports",
    "dismiss": "Dismiss reports",
}


class ActionForm(forms.Form):
    """One moderator action on a clip (or its author, or its reports), with the reason."""

    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    reason = forms.CharField(
        label="Reason (logged)",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why: this goes in the audit log"}),
        error_messages={"required": "Give a reason: every moderation action is logged with one."},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason (logged)",
        max_length=1000,
        error_messages={"required": "Give a reason: every moderation action is logged with one."},
    )


class PolicyRuleForm(forms.Form):
    category = forms.CharField(
        label="Category",
        max_length=60,
        help_text="Shown to the person whose prompt is blocked.",
        widget=forms.TextInput(attrs={"list": "policy-categories"}),
    )
    kind = forms.ChoiceField(label="Kind", choices=PolicyRule.Kind.choices)
    pattern = forms.CharField(label="Term or expression", max_length=300)
    reason = forms.CharField(
        label="Reason (logged)",
        max_length=1000,
        error_messages={"required": "Give a reason: every moderation action is logged with one."},
    )

    def clean(self):
        data = super().clean()
        if "kind" in data and "pattern" in data:
            try:
                compile_rule(data["kind"], data["pattern"])
            except re.error as e:
                self.add_error("pattern", f"Not a valid {data['kind']}: {e}.")
        return data

    @property
    def categories(self):
        return PolicyCategory.objects.values_list("name", flat=True)
