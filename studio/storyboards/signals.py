"""A finished take lets the next shot start when it continues from this one."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from studio.jobs.models import Clip
from studio.storyboards.services import shots_continue_after


@receiver(post_save, sender=Clip)
def take_finished(sender, instance: Clip, created: bool, **kwargs) -> None:
    if created:
        generation = instance.generation
        transaction.on_commit(lambda: shots_continue_after(generation=generation))
