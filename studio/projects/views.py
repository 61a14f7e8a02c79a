from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from studio.ids import parse_id
from studio.projects.access import get_project_for_user
from studio.projects.services import project_move
from studio.teams.models import Team
from studio.teams.services import TeamError
from studio.teams.views import get_team_for_user, team_page


@login_required
@require_POST
def project_move_view(request, pk: int):
    """Move a project to another team the user owns; errors show on the old team's page."""
    project = get_project_for_user(request.user, pk, role="owner")
    team, me = get_team_for_user(request.user, project.team_id, role="owner")
    target_id = parse_id(request.POST.get("team", ""))
    target = Team.objects.filter(pk=target_id).first() if target_id is not None else None
    if target is None:
        return team_page(
            request, team, me, status=400, errors={"projects": "Choose the team to move it to."}
        )
    try:
        project_move(project=project, to=target, by=request.user)
    except TeamError as e:
        return team_page(request, team, me, status=400, errors={"projects": e.message})
    return redirect("team-detail", pk=target.pk)
