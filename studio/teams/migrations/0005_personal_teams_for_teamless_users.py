"""Give every existing user without a team a personal team (e.g. a `createsuperuser` admin)."""

from django.db import migrations
from django.utils.text import slugify


def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    Team = apps.get_model("teams", "Team")
    Membership = apps.get_model("teams", "Membership")
    for user in User.objects.filter(memberships__isnull=True):
        base = slugify(f"{user.username}'s team")[:100] or "team"
        slug, n = base, 1
        while Team.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        team = Team.objects.create(name=f"{user.username}'s team", slug=slug, personal=True)
        Membership.objects.create(user=user, team=team, role="owner")


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0004_invitation"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
