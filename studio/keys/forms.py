from django import forms

from studio.keys.models import ApiKey
from studio.projects.models import Project
from studio.teams.selectors import teams_writable_by


class ProjectChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Project) -> str:
        return f"{obj.team.name} / {obj.name}"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        error_messages={"required": "Name the key, e.g. after the script that uses it."},
    )
    team = forms.ModelChoiceField(queryset=None, empty_label=None)
    project = ProjectChoiceField(
        queryset=None,
        required=False,
        empty_label="All projects of the team",
        help_text="Optional: limit the key to one project.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Viewers cannot generate, so a key acting as a viewer would be useless.
        teams = teams_writable_by(user)
        self.fields["team"].queryset = teams.order_by("-personal", "name")
        self.fields["project"].queryset = (
            Project.objects.filter(team__in=teams)
            .select_related("team")
            .order_by("team__name", "name")
        )

    def clean(self):
        cleaned = super().clean()
        team, project = cleaned.get("team"), cleaned.get("project")
        if team is not None and project is not None and project.team_id != team.pk:
            self.add_error("project", f"{project.name} is not a project of {team.name}.")
        return cleaned
