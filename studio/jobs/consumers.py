from studio.teams.live import GatedConsumer
from studio.teams.models import Membership


class ProjectConsumer(GatedConsumer):
    """Members of the project's team receive its progress fragments."""

    def stream_groups(self) -> tuple[str, ...]:
        return (f"project-{self.project_id}",)

    async def connect(self):
        self.project_id = self.scope["url_route"]["kwargs"]["project_id"]
        await super().connect()

    def allowed(self, user) -> bool:
        return Membership.objects.filter(
            user_id=user.pk, user__is_active=True, team__projects__pk=self.project_id
        ).exists()

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler, in a worker
        # thread. Forwarding progress touches no database, and with hundreds of watchers
        # that thread hop per message was most of daphne's CPU (bench/ws_fanout.py).
        if message["type"] == "generation.progress":
            await self.forward(message)
            return
        await super().dispatch(message)

    async def generation_progress(self, event):
        await self.forward(event)
