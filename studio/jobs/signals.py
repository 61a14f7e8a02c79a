"""Files follow their rows: deleting a clip or a run anywhere (studio, API, admin, a cascade
from a project or team) removes its stored files once the deletion commits."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from studio import media
from studio.jobs.models import Clip, Generation
from studio.jobs.services import inputs_release


@receiver(post_delete, sender=Clip)
def clip_files_delete(sender, instance: Clip, **kwargs) -> None:
    names = [*instance.file_names, instance.thumbnail_name]  # a thumbnail may not exist
    transaction.on_commit(lambda: media.delete(*names))


@receiver(post_delete, sender=Generation)
def generation_inputs_release(sender, instance: Generation, **kwargs) -> None:
    names = instance.input_names
    transaction.on_commit(lambda: inputs_release(names=names))
