from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from kernel.models import SealedCredentials
from kernel.secrets import reseal


class Command(BaseCommand):
    help = (
        "Seal every stored credential again with the first key of CREDENTIALS_KEY (key rotation: put the new key "
        "first, keep the old one after it, run this, then remove the old key)."
    )

    def handle(self, *args, **options):
        for model in apps.get_models():
            if not issubclass(model, SealedCredentials):
                continue
            count = 0
            with transaction.atomic():
                rows = model.objects.exclude(sealed_credentials="").select_for_update().only("pk", "sealed_credentials")
                for row in rows.iterator(chunk_size=500):
                    model.objects.filter(pk=row.pk).update(sealed_credentials=reseal(row.sealed_credentials))
                    count += 1
            self.stdout.write(f"{model._meta.label}: {count} resealed")
