from django import forms

from studio.teams.selectors import teams_writable_by


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=120, error_messages={"required": "Name the project."})
    team = forms.ModelChoiceField(queryset=None, empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_writable_by(user)


class ProjectRenameForm(forms.Form):
    name = forms.CharField(
        label="Project name", max_length=120, error_messages={"required": "Name the project."}
    )
