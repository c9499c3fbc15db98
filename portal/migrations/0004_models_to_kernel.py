# The timeline and staged uploads belong to the kernel app now: kernel 0001 takes them over under their tables'
# names, so here they leave portal's state only; their tables and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0003_file_names_as_text'),
        ('kernel', '0001_initial'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.RemoveField(
            model_name='stageduploadpart',
            name='upload',
        ),
        migrations.RemoveField(
            model_name='timelineentry',
            name='actor',
        ),
        migrations.RemoveField(
            model_name='timelineentry',
            name='content_type',
        ),
        migrations.DeleteModel(
            name='StagedUpload',
        ),
        migrations.DeleteModel(
            name='StagedUploadPart',
        ),
        migrations.DeleteModel(
            name='TimelineEntry',
        ),
    ])]
