from django import forms

from studio.teams.models import Invitation, Membership, Team
from studio.teams.services import INVITE_LIFETIMES, MAX_LINK_USES


class TeamForm(forms.Form):
    name = forms.CharField(
        max_length=Team._meta.get_field("name").max_length,
        error_messages={"required": "Name the team."},
    )


class AiMarkForm(forms.Form):
    """The team page posts `ai_mark=on` to turn the mark on and nothing to turn it off."""

    ai_mark = forms.BooleanField(required=False)


class LinkInviteForm(forms.Form):
    role = forms.ChoiceField(choices=Invitation.ROLES, initial=Membership.Role.EDITOR)
    max_uses = forms.IntegerField(
        label="People",
        min_value=1,
        max_value=MAX_LINK_USES,
        initial=1,
    )
    expires = forms.ChoiceField(
        label="Expires after",
        choices=[(k, label) for k, (label, _) in INVITE_LIFETIMES.items()],
        initial="7d",
    )


class UserInviteForm(forms.Form):
    who = forms.CharField(
        label="Username or email",
        max_length=254,
        error_messages={"required": "Enter a username or an email address."},
    )
    role = forms.ChoiceField(choices=Invitation.ROLES, initial=Membership.Role.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
