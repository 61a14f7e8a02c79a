"""Keys follow their project: when it moves to another team, the old team's keys limited to
it are revoked, inside the move's transaction."""

from django.dispatch import receiver

from studio.keys.services import api_keys_revoke_for_moved_project
from studio.projects.models import Project
from studio.projects.signals import project_moved


@receiver(project_moved, sender=Project)
def project_keys_revoke(sender, project: Project, from_team_id: int, **kwargs) -> None:
    api_keys_revoke_for_moved_project(project=project, from_team_id=from_team_id)
