from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from studio.teams.selectors import user_group_name

from .models import GROUP

NO_ACCESS = 4403


class ModelsConsumer(AsyncWebsocketConsumer):
    """A dumb pipe: staff on the Models page receive download rows as they change.

    It also listens on the user's own group, so a deactivated account's socket closes at
    once (studio.teams.signals), like project sockets do.
    """

    groups_joined: tuple[str, ...] = ()

    async def connect(self):
        user = self.scope.get("user")
        if not await self._is_staff(user):
            await self.close(code=NO_ACCESS)
            return
        self.groups_joined = (GROUP, user_group_name(user.pk))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self._leave()

    async def _leave(self):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = ()

    async def library_progress(self, event):
        if self.groups_joined:
            await self.send(text_data=event["html"])

    async def access_changed(self, event):
        if self.groups_joined and not await self._is_staff(self.scope.get("user")):
            await self._leave()
            await self.close(code=NO_ACCESS)

    @database_sync_to_async
    def _is_staff(self, user) -> bool:
        if user is None or not user.is_authenticated:
            return False
        user.refresh_from_db(fields=["is_staff", "is_active"])
        return user.is_staff and user.is_active
