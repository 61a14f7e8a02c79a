from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from studio.teams.models import Membership


class ProjectConsumer(AsyncWebsocketConsumer):
    """A dumb pipe: members of the project's team receive its progress fragments."""

    group_name: str | None = None

    async def connect(self):
        user = self.scope.get("user")
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        if not await self._is_member(user, project_id):
            await self.close(code=4403)
            return
        self.group_name = f"project-{project_id}"
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, in a worker
        # thread. Forwarding progress touches no database, and with hundreds of watchers
        # that thread hop per message was most of daphne's CPU (bench/ws_fanout.py).
        if message["type"] == "generation.progress":
            await self.generation_progress(message)
            return
        await super().dispatch(message)

    async def generation_progress(self, event):
        await self.send(text_data=event["html"])

    @database_sync_to_async
    def _is_member(self, user, project_id) -> bool:
        if user is None or not user.is_authenticated:
            return False
        return Membership.objects.filter(user=user, team__projects__pk=project_id).exists()
