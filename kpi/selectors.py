"""The daily key figures a user may see, and their sums over a range of days (scoped as interception lists are)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum

from interception.selectors import interception_list, scope_filter, scope_for
from kpi import histogram
from kpi.models import RESULT_BUCKETS, WAIT_BUCKETS, DailyKpi, DailyOutletKpi, HourlyOutletKpi
from kpi.rollup import FIGURES, RESULT_COUNTS, midnight

# name -> (the buckets it is read from, the quantile)
QUANTILES = {
    "median": (RESULT_BUCKETS, 0.5),
    "p90": (RESULT_BUCKETS, 0.9),
    "wait_median": (WAIT_BUCKETS, 0.5),
    "wait_p90": (WAIT_BUCKETS, 0.9),
}
SUMMED = [*FIGURES, "fees"]
_ADDED = frozenset([*SUMMED, *RESULT_BUCKETS, *WAIT_BUCKETS])  # what `combine` adds up


def daily_list(user):
    """Outlet staff: their outlets' rows only; a merchant's or carrier's API client: its own."""
    return DailyKpi.objects.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="carrier"))


def outlet_daily_list(user):
    """The per-outlet sums, scoped the same way; a merchant's client sees none (they mix merchants)."""
    return DailyOutletKpi.objects.filter(scope_filter(user, outlet="outlet", carrier="carrier"))


def hourly_list(user):
    """The per-hour results, scoped as the per-outlet sums are."""
    return HourlyOutletKpi.objects.filter(scope_filter(user, outlet="outlet", carrier="carrier"))


def results_since(user, since, now):
    """The interceptions `user` may see whose carrier result came at `since` or later (`now` is the request's
    moment): {"results", "successes", "failures"}. The whole hours in between are summed from the hourly
    figures (one runner pass late, as every roll-up); the part-hours at either end, and everything for a
    merchant's client (the hours mix merchants), are counted from the interceptions. So it reads about two
    hours of rows whatever the span."""
    start = since.replace(minute=0, second=0, microsecond=0)
    start = start if start == since else start + timedelta(hours=1)  # the first whole hour
    # Whole hours in UTC are whole hours in Asia/Shanghai (UTC+8, no daylight saving): the hourly rows' own.
    end = now.replace(minute=0, second=0, microsecond=0)  # the hour under way, counted live
    live = interception_list(user).order_by()
    if end <= start or scope_for(user).merchant_id is not None:
        return live.filter(result_at__gte=since).aggregate(**RESULT_COUNTS)
    counts = dict.fromkeys(RESULT_COUNTS, 0)
    for part in [
        live.filter(result_at__gte=since, result_at__lt=start).aggregate(**RESULT_COUNTS),
        live.filter(result_at__gte=end).aggregate(**RESULT_COUNTS),  # and a result a carrier's clock dated ahead
        hourly_list(user).filter(hour__gte=start, hour__lt=end).aggregate(**{n: Sum(n) for n in RESULT_COUNTS}),
    ]:
        for name, n in part.items():
            counts[name] += n or 0
    return counts


def days_ending(today, days):
    """The `days` calendar days ending with `today`, as (first day, last day)."""
    return today - timedelta(days=days - 1), today


def totals(user, first, last, *by, waits=True, where=None, quantiles=QUANTILES):
    """Sums per `by` (columns such as "carrier_id", "outlet_id") over the days `first`…`last`, with the derived
    figures; `where`: {column: id} narrows them. Read from the per-outlet sums unless a platform or a merchant is
    involved."""
    where = where or {}
    coarse = {"day", "carrier_id", "outlet_id"}.issuperset((*by, *where))
    source = outlet_daily_list(user) if coarse else daily_list(user)
    buckets = RESULT_BUCKETS + (WAIT_BUCKETS if waits else [])
    rows = list(
        source.filter(day__gte=first, day__lte=last, **where)
        .order_by()
        .values(*by)
        .annotate(**{name: Sum(name) for name in SUMMED + buckets})
        .order_by(*by)
    )
    return [derive(row, quantiles) for row in rows]


def combine(rows, *by, quantiles=QUANTILES):
    """`totals` rows summed again per `by`, a coarser key (the carriers of outlet rows), derived again."""
    combined = {}
    for row in rows:
        key = tuple(row[name] for name in by)
        total = combined.setdefault(key, dict(zip(by, key, strict=True)))
        for name, value in row.items():
            if name in _ADDED:
                total[name] = total.get(name, 0) + (value or 0)
    return [derive(row, quantiles) for row in combined.values()]


def derive(row, quantiles=QUANTILES):
    """Rates, fee per success and the approximate `quantiles` (of QUANTILES) from the summed buckets."""
    for name in SUMMED:
        row[name] = row.get(name) or (Decimal("0.00") if name == "fees" else 0)
    finished = row["returned"] + row["lost"] + row["damaged"]
    row["success_rate"] = row["successes"] / row["results"] if row["results"] else None
    row["fee_per_success"] = (row["fees"] / row["successes"]).quantize(Decimal("0.01")) if row["successes"] else None
    row["loss_rate"] = (row["lost"] + row["damaged"]) / finished if finished else None
    for name, (buckets, q) in QUANTILES.items():
        if name in quantiles:
            row[name] = histogram.quantile([row.get(b) or 0 for b in buckets], q)
    return row


def day_range_params(field, first, last):
    """The changelist parameters of the moments of `field` within the calendar days `first`…`last`."""
    return {
        f"{field}__gte": midnight(first).isoformat(),
        f"{field}__lt": midnight(last + timedelta(days=1)).isoformat(),
    }
