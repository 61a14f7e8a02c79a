from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .models import GROUP

NO_ACCESS = 4403


class ModelsConsumer(AsyncWebsocketConsumer):
    """A dumb pipe: staff on the Models page receive download rows as they change."""

    joined = False

    async def connect(self):
        if not await self._is_staff(self.scope.get("user")):
            await self.close(code=NO_ACCESS)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code):
        if self.joined:
            await self.channel_layer.group_discard(GROUP, self.channel_name)
            self.joined = False

    async def library_progress(self, event):
        if self.joined:
            await self.send(text_data=event["html"])

    @database_sync_to_async
    def _is_staff(self, user) -> bool:
        if user is None or not user.is_authenticated:
            return False
        user.refresh_from_db(fields=["is_staff", "is_active"])
        return user.is_staff and user.is_active
