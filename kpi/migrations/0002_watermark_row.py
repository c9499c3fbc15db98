from django.db import migrations


def create(apps, schema_editor):
    """The runners lock this row to take turns; made here so that two started together never both create it."""
    apps.get_model("kpi", "Watermark").objects.get_or_create(name="timeline")


class Migration(migrations.Migration):
    dependencies = [("kpi", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
