"""One access rule for every view: non-members get 404, members below the role get 403."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from studio.projects.models import Project
from studio.teams.selectors import role_allows, user_role


def get_project_for_user(user, pk: int, *, role: str = "viewer") -> Project:
    project = Project.objects.select_related("team").filter(pk=pk).first()
    if project is None:
        raise Http404("No such project.")
    return check_project_access(user, project, role=role)


def check_project_access(user, project: Project, *, role: str = "viewer") -> Project:
    """The same rule for a project already loaded (with its team) alongside a clip or job."""
    have = user_role(user, project.team_id)
    if have is None:
        raise Http404("No such project.")
    if not role_allows(have, role):
        raise PermissionDenied(f"You need the {role} role in {project.team.name} to do this.")
    project.user_role = have
    return project


def project_group_name(project_id: int) -> str:
    """The channel group of the project's open sockets (progress cards, access changes)."""
    return f"project-{project_id}"
