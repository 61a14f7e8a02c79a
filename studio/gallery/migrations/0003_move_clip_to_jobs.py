"""Clip now lives in the jobs app (same table); the gallery keeps only pages and forms."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0002_clip_frames_sha256"),
        ("jobs", "0003_clip"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Clip")],
            database_operations=[],
        ),
    ]
