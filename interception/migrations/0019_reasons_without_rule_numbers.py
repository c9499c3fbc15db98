"""The system's timeline reasons without their rule numbers.

Timeline reasons of the system are stored as their English source text and translated when shown
(kernel.timeline): entries written before the rule numbers left these texts would no longer find their
translation, so they are rewritten to the texts the code writes now.
"""

from django.db import migrations

REWRITTEN = {
    "interception succeeded: refunded automatically (R14)": "interception succeeded: refunded automatically",
    "handling window ended without a decision: refunded automatically (R15)": (
        "handling window ended without a decision: refunded automatically"
    ),
}


def rewrite(apps, schema_editor, texts=REWRITTEN):
    entries = apps.get_model("kernel", "TimelineEntry").objects
    for old, new in texts.items():
        entries.filter(reason=old).update(reason=new)


def restore(apps, schema_editor):
    rewrite(apps, schema_editor, {new: old for old, new in REWRITTEN.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("interception", "0018_open_by_default_and_return_shipping"),
        ("kernel", "0002_tables_renamed"),
    ]

    operations = [migrations.RunPython(rewrite, restore)]
