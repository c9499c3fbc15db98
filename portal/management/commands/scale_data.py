"""Fill the database with N interceptions (and their parcels and after-sales) for benchmarks: bulk inserts."""

import random
import time
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from interception.models import (
    AfterSale,
    Carrier,
    Contract,
    EwaybillAccount,
    InterceptionOrder,
    Merchant,
    Outlet,
    Parcel,
    Platform,
)

BATCH = 5_000
OUTLETS_PER_CARRIER = 50
INTERCEPTIONS_PER_MERCHANT = 2_000
CONTRACTS_PER_MERCHANT = 4
# (interception state, after-sale state, share)
OUTCOMES = [
    ("returned", "refunded", 0.50),
    ("failed", "refunded", 0.12),
    ("failed", "refused", 0.05),
    ("failed", "intercepting", 0.03),
    ("succeeded", "refunded", 0.10),
    ("returning", "refunded", 0.10),
    ("intercepting", "intercepting", 0.05),
    ("return_failed", "refunded", 0.05),
]


class Command(BaseCommand):
    help = "Add --rows interceptions (default 1,000,000) with their parcels and after-sales, for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--prefix", default="S", help="Code prefix of the generated rows (run again with another).")

    def handle(self, *args, rows, prefix, **options):
        started = time.monotonic()
        rng = random.Random(rows)
        contracts = self._contracts(prefix, max(1, rows // INTERCEPTIONS_PER_MERCHANT))
        self.stdout.write(f"  {len(contracts):,} active contracts ({time.monotonic() - started:.0f} s)")
        states = [o[:2] for o in OUTCOMES]
        weights = [o[2] for o in OUTCOMES]
        now = timezone.now()
        for start in range(0, rows, BATCH):
            numbers = range(start, min(start + BATCH, rows))
            picks = [
                (
                    n,
                    contracts[n % len(contracts)],
                    rng.choices(states, weights)[0],
                    now - timedelta(seconds=rng.randrange(365 * 86400)),
                )
                for n in numbers
            ]
            with transaction.atomic():
                parcels = Parcel.objects.bulk_create(
                    [
                        Parcel(
                            carrier_id=c.outlet.carrier_id,
                            outlet_id=c.outlet_id,
                            merchant_id=c.merchant_id,
                            platform_id=c.platform_id,
                            tracking_number=f"{prefix}{n:012d}",
                            order_number=f"{prefix}O{n}",
                            last_status="in_transit",
                            last_event_at=at,
                            created_at=at - timedelta(days=1),
                        )
                        for n, c, _s, at in picks
                    ]
                )
                after_sales = AfterSale.objects.bulk_create(
                    [
                        AfterSale(
                            number=f"{prefix}A{n:012d}",
                            merchant_id=c.merchant_id,
                            platform_id=c.platform_id,
                            parcel=p,
                            kind="refund_only",
                            amount=Decimal("59.00"),
                            state=sale_state,
                            created_at=at,
                            intercepting_since=at,
                            window_ends_at=at + timedelta(days=5),
                        )
                        for (n, c, (_o, sale_state), at), p in zip(picks, parcels, strict=True)
                    ]
                )
                InterceptionOrder.objects.bulk_create(
                    [
                        InterceptionOrder(
                            parcel=p,
                            after_sale=a,
                            tracking_number=p.tracking_number,
                            merchant_id=c.merchant_id,
                            outlet_id=c.outlet_id,
                            carrier_id=c.outlet.carrier_id,
                            platform_id=c.platform_id,
                            contract=c,
                            settlement_mode=c.settlement_mode,
                            fee=c.fee,
                            fee_includes_return=c.fee_includes_return,
                            state=order_state,
                            chargeable=order_state in InterceptionOrder.SUCCESS_STATES,
                            requested_at=at,
                            submitted_at=at,
                            carrier_ref=f"SCALE{n}",
                            result_at=None if order_state == "intercepting" else at + timedelta(hours=20),
                            # Finished returns carry their time, as the transitions set it (the KPI roll-ups read it).
                            returned_at=at + timedelta(days=3) if order_state == "returned" else None,
                            return_failed_at=at + timedelta(days=5) if order_state == "return_failed" else None,
                            return_loss="lost" if order_state == "return_failed" else "",
                        )
                        for (n, c, (order_state, _a), at), p, a in zip(picks, parcels, after_sales, strict=True)
                    ]
                )
            done = start + len(numbers)
            if done % 100_000 == 0 or done == rows:
                self.stdout.write(f"  {done:,} interceptions ({time.monotonic() - started:.0f} s)")
        self.stdout.write(f"{rows:,} interceptions in {time.monotonic() - started:.1f} s")

    def _contracts(self, prefix, merchants_needed):
        outlets = []
        for carrier in Carrier.objects.all():
            for n in range(OUTLETS_PER_CARRIER):
                outlet, _ = Outlet.objects.get_or_create(
                    carrier=carrier, code=f"{prefix}-{carrier.code}-{n:03d}", defaults={"name": f"规模网点{n}"}
                )
                outlets.append(outlet)
        platforms = list(Platform.objects.all())
        contracts = []
        with transaction.atomic():
            merchants = Merchant.objects.bulk_create(
                [
                    Merchant(code=f"{prefix}M{n:08d}", name=f"规模测试店铺{n}", platform=platforms[n % len(platforms)])
                    for n in range(merchants_needed)
                ]
            )
            for index, merchant in enumerate(merchants):
                for k in range(CONTRACTS_PER_MERCHANT):
                    outlet = outlets[(index * CONTRACTS_PER_MERCHANT + k) % len(outlets)]
                    contracts.append(
                        Contract(
                            merchant=merchant,
                            outlet=outlet,
                            platform=merchant.platform,
                            settlement_mode="offline" if k % 2 else "online",
                            fee=Decimal("3.00"),
                            fee_includes_return=not k % 2,  # the online fee covers the return (R19)
                            state=Contract.State.ACTIVE,
                            decided_at=timezone.now(),
                        )
                    )
            EwaybillAccount.objects.bulk_create(
                [EwaybillAccount(merchant=c.merchant, outlet=c.outlet, platform=c.platform) for c in contracts]
            )
            contracts = Contract.objects.bulk_create(contracts, batch_size=BATCH)
        return contracts
