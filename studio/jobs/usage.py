"""The team usage page: this month's engine time, by member and by engine, with the quotas."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.jobs.quotas import team_usage
from studio.teams.models import Team
from studio.teams.selectors import user_role


@login_required
@require_GET
def team_usage_view(request, pk: int):
    team = Team.objects.filter(pk=pk).first()
    if team is None or user_role(request.user, team.pk) is None:
        raise Http404("No such team.")
    return render(request, "quotas/usage.html", {"team": team, "usage": team_usage(team)})
