"""Recipes held absolute paths under MEDIA_ROOT; they now hold storage names.

No absolute path stays in the database: one outside MEDIA_ROOT becomes `missing/<name>`.

Also record each existing clip's spritesheet, which was a file beside the MP4 that the
database did not know about.
"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import migrations

INPUT_FIELDS = ("image_path", "last_image_path", "video_path")


def to_names(apps, schema_editor):
    media = Path(settings.MEDIA_ROOT).resolve()
    Generation = apps.get_model("jobs", "Generation")
    for generation in Generation.objects.exclude(recipe={}).iterator():
        recipe, changed = dict(generation.recipe or {}), False
        for key in INPUT_FIELDS:
            value = recipe.get(key)
            if isinstance(value, str) and Path(value).is_absolute():
                path = Path(value).resolve()
                if path.is_relative_to(media):
                    recipe[key] = path.relative_to(media).as_posix()
                else:
                    # Outside media, storage cannot reach it: keep a name that reads as
                    # gone, so a rerun fails with "the input is gone", not a server path.
                    recipe[key] = f"missing/{path.name}"
                changed = True
        if changed:
            Generation.objects.filter(pk=generation.pk).update(recipe=recipe)
    Clip = apps.get_model("jobs", "Clip")
    for clip in Clip.objects.filter(spritesheet="").iterator():
        stem, _, _ = clip.file.name.rpartition(".")
        name = f"{stem}-sprites.jpg"
        if stem and default_storage.exists(name):
            Clip.objects.filter(pk=clip.pk).update(spritesheet=name)


def to_paths(apps, schema_editor):
    media = Path(settings.MEDIA_ROOT).resolve()
    Generation = apps.get_model("jobs", "Generation")
    for generation in Generation.objects.exclude(recipe={}).iterator():
        recipe = dict(generation.recipe or {})
        for key in INPUT_FIELDS:
            value = recipe.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                recipe[key] = str(media / value)
        Generation.objects.filter(pk=generation.pk).update(recipe=recipe)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0004_clip_spritesheet")]

    operations = [migrations.RunPython(to_names, to_paths)]
