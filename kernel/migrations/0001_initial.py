# The timeline and staged uploads, created by portal's migrations, taken over as they are: state only here
# (their tables keep portal's names until 0002 renames them).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('portal', '0003_file_names_as_text'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='StagedUpload',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=64, unique=True)),
                ('purpose', models.CharField(max_length=40)),
                ('name', models.TextField()),
                ('size', models.PositiveIntegerField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'portal_stagedupload',
                'verbose_name': 'staged upload',
                'verbose_name_plural': 'staged uploads',
            },
        ),
        migrations.CreateModel(
            name='StagedUploadPart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('content', models.BinaryField()),
                ('upload', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='kernel.stagedupload')),
            ],
            options={
                'db_table': 'portal_stageduploadpart',
                'constraints': [models.UniqueConstraint(fields=('upload', 'number'), name='staged_upload_part_unique')],
            },
        ),
        migrations.CreateModel(
            name='TimelineEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('object_id', models.PositiveBigIntegerField(verbose_name='object id')),
                ('at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='at')),
                ('actor_label', models.CharField(max_length=150, verbose_name='by')),
                ('transition', models.CharField(max_length=64, verbose_name='transition')),
                ('from_state', models.CharField(blank=True, max_length=32, verbose_name='from')),
                ('to_state', models.CharField(blank=True, max_length=32, verbose_name='to')),
                ('reason', models.TextField(blank=True, verbose_name='reason')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor')),
                ('content_type', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='contenttypes.contenttype', verbose_name='object type')),
            ],
            options={
                'db_table': 'portal_timelineentry',
                'verbose_name': 'timeline entry',
                'verbose_name_plural': 'timeline entries',
                'ordering': ['at', 'id'],
                'indexes': [models.Index(fields=['content_type', 'object_id', 'at'], name='timeline_object_idx')],
            },
        ),
    ])]
