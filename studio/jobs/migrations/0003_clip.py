"""Clip moves from the gallery app into the generation core; its table keeps its name."""

import django.db.models.deletion
from django.db import migrations, models

from studio.model_moves import move_content_type


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0002_generation_source_clip"),
        ("gallery", "0002_clip_frames_sha256"),
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Clip",
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
                        ("file", models.FileField(upload_to="clips/")),
                        ("poster", models.FileField(upload_to="clips/")),
                        ("width", models.PositiveIntegerField()),
                        ("height", models.PositiveIntegerField()),
                        ("fps", models.FloatField()),
                        ("num_frames", models.PositiveIntegerField()),
                        (
                            "frames_sha256",
                            models.CharField(
                                blank=True,
                                help_text="Digest of the raw frames, before lossy encoding.",
                                max_length=64,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "generation",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="clip",
                                to="jobs.generation",
                            ),
                        ),
                        (
                            "parent_clip",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="jobs.clip",
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="clips",
                                to="projects.project",
                            ),
                        ),
                    ],
                    options={"db_table": "gallery_clip", "ordering": ["-created_at"]},
                ),
                migrations.AlterField(
                    model_name="generation",
                    name="source_clip",
                    field=models.ForeignKey(
                        blank=True,
                        help_text="The clip this run transforms (interpolate, upscale, extend, restyle).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="derived_generations",
                        to="jobs.clip",
                    ),
                ),
            ],
            database_operations=[],
        ),
        move_content_type("gallery", "jobs", "clip"),
    ]
