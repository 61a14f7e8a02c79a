from studio.teams.live import GatedConsumer

from .models import GROUP


class ModelsConsumer(GatedConsumer):
    """Staff on the Models page receive download rows as they change; a deactivated
    account's socket closes at once (studio.teams.signals), like project sockets do."""

    def stream_groups(self) -> tuple[str, ...]:
        return (GROUP,)

    def allowed(self, user) -> bool:
        user.refresh_from_db(fields=["is_staff", "is_active"])
        return user.is_staff and user.is_active

    async def library_progress(self, event):
        await self.forward(event)
