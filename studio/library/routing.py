from django.urls import path

from .consumers import ModelsConsumer

websocket_urlpatterns = [
    path("ws/staff/models/", ModelsConsumer.as_asgi()),
]
