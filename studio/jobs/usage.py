"""The team usage page: this month's engine time, by member and by engine, with the quotas.

The team page (in `teams`, below `jobs`) cannot compute these figures, so it loads their
brief from here with htmx (`HX-Target: team-usage-brief`) and keeps a plain link to the page.
"""

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
    context = {"team": team, "usage": team_usage(team)}
    if request.htmx and request.htmx.target == "team-usage-brief":
        return render(request, "quotas/usage.html#usage-brief", context)
    return render(request, "quotas/usage.html", context)
