"""Make an API key from the shell, for scripts and first-time setup without a browser."""

import secrets

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from studio.keys.services import api_key_create
from studio.projects.models import Project
from studio.teams.models import WRITER_ROLES, Membership, Team
from studio.teams.services import user_signup


class Command(BaseCommand):
    help = (
        "Create an API key for USERNAME and print it alone on stdout "
        "(everything else goes to stderr), e.g. KEY=$(manage.py create_api_key alice)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--team", help="Team slug. Default: the user's personal team, else their only team."
        )
        parser.add_argument("--project", type=int, help="Limit the key to this project id.")
        parser.add_argument("--name", default="CLI key", help="A label for the key list.")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user (random password, personal team) if missing.",
        )

    def handle(self, *args, username, team, project, name, create_user, **options):
        user = self._user(username, create=create_user)
        team_obj = self._team(user, team)
        project_obj = self._project(team_obj, project)
        key, raw = api_key_create(team=team_obj, user=user, name=name, project=project_obj)
        scope = f"project {project_obj.name}" if project_obj else "all projects"
        self.stderr.write(
            f"Created key {key.name!r} ({key.prefix}…) for {user.username} in team "
            f"{team_obj.slug}, {scope}. It is not shown again."
        )
        self.stdout.write(raw)

    def _user(self, username: str, *, create: bool) -> User:
        user = User.objects.filter(username=username).first()
        if user is not None:
            return user
        if not create:
            raise CommandError(f"No user named {username!r}. Pass --create-user to create them.")
        user = user_signup(username=username, password=secrets.token_urlsafe(24))
        self.stderr.write(
            f"Created user {username} with a random password and a personal team; "
            "set a password with `manage.py changepassword` to log in."
        )
        return user

    def _team(self, user: User, slug: str | None) -> Team:
        memberships = Membership.objects.filter(user=user).select_related("team")
        if slug:
            membership = memberships.filter(team__slug=slug).first()
            if membership is None:
                raise CommandError(f"{user.username} is not a member of a team {slug!r}.")
        else:
            # Others' personal teams the user joined are not theirs.
            personal = [
                m for m in memberships if m.team.personal and m.role == Membership.Role.OWNER
            ]
            candidates = personal or list(memberships)
            if not candidates:
                raise CommandError(f"{user.username} belongs to no team.")
            if len(candidates) > 1:
                slugs = ", ".join(sorted(m.team.slug for m in candidates))
                raise CommandError(
                    f"{user.username} belongs to several teams; pick one with --team: {slugs}."
                )
            membership = candidates[0]
        if membership.role not in WRITER_ROLES:
            raise CommandError(
                f"{user.username} is a {membership.role} in {membership.team.slug}; "
                "keys need the owner or editor role."
            )
        return membership.team

    def _project(self, team: Team, pk: int | None) -> Project | None:
        if pk is None:
            return None
        project = Project.objects.filter(pk=pk, team=team).first()
        if project is None:
            raise CommandError(f"No project {pk} in team {team.slug}.")
        return project
