from django.contrib.auth.models import User
from django.utils import timezone

from studio.projects.models import Project
from studio.teams.models import Team


def project_create(*, team: Team, name: str, user: User) -> Project:
    return Project.objects.create(team=team, name=name.strip(), created_by=user)


def project_touch(*, project_id: int) -> None:
    Project.objects.filter(pk=project_id).update(last_activity_at=timezone.now())


def project_rename(*, project: Project, name: str) -> Project:
    project.name = name.strip()
    project.save(update_fields=["name"])
    return project
