from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from studio.keys.forms import ApiKeyForm
from studio.keys.models import ApiKey
from studio.keys.services import api_key_create, api_key_revoke
from studio.teams.models import Membership, Team


def _keys_visible_to(user):
    """The keys a user manages: their own, and every key of the teams they own."""
    owned_teams = Team.objects.filter(
        memberships__user=user, memberships__role=Membership.Role.OWNER
    )
    return ApiKey.objects.filter(Q(created_by=user) | Q(team__in=owned_teams)).select_related(
        "team", "project", "created_by"
    )


def _get_key_for_user(user, pk: int) -> ApiKey:
    """404 rather than 403 for keys the user may not manage, so other teams' keys stay hidden."""
    return get_object_or_404(_keys_visible_to(user), pk=pk)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyForm(request.POST or None, user=request.user)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        created, secret = api_key_create(
            team=form.cleaned_data["team"],
            user=request.user,
            name=form.cleaned_data["name"],
            project=form.cleaned_data["project"],
        )
        form = ApiKeyForm(user=request.user)
    context = {
        "form": form,
        "keys": _keys_visible_to(request.user),
        "created": created,
        "secret": secret,
        "base_url": request.build_absolute_uri("/v1"),
    }
    return render(request, "keys/api_keys.html", context)


@login_required
@require_POST
def api_key_revoke_view(request, pk: int):
    api_key_revoke(key=_get_key_for_user(request.user, pk))
    return redirect("api-keys")
