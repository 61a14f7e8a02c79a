"""ApiKey moves from the teams app into its own; its table keeps its name."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from studio.model_moves import move_content_type


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("projects", "0001_initial"),
        ("teams", "0002_apikey"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
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
                        ("name", models.CharField(max_length=100)),
                        (
                            "prefix",
                            models.CharField(
                                help_text="The first characters, shown to tell keys apart.",
                                max_length=24,
                            ),
                        ),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                blank=True,
                                help_text="Blank: every project of the team.",
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to="projects.project",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to="teams.team",
                            ),
                        ),
                    ],
                    options={"db_table": "teams_apikey", "ordering": ["-created_at"]},
                ),
            ],
            database_operations=[],
        ),
        move_content_type("teams", "keys", "apikey"),
    ]
