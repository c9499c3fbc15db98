"""Keeping the daily key figures: a runner pass recounts the days the newest timeline entries touched.

Why the runner and not the transaction that records a result: every path that changes a counted row (carrier
callbacks and queries, staff entering results, the set-based `decisions_apply`, bulk paths, claims, a result
recorded late for an old request) writes a timeline entry, so reading the timeline covers them all without a
hook in any of them, and the callbacks' hot path pays nothing. The figures are at most one pass late (the runner
runs every 30 seconds).

A day is always recounted whole from the source rows, one GROUP BY per source, and its rows replaced in the same
transaction that moves the watermark: a correction or a result that arrives out of order is right by construction.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from claims.models import Claim
from interception.models import Contract, InterceptionOrder
from kernel.models import TimelineEntry
from kpi.histogram import EDGES
from kpi.models import RESULT_BUCKETS, WAIT_BUCKETS, DailyKpi, DailyOutletKpi, HourlyOutletKpi, Watermark

ZONE = ZoneInfo("Asia/Shanghai")  # the calendar the figures are kept in, whatever the server's zone
MARGIN = timedelta(minutes=5)  # a transaction that commits its timeline entry later than this after a higher id
RUNNER = "timeline"
DIMENSIONS = ["k_platform", "k_carrier", "k_outlet", "k_merchant"]
# The counts of a day's row, and its histogram buckets.
FIGURES = [
    "results",
    "successes",
    "failures",
    "returned",
    "lost",
    "damaged",
    "approved",
    "rejected",
    "claims_filed",
    "claims_paid",
]
# Of interceptions with a result: how many, how many succeeded, how many failed (per day, per hour, and the live
# edges of the dashboard's last 24 hours).
RESULT_COUNTS = {
    "results": Count("id"),
    "successes": Count("id", filter=Q(state__in=InterceptionOrder.SUCCESS_STATES)),
    "failures": Count("id", filter=Q(state=InterceptionOrder.State.FAILED)),
}
COUNTERS = [
    *FIGURES,
    *RESULT_BUCKETS,
    *WAIT_BUCKETS,
]


def midnight(day):
    return datetime.combine(day, time.min, tzinfo=ZONE)


def day_of(moment):
    return moment.astimezone(ZONE).date()


def _ranges(days):
    """Sorted days as contiguous [first, last] ranges."""
    ranges = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return ranges


def _histogram(names):
    """One filtered count per bucket (kpi.histogram) of the `_took` annotation."""
    counts = {}
    for i, name in enumerate(names):
        cond = Q()
        if i > 0:  # the first bucket also holds a result stamped before its request (a carrier clock behind ours)
            cond &= Q(_took__gte=timedelta(seconds=EDGES[i - 1]))
        if i < len(EDGES):
            cond &= Q(_took__lt=timedelta(seconds=EDGES[i]))
        counts[name] = Count("id", filter=cond)
    return counts


def _grouped(queryset, moment, dims, *also, **aggregates):
    """`queryset` counted per Shanghai day of `moment` × the four dimensions (× `also`)."""
    return (
        queryset.annotate(_day=TruncDate(moment, tzinfo=ZONE), **dict(zip(DIMENSIONS, dims, strict=True)))
        .values("_day", *DIMENSIONS, *also)
        .annotate(**aggregates)
        .order_by()
    )


def _took(end, start):
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def count_days(days):
    """The key figures of `days`, recounted from the source rows: {(day, platform, carrier, outlet, merchant): {}}."""
    rows = defaultdict(lambda: {"failure_codes": {}, "fees": Decimal("0.00")})
    own = (F("platform_id"), F("carrier_id"), F("outlet_id"), F("merchant_id"))

    def add(queryset, moment, dims, **aggregates):
        for found in _grouped(queryset, moment, dims, **aggregates):
            key = (found.pop("_day"), *(found.pop(d) for d in DIMENSIONS))
            row = rows[key]
            for name, value in found.items():
                row[name] = row.get(name, 0) + (value or 0)

    for first, last in _ranges(days):
        lo, hi = midnight(first), midnight(last + timedelta(days=1))
        orders = InterceptionOrder.objects.order_by()
        results = orders.filter(result_at__gte=lo, result_at__lt=hi).annotate(_took=_took("result_at", "requested_at"))
        add(
            results,
            "result_at",
            own,
            **RESULT_COUNTS,
            fees=Sum("fee", filter=Q(chargeable=True)),
            **_histogram(RESULT_BUCKETS),
        )
        failed = orders.filter(result_at__gte=lo, result_at__lt=hi, state=InterceptionOrder.State.FAILED)
        for found in _grouped(failed, "result_at", own, "failure_code", n=Count("id")):
            key = (found["_day"], *(found[d] for d in DIMENSIONS))
            codes = rows[key]["failure_codes"]
            codes[found["failure_code"]] = codes.get(found["failure_code"], 0) + found["n"]
        add(orders.filter(returned_at__gte=lo, returned_at__lt=hi), "returned_at", own, returned=Count("id"))
        add(
            orders.filter(return_failed_at__gte=lo, return_failed_at__lt=hi),
            "return_failed_at",
            own,
            lost=Count("id", filter=Q(return_loss=InterceptionOrder.ReturnLoss.LOST)),
            damaged=Count("id", filter=Q(return_loss=InterceptionOrder.ReturnLoss.DAMAGED)),
        )
        decided = (
            Contract.objects.order_by()
            .filter(decided_at__gte=lo, decided_at__lt=hi)
            .annotate(_took=_took("decided_at", "applied_at"))
        )
        add(
            decided,
            "decided_at",
            (F("platform_id"), F("outlet__carrier_id"), F("outlet_id"), F("merchant_id")),
            approved=Count("id", filter=~Q(state=Contract.State.REJECTED)),
            rejected=Count("id", filter=Q(state=Contract.State.REJECTED)),
            **_histogram(WAIT_BUCKETS),
        )
        claims = Claim.objects.order_by()
        add(claims.filter(filed_at__gte=lo, filed_at__lt=hi), "filed_at", own, claims_filed=Count("id"))
        add(claims.filter(paid_at__gte=lo, paid_at__lt=hi), "paid_at", own, claims_paid=Count("id"))
    return rows


def count_hours(days):
    """The results of `days` per hour × carrier × outlet, recounted: {(hour, carrier, outlet): {figure: n}}."""
    rows = {}
    for first, last in _ranges(days):
        found = (
            InterceptionOrder.objects.order_by()
            .filter(result_at__gte=midnight(first), result_at__lt=midnight(last + timedelta(days=1)))
            .annotate(_hour=TruncHour("result_at", tzinfo=ZONE))
            .values("_hour", "carrier_id", "outlet_id")
            .annotate(**RESULT_COUNTS)
        )
        for row in found:
            rows[(row.pop("_hour"), row.pop("carrier_id"), row.pop("outlet_id"))] = row
    return rows


def recount(days):
    """Replace the rows of `days` (per merchant, summed per carrier × outlet, and the results per hour) by a
    recount, as one change."""
    days = sorted(set(days))
    if not days:
        return 0
    counted = count_days(days)
    hours = count_hours(days)
    outlets = defaultdict(lambda: {"failure_codes": {}, "fees": Decimal("0.00")})
    for key, row in counted.items():
        total = outlets[(key[0], key[2], key[3])]  # day, carrier, outlet
        for name, value in row.items():
            if name == "failure_codes":
                for code, n in value.items():
                    total[name][code] = total[name].get(code, 0) + n
            else:
                total[name] = total.get(name, 0) + value
    with transaction.atomic():
        DailyKpi.objects.filter(day__in=days).delete()
        DailyOutletKpi.objects.filter(day__in=days).delete()
        for first, last in _ranges(days):
            HourlyOutletKpi.objects.filter(
                hour__gte=midnight(first), hour__lt=midnight(last + timedelta(days=1))
            ).delete()
        DailyKpi.objects.bulk_create(
            [
                DailyKpi(day=k[0], platform_id=k[1], carrier_id=k[2], outlet_id=k[3], merchant_id=k[4], **row)
                for k, row in counted.items()
            ],
            batch_size=1000,
        )
        DailyOutletKpi.objects.bulk_create(
            [DailyOutletKpi(day=k[0], carrier_id=k[1], outlet_id=k[2], **row) for k, row in outlets.items()],
            batch_size=1000,
        )
        HourlyOutletKpi.objects.bulk_create(
            [HourlyOutletKpi(hour=k[0], carrier_id=k[1], outlet_id=k[2], **row) for k, row in hours.items()],
            batch_size=1000,
        )
    return len(counted)


def _touched_days(entries):
    """The days whose figures the objects of `entries` (a queryset of timeline entries) count on."""
    kinds = ContentType.objects.get_for_models(InterceptionOrder, Contract, Claim)
    sources = [
        (InterceptionOrder, ["result_at", "returned_at", "return_failed_at"]),
        (Contract, ["decided_at"]),
        (Claim, ["filed_at", "paid_at"]),
    ]
    days = set()
    for model, moments in sources:
        ids = entries.filter(content_type=kinds[model]).values("object_id")
        touched = model.objects.filter(pk__in=ids).order_by()
        for moment in moments:
            found = (
                touched.filter(**{f"{moment}__isnull": False})
                .annotate(_day=TruncDate(moment, tzinfo=ZONE))
                .values_list("_day", flat=True)
                .distinct()
            )
            days.update(found)
    return days


@transaction.atomic
def kpis_update(now=None):
    """One pass of the runner: recount the days touched by timeline entries after the watermark; (how many entries
    are new since the last pass, the days recounted).

    The watermark row is locked, so two runners take turns. A transaction may commit its timeline entry after one
    with a higher id was read: each pass therefore reads again every entry after the highest id seen by the passes
    of the last MARGIN; only a pass older than that moves the floor.
    """
    now = now or timezone.now()
    mark, _ = Watermark.objects.select_for_update().get_or_create(name=RUNNER)
    seen = max([h for _at, h in mark.passes], default=mark.floor)
    recent = []
    for at, high in mark.passes:
        if datetime.fromisoformat(at) <= now - MARGIN:
            mark.floor = max(mark.floor, high)
        else:
            recent.append([at, high])
    high = TimelineEntry.objects.aggregate(high=Max("id"))["high"] or 0
    entries = TimelineEntry.objects.filter(id__gt=mark.floor, id__lte=high)
    days = _touched_days(entries)
    recount(days)
    mark.passes = [*recent, [now.isoformat(), high]]
    mark.updated_at = now
    mark.save()
    return max(0, high - seen), sorted(days)


def kpis_rebuild(first, last):
    """Recount every day from `first` to `last`, a month at a time; a new runner starts after what exists now."""
    with transaction.atomic():
        mark, _ = Watermark.objects.select_for_update().get_or_create(name=RUNNER)
        if (
            not mark.floor and not mark.passes
        ):  # the history is this command's work: the runner follows what comes after
            mark.floor = TimelineEntry.objects.aggregate(high=Max("id"))["high"] or 0
            mark.save()
    rows, day = 0, first
    while day <= last:
        end = min(day + timedelta(days=30), last)
        rows += recount([day + timedelta(days=n) for n in range((end - day).days + 1)])
        day = end + timedelta(days=1)
    # Many rows replaced at once: the planner reads the tables' statistics again, or it plans the dashboard's sums
    # for the few rows it saw last (a sort where a hash would do: 15 → 7 ms for the 30-day table at 1M).
    with connection.cursor() as cursor:
        for model in (DailyKpi, DailyOutletKpi, HourlyOutletKpi):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return rows
