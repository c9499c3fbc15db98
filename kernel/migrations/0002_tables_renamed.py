"""The kernel's tables under the kernel's names (a rename: no rows are copied)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('kernel', '0001_initial'),
        ('portal', '0004_models_to_kernel'),
    ]

    operations = [
        migrations.AlterModelTable(name='timelineentry', table=None),
        migrations.AlterModelTable(name='stagedupload', table=None),
        migrations.AlterModelTable(name='stageduploadpart', table=None),
    ]
