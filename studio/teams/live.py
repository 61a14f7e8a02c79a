"""Tell open sockets that someone's access changed; each re-checks it and closes if it is gone."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

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
