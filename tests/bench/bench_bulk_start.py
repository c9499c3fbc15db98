"""Benchmark: customer service starts 1,000 interceptions at once from the after-sale list (issue 20 item 4).

Part of `make bench`; alone:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench python tests/bench/bench_bulk_start.py
Each run adds a merchant with an active contract and 1,000 open after-sales whose parcels are in transit. The
set-based service and its anchor, the same 1,000 started one by one through `interception_start`, run on the
same rows in alternating rounds, each rolled back (the carrier submission after commit is not timed).
"""

import statistics
import time
from decimal import Decimal

from common import RUNS, Row, machine, print_table, ratio
from django.db import transaction
from django.utils import timezone

from interception import services
from interception.models import AfterSale, Carrier, GoodsLine, Parcel, Platform
from portal import roles
from tests import factories

STARTS = 1_000
ROUNDS = RUNS


class Rollback(Exception):
    pass


def open_after_sales():
    run = f"BS{time.time_ns() // 1000 % 10**10}"
    platform, carrier = Platform.objects.get(code="kuaishou"), Carrier.objects.get(code="jt")
    outlet = factories.OutletFactory(carrier=carrier, code=run, name=f"批量拦截压测网点{run}")
    merchant = factories.MerchantFactory(platform=platform, code=f"{run}M", name=f"批量拦截压测店铺{run}")
    factories.EwaybillFactory(merchant=merchant, outlet=outlet, platform=platform)
    contract = factories.apply(merchant, outlet, fee="4.00")
    services.contract_approve(contract_id=contract.pk, actor=None)
    services.agreement_sign(merchant=merchant, platform=platform, actor=None)
    now = timezone.now()
    with transaction.atomic():
        parcels = Parcel.objects.bulk_create(
            [
                Parcel(
                    carrier=carrier,
                    tracking_number=f"{run}{n:06d}",
                    outlet=outlet,
                    merchant=merchant,
                    platform=platform,
                    order_number=f"{run}O{n}",
                    last_status="in_transit",
                    last_event_at=now,
                )
                for n in range(STARTS)
            ]
        )
        GoodsLine.objects.bulk_create([GoodsLine(parcel=p, name="保温杯", value=Decimal("59.00")) for p in parcels])
        after_sales = AfterSale.objects.bulk_create(
            [
                AfterSale(
                    number=f"{run}A{n}", merchant=merchant, platform=platform, parcel=p, kind="refund_only", amount=59
                )
                for n, p in enumerate(parcels)
            ]
        )
    return [a.pk for a in after_sales]


def timed(work):
    started = time.perf_counter()
    try:
        with transaction.atomic():
            work()
            raise Rollback
    except Rollback:
        pass
    return time.perf_counter() - started


def bulk_starts():
    ids = open_after_sales()
    user = factories.user(f"bulk-cs-{time.time_ns()}", roles.CUSTOMER_SERVICE)

    def set_based():
        outcomes = services.interceptions_start_many(after_sale_ids=ids, actor=user)
        assert all(error is None for _pk, _orders, error in outcomes), outcomes[0]

    def one_by_one():
        for pk in ids:
            services.interception_start(after_sale_id=pk, actor=user, via="bulk")

    sets, singles = [], []
    for _ in range(ROUNDS):  # alternating, on the same rows
        sets.append(timed(set_based))
        singles.append(timed(one_by_one))
    s, o = statistics.median(sets), statistics.median(singles)
    return [
        Row(
            f"bulk start, {STARTS:,} after-sales, as one set (median of {ROUNDS})",
            f"{s:.2f} s",
            "faster than one by one",
            s < o,
            anchor=f"one by one through interception_start {o:.2f} s",
            ratio=ratio(s, o),
        ),
    ]


if __name__ == "__main__":
    print(f"Machine: {machine()}")
    print_table(bulk_starts(), "Bulk interception starts")
