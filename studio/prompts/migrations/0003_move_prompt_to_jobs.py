"""Prompt now lives in the jobs app (same table); prompts keeps the form and submit."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("prompts", "0002_prompt_height_prompt_width"),
        ("jobs", "0006_prompt"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Prompt")],
            database_operations=[],
        ),
    ]
