"""ApiKey now lives in the keys app (same table)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0002_apikey"),
        ("keys", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiKey")],
            database_operations=[],
        ),
    ]
