"""Sign-up and the team pages: teams, members and roles, invitations.

Every team page answers 404 to non-members and 403 to members below the role the action
needs. Forms post to small views; with htmx they swap the team's body in place, without
JavaScript they redirect back (or show the page with the error, status 400).
"""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio import throttle
from studio.ids import parse_id
from studio.teams.forms import AiMarkForm, LinkInviteForm, RoleForm, TeamForm, UserInviteForm
from studio.teams.models import Invitation, Membership, Team
from studio.teams.selectors import invitations_pending_for, role_allows
from studio.teams.services import (
    INVITE_LIFETIMES,
    TeamError,
    invitation_accept,
    invitation_decline,
    invitation_for_token,
    invitation_link_create,
    invitation_revoke,
    invitation_user_create,
    member_leave,
    member_remove,
    member_set_role,
    team_create,
    team_delete,
    team_rename,
    team_set_ai_mark,
    team_transfer_ownership,
    user_signup,
)


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)


def _safe_next(request) -> str | None:
    """A path on this site to go on to (`next`), or None: anything else is ignored."""
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return None


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(_safe_next(request) or "project-list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_signup(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data.get("email") or "",
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_safe_next(request) or "project-list")
    return render(request, "registration/signup.html", {"form": form})


# Access


def get_team_for_user(user, pk: int, *, role: str = "viewer") -> tuple[Team, Membership]:
    """The team and the user's membership: 404 for non-members, 403 below `role`."""
    membership = Membership.objects.select_related("team").filter(team_id=pk, user=user).first()
    if membership is None:
        raise Http404("No such team.")
    if not role_allows(membership.role, role):
        raise PermissionDenied(f"You need the {role} role in {membership.team.name} to do this.")
    return membership.team, membership


def _get_member(team: Team, mid: int) -> Membership:
    membership = Membership.objects.select_related("user", "team").filter(team=team, pk=mid).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


# Pages


@login_required
@require_http_methods(["GET", "POST"])
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(name=form.cleaned_data["name"], owner=request.user)
            return redirect("team-detail", pk=team.pk)
        except TeamError as e:
            form.add_error("name", e.message)
    return _list_page(request, form, status=400 if form.errors else 200)


def _list_page(request, form, *, status: int = 200, invitation_error: str = ""):
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .annotate(
            member_count=Count("team__memberships", distinct=True),
            project_count=Count("team__projects", distinct=True),
        )
        .order_by("-team__personal", "team__name")
    )
    context = {
        "memberships": memberships,
        "form": form,
        "invitations": invitations_pending_for(request.user),
        "invitation_error": invitation_error,
    }
    return render(request, "teams/list.html", context, status=status)


def _team_context(request, team: Team, me: Membership, **extra) -> dict:
    is_owner = me.role == Membership.Role.OWNER
    members = list(team.memberships.select_related("user").order_by("user__username"))
    context = {
        "team": team,
        "me": me,
        "is_owner": is_owner,
        "members": members,
        "can_transfer": is_owner and any(m.role != Membership.Role.OWNER for m in members),
        "projects": team.projects.order_by("name"),
        "role_choices": Membership.Role.choices,
        "errors": {},
    }
    if is_owner:
        context.update(
            invitations=team.invitations.select_related("invitee", "created_by")[:50],
            link_form=LinkInviteForm(),
            user_form=UserInviteForm(),
            rename_form=TeamForm(initial={"name": team.name}),
            owned_teams=Team.objects.filter(
                memberships__user=request.user, memberships__role=Membership.Role.OWNER
            )
            .exclude(pk=team.pk)
            .order_by("name"),
        )
    context.update(extra)
    return context


def team_page(request, team: Team, me: Membership, *, status: int = 200, **extra):
    """The team page, or with htmx just its body, with any errors and the new link shown."""
    context = _team_context(request, team, me, **extra)
    if request.htmx:
        return render(request, "teams/detail.html#team-body", context)
    return render(request, "teams/detail.html", context, status=status)


def _done(request, team: Team, me: Membership, **extra):
    """After a change: htmx gets the updated body; a plain form post goes back to the page."""
    if request.htmx:
        me.refresh_from_db()
        return team_page(request, team, me, **extra)
    return redirect("team-detail", pk=team.pk)


def _failed(request, team: Team, me: Membership, section: str, message: str, **extra):
    return team_page(request, team, me, status=400, errors={section: message}, **extra)


@never_cache
@login_required
@require_GET
def team_detail(request, pk: int):
    team, me = get_team_for_user(request.user, pk)
    return team_page(request, team, me)


@login_required
@require_POST
def team_rename_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    try:
        team_rename(team=team, by=request.user, name=request.POST.get("name", ""))
    except TeamError as e:
        team.refresh_from_db()
        return _failed(request, team, me, "settings", e.message)
    return _done(request, team, me)


@login_required
@require_POST
def team_ai_mark_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    form = AiMarkForm(request.POST)
    form.is_valid()  # A checkbox: anything but "on" is off.
    try:
        team_set_ai_mark(team=team, by=request.user, enabled=form.cleaned_data["ai_mark"])
    except TeamError as e:
        return _failed(request, team, me, "settings", e.message)
    return _done(request, team, me)


@login_required
@require_POST
def team_delete_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    try:
        team_delete(team=team, by=request.user)
    except TeamError as e:
        return _failed(request, team, me, "settings", e.message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("team-list"))
    return redirect("team-list")


@login_required
@require_POST
def team_leave_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk)
    try:
        member_leave(team=team, user=request.user)
    except TeamError as e:
        return _failed(request, team, me, "settings", e.message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("team-list"))
    return redirect("team-list")


@login_required
@require_POST
def team_transfer_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    member_id = parse_id(request.POST.get("member", ""))
    if member_id is None:
        return _failed(request, team, me, "settings", "Choose the member who becomes owner.")
    try:
        team_transfer_ownership(team=team, by=request.user, to=_get_member(team, member_id))
    except TeamError as e:
        return _failed(request, team, me, "settings", e.message)
    return _done(request, team, me)


@login_required
@require_POST
def member_role_view(request, pk: int, mid: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    member = _get_member(team, mid)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _failed(request, team, me, "members", "Choose owner, editor or viewer.")
    try:
        member_set_role(membership=member, by=request.user, role=form.cleaned_data["role"])
    except TeamError as e:
        return _failed(request, team, me, "members", e.message)
    return _done(request, team, me)


@login_required
@require_POST
def member_remove_view(request, pk: int, mid: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    member = _get_member(team, mid)
    try:
        member_remove(membership=member, by=request.user)
    except TeamError as e:
        return _failed(request, team, me, "members", e.message)
    if member.pk == me.pk:  # An owner removing themselves has left.
        return (
            HttpResponseClientRedirect(reverse("team-list"))
            if request.htmx
            else redirect("team-list")
        )
    return _done(request, team, me)


@never_cache
@login_required
@require_POST
def invite_link_create_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    form = LinkInviteForm(request.POST)
    if not form.is_valid():
        message = "; ".join(
            f"{form.fields[f].label or f}: {' '.join(e)}" for f, e in form.errors.items()
        )
        return _failed(request, team, me, "invite", message)
    try:
        invitation, token = invitation_link_create(
            team=team,
            by=request.user,
            role=form.cleaned_data["role"],
            max_uses=form.cleaned_data["max_uses"],
            expires_in=INVITE_LIFETIMES[form.cleaned_data["expires"]][1],
        )
    except TeamError as e:
        return _failed(request, team, me, "invite", e.message)
    # The token is shown once, on this response; only its hash is kept.
    new_link = request.build_absolute_uri(reverse("invite-link", args=[token]))
    return team_page(request, team, me, new_link=new_link, new_invitation=invitation)


@login_required
@require_POST
def invite_user_create_view(request, pk: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    form = UserInviteForm(request.POST)
    if not form.is_valid():
        return _failed(request, team, me, "invite", "Enter a username or an email address.")
    try:
        invitation = invitation_user_create(
            team=team, by=request.user, who=form.cleaned_data["who"], role=form.cleaned_data["role"]
        )
    except TeamError as e:
        return _failed(request, team, me, "invite", e.message)
    return _done(request, team, me, invited=invitation)


@login_required
@require_POST
def invitation_revoke_view(request, pk: int, iid: int):
    team, me = get_team_for_user(request.user, pk, role="owner")
    invitation = Invitation.objects.filter(team=team, pk=iid).select_related("team").first()
    if invitation is None:
        raise Http404("No such invitation.")
    invitation_revoke(invitation=invitation, by=request.user)
    return _done(request, team, me)


def _my_invitation(request, iid: int) -> Invitation:
    """An invitation addressed to the user; anyone else's is a 404."""
    invitation = (
        Invitation.objects.filter(pk=iid, invitee=request.user).select_related("team").first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


@login_required
@require_POST
def invitation_accept_view(request, iid: int):
    invitation = _my_invitation(request, iid)
    try:
        invitation_accept(invitation=invitation, user=request.user)
    except TeamError as e:
        return _list_page(request, TeamForm(), status=400, invitation_error=e.message)
    return redirect("team-detail", pk=invitation.team_id)


@login_required
@require_POST
def invitation_decline_view(request, iid: int):
    invitation_decline(invitation=_my_invitation(request, iid), user=request.user)
    return redirect("team-list")


@never_cache
@require_http_methods(["GET", "POST"])
def invite_link(request, token: str):
    """The page an invitation link opens: who invites you to which team, and a Join button."""
    invitation = invitation_for_token(token)
    if invitation is None or not invitation.is_link:
        return render(request, "teams/invite.html", {"missing": True}, status=404)
    team = invitation.team
    member = (
        request.user.is_authenticated
        and Membership.objects.filter(team=team, user=request.user).exists()
    )
    context = {"invitation": invitation, "team": team, "member": member, "token": token}
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={request.path}")
        if member:
            return redirect("team-detail", pk=team.pk)
        try:
            invitation_accept(invitation=invitation, user=request.user)
        except TeamError as e:
            return render(request, "teams/invite.html", {**context, "error": e.message}, status=400)
        return redirect("team-detail", pk=team.pk)
    status = 200 if invitation.is_pending or member else 410
    return render(request, "teams/invite.html", context, status=status)


class ThrottledLogin:
    """A login form whose failures count per account and per client address.

    Past either limit the form refuses every attempt, the right password included, until
    the window ends (`retry_after` says when), so guessing gains nothing.
    """

    retry_after: int | None = None

    def _limits(self):
        account, address = throttle.login_limits()
        return [
            (account, self.data.get("username", "")),
            (address, throttle.client_address(self.request)),
        ]

    def clean(self):
        self.retry_after = throttle.blocked(self._limits())
        if self.retry_after is not None:
            raise ValidationError(
                f"Too many failed logins. Try again in {throttle.wait_words(self.retry_after)}, "
                "or ask the studio's administrator to reset your password.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            for limit, subject in self._limits():
                throttle.record_failure(limit, subject)
            raise
        if self.get_user() is not None:
            account, _ = throttle.login_limits()
            throttle.clear(account, self.get_user().get_username())
        return cleaned


class LoginForm(ThrottledLogin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "suspended": "This account is suspended. Ask the studio's administrator to restore it.",
    }

    def get_invalid_login_error(self):
        """A suspended user who knows their password is told so; anyone else is not."""
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is not None and not user.is_active and user.check_password(password):
            return ValidationError(self.error_messages["suspended"], code="suspended")
        return super().get_invalid_login_error()


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    """The admin's login, limited like the studio's (it checks the same passwords)."""


class LoginView(auth_views.LoginView):
    """Django's login with LoginForm; a refused attempt past the limits answers 429."""

    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
