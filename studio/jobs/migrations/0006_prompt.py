"""Prompt moves from the prompts app into the generation core; its table keeps its name.

The core then refers to no app above it: prompts keeps the form and the submit service.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from studio.model_moves import move_content_type


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0005_storage_names"),
        ("prompts", "0002_prompt_height_prompt_width"),
        ("projects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Prompt",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("mode", models.CharField(default="text_to_video", max_length=32)),
                        ("text", models.TextField(max_length=2000)),
                        ("negative_text", models.TextField(blank=True, max_length=2000)),
                        ("camera_motion", models.CharField(default="static", max_length=32)),
                        ("style_preset", models.CharField(blank=True, max_length=32)),
                        ("aspect_ratio", models.CharField(default="16:9", max_length=8)),
                        (
                            "resolution",
                            models.PositiveIntegerField(
                                default=512, help_text="Long side in pixels."
                            ),
                        ),
                        (
                            "width",
                            models.PositiveIntegerField(
                                blank=True,
                                help_text="Exact size (the API's WxH); blank: aspect and resolution.",
                                null=True,
                            ),
                        ),
                        ("height", models.PositiveIntegerField(blank=True, null=True)),
                        ("duration_s", models.FloatField(default=2.0)),
                        ("fps", models.PositiveIntegerField(default=16)),
                        ("seed", models.BigIntegerField(blank=True, null=True)),
                        (
                            "steps",
                            models.PositiveIntegerField(
                                blank=True, help_text="Blank: engine default.", null=True
                            ),
                        ),
                        ("engine", models.CharField(max_length=64)),
                        ("image", models.FileField(blank=True, upload_to="inputs/%Y/%m/")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "author",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="prompts",
                                to="projects.project",
                            ),
                        ),
                    ],
                    options={"db_table": "prompts_prompt", "ordering": ["-created_at"]},
                ),
                migrations.AlterField(
                    model_name="generation",
                    name="prompt",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="jobs.prompt",
                    ),
                ),
            ],
            database_operations=[],
        ),
        move_content_type("prompts", "jobs", "prompt"),
    ]
