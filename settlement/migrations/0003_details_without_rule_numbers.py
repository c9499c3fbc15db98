"""Reconciliation differences without the rule number their detail ended with.

A difference's detail is stored as the reader's language wrote it; the Chinese never held the number, the
English ended with " (R21)", which is cut here.
"""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Replace

SUFFIX = ": not chargeable under the contract (R21)"


def rewrite(apps, schema_editor):
    Difference = apps.get_model("settlement", "Difference")
    Difference.objects.filter(detail__endswith=SUFFIX).update(
        detail=Replace("detail", Value(SUFFIX), Value(": not chargeable under the contract"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("settlement", "0002_file_names_as_text"),
    ]

    operations = [migrations.RunPython(rewrite, migrations.RunPython.noop)]
