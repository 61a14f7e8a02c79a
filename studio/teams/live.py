"""Tell open sockets that someone's access changed; each re-checks it and closes if it is gone.

`GatedConsumer` is the receiving side every access-checked websocket shares."""

import logging

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction

from studio.teams.selectors import user_group_name

logger = logging.getLogger(__name__)


def access_changed(*groups: str) -> None:
    """Send `access.changed` to these channel groups once the current transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        for group in groups:
            try:
                async_to_sync(layer.group_send)(group, {"type": "access.changed"})
            except Exception:
                logger.warning("Could not tell %s that access changed", group, exc_info=True)

    transaction.on_commit(send)


NO_ACCESS = 4403
"""The close code of a socket whose user may not (or may no longer) watch its stream."""


class GatedConsumer(AsyncWebsocketConsumer):
    """A dumb pipe to the groups `stream_groups()` names, for users `allowed()` admits.

    It also listens on the user's own group: when their access changes (removed from a
    team, account deactivated, staff rights gone) it checks again and closes at once if
    the access is gone, before any further fragment reaches them. Subclasses route their
    push types to `forward`.
    """

    groups_joined: tuple[str, ...] = ()

    def stream_groups(self) -> tuple[str, ...]:
        raise NotImplementedError

    def allowed(self, user) -> bool:
        """Whether `user` (authenticated) may watch; runs in a thread, may query."""
        raise NotImplementedError

    async def connect(self):
        user = self.scope.get("user")
        if not await self._has_access(user):
            await self.close(code=NO_ACCESS)
            return
        self.groups_joined = (*self.stream_groups(), user_group_name(user.pk))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self._leave()

    async def _leave(self):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = ()

    async def forward(self, event):
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
        return self.allowed(user)
