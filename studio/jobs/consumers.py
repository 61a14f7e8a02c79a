from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from studio.teams.models import Membership
from studio.teams.selectors import user_group_name

NO_ACCESS = 4403


class ProjectConsumer(AsyncWebsocketConsumer):
    """A dumb pipe: members of the project's team receive its progress fragments.

    It also listens on the user's own group: when their access changes (removed from the
    team, account deactivated, project moved to another team) it checks again and closes
    at once if the access is gone, before any further fragment reaches them.
    """

    groups_joined: tuple[str, ...] = ()

    async def connect(self):
        user = self.scope.get("user")
        self.project_id = self.scope["url_route"]["kwargs"]["project_id"]
        if not await self._has_access(user):
            await self.close(code=NO_ACCESS)
            return
        self.groups_joined = (f"project-{self.project_id}", user_group_name(user.pk))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self._leave()

    async def _leave(self):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = ()

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, in a worker
        # thread. Forwarding progress touches no database, and with hundreds of watchers
        # that thread hop per message was most of daphne's CPU (bench/ws_fanout.py).
        if message["type"] == "generation.progress":
            await self.generation_progress(message)
            return
        await super().dispatch(message)

    async def generation_progress(self, event):
        if self.groups_joined:
            await self.send(text_data=event["html"])

    async def access_changed(self, event):
        if self.groups_joined and not await self._has_access(self.scope.get("user")):
            await self._leave()
            await self.close(code=NO_ACCESS)

    @database_sync_to_async
    def _has_access(self, user) -> bool:
        if user is None or not user.is_authenticated:
            return False
        return Membership.objects.filter(
            user_id=user.pk, user__is_active=True, team__projects__pk=self.project_id
        ).exists()
