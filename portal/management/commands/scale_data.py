"""Fill the database with N rows of the biggest tables for benchmarks (bulk insert, not row by row)."""
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from interception.models import Carrier, EwaybillAccount, Merchant, Outlet, Platform

BATCH = 10_000
OUTLETS_PER_CARRIER = 50


class Command(BaseCommand):
    help = "Fill the database with --rows interception-sized rows (default 1,000,000) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--prefix", default="S", help="Code prefix of the generated rows (run again with another).")

    def handle(self, *args, rows, prefix, **options):
        started = time.monotonic()
        outlets = self._outlets(prefix)
        platforms = list(Platform.objects.all())
        merchants_needed = max(1, rows // len(outlets))
        created = 0
        for start in range(0, merchants_needed, BATCH):
            with transaction.atomic():
                merchants = Merchant.objects.bulk_create([
                    Merchant(code=f"{prefix}M{n:08d}", name=f"规模测试店铺{n}", platform=platforms[n % len(platforms)])
                    for n in range(start, min(start + BATCH, merchants_needed))])
                accounts = [EwaybillAccount(merchant=m, outlet=o, platform=m.platform)
                            for m in merchants for o in outlets]
                for chunk in range(0, len(accounts), BATCH):
                    EwaybillAccount.objects.bulk_create(accounts[chunk:chunk + BATCH])
                created += len(accounts)
            self.stdout.write(f"  {created:,} e-waybill accounts ({time.monotonic() - started:.0f} s)")
        self.stdout.write(f"{created:,} rows in {time.monotonic() - started:.1f} s")

    def _outlets(self, prefix):
        outlets = []
        for carrier in Carrier.objects.all():
            for n in range(OUTLETS_PER_CARRIER):
                outlet, _ = Outlet.objects.get_or_create(carrier=carrier, code=f"{prefix}-{carrier.code}-{n:03d}",
                                                         defaults={"name": f"规模网点{n}"})
                outlets.append(outlet)
        return outlets
