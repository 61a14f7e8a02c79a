"""Migration support for moving a model between apps while keeping its table.

`SeparateDatabaseAndState` moves the model; its ContentType row must move with it, or
permissions granted on the old app label (and admin log entries) stop applying, and
`remove_stale_contenttypes` would delete them.
"""

from django.db import migrations


def move_content_type(old_app: str, new_app: str, model: str) -> migrations.RunPython:
    """An operation relabelling `old_app.model`'s ContentType as `new_app.model`."""

    def relabel(source: str, target: str):
        def run(apps, schema_editor):
            ContentType = apps.get_model("contenttypes", "ContentType")
            if not ContentType.objects.filter(app_label=target, model=model).exists():
                ContentType.objects.filter(app_label=source, model=model).update(app_label=target)

        return run

    return migrations.RunPython(relabel(old_app, new_app), relabel(new_app, old_app))
