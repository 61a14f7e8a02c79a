"""A finished take lets the next shot start when it continues from this one; a resumed
take (a failed long video run again) is a new take of the same shot."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from studio.jobs.models import Clip, Generation
from studio.jobs.services import generation_resumed
from studio.storyboards.models import Take
from studio.storyboards.services import shots_continue_after


@receiver(post_save, sender=Clip)
def take_finished(sender, instance: Clip, created: bool, **kwargs) -> None:
    if created:
        generation = instance.generation
        transaction.on_commit(lambda: shots_continue_after(generation=generation))


@receiver(generation_resumed)
def take_resumed(sender, generation: Generation, resumed: Generation, **kwargs) -> None:
    take = Take.objects.filter(generation=resumed).first()
    if take is not None:
        Take.objects.create(shot_id=take.shot_id, generation=generation)
