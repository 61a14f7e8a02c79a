from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from studio.projects.access import project_group_name
from studio.projects.models import Project
from studio.projects.signals import project_moved
from studio.teams.live import access_changed
from studio.teams.models import Membership, Team
from studio.teams.services import TeamError


def project_create(*, team: Team, name: str, user: User) -> Project:
    return Project.objects.create(team=team, name=name.strip(), created_by=user)


def project_touch(*, project_id: int) -> None:
    Project.objects.filter(pk=project_id).update(last_activity_at=timezone.now())


@transaction.atomic
def project_move(*, project: Project, to: Team, by: User) -> Project:
    """Move a project (its prompts, jobs and clips) to another team; the mover owns both.

    Members of the old team who are not in the new one lose it at once, open sockets included.
    The old team's API keys limited to this project are revoked (by `studio.keys`, through
    `project_moved`) rather than left pointing at a project their team no longer has.
    """
    owned = set(
        Membership.objects.filter(
            user=by, role=Membership.Role.OWNER, team_id__in=[project.team_id, to.pk]
        ).values_list("team_id", flat=True)
    )
    if project.team_id not in owned:
        raise TeamError(f"Only an owner of {project.team.name} can move {project.name}.")
    if to.pk not in owned:
        raise TeamError(f"You can only move projects to a team you own; you do not own {to.name}.")
    if to.pk == project.team_id:
        raise TeamError(f"{project.name} is already in {to.name}.")
    from_team_id = project.team_id
    project.team = to
    project.save(update_fields=["team"])
    project_moved.send(sender=Project, project=project, from_team_id=from_team_id)
    access_changed(project_group_name(project.pk))


def project_rename(*, project: Project, name: str) -> Project:
    project.name = name.strip()
    project.save(update_fields=["name"])
    return project
