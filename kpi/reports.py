"""The key-figure report: per platform, carrier, outlet or merchant over any range of days, with a trend."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception.models import Carrier, Merchant, Outlet, Platform
from kernel import inputs
from kernel.errors import DomainError
from kpi import selectors

DIMENSIONS = {
    "platform": (_("platform"), Platform, "platform__id__exact"),
    "carrier": (_("carrier"), Carrier, "carrier__id__exact"),
    "outlet": (_("outlet"), Outlet, "outlet__id__exact"),
    "merchant": (_("merchant"), Merchant, "merchant__id__exact"),
}
GRAINS = {"day": _("day"), "week": _("week"), "month": _("month")}
# (key, header); the sortable columns of the table and of the exported file
COLUMNS = [
    ("results", _("results")),
    ("successes", _("successes")),
    ("success_rate", _("success rate")),
    ("failures", _("failures")),
    ("median", _("median time to result (approximate)")),
    ("p90", _("90th percentile time to result (approximate)")),
    ("fees", _("chargeable fees (yuan)")),
    ("fee_per_success", _("fee per success")),
    ("returned", _("returns finished")),
    ("return_failed", _("lost or damaged")),
    ("loss_rate", _("return-loss rate")),
    ("decided", _("applications decided")),
    ("wait_median", _("median wait for a decision (approximate)")),
    ("claims_filed", _("claims filed")),
    ("claims_paid", _("claims paid")),
]
DURATIONS = {"median", "p90", "wait_median"}
SORTS = {key for key, _label in COLUMNS} | {"label"}
MAX_DAYS = 3 * 366
ORDERS = "admin:interception_interceptionorder_changelist"
CONTRACTS = "admin:interception_contract_changelist"
CLAIMS = "admin:claims_claim_changelist"


@dataclass
class Report:
    first: date
    last: date
    by: str
    grain: str
    sort: str
    where: dict
    rows: list = field(default_factory=list)
    trend: list = field(default_factory=list)
    total: dict = field(default_factory=dict)


def _day(params, name, default):
    text = (params.get(name) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(
            "day_invalid",
            _("%(field)s: not a day (YYYY-MM-DD): %(value)s") % {"field": name, "value": text[:20]},
            status=400,
        ) from None


def parse(params, today=None):
    """The report asked for by query parameters, checked: a DomainError (400) names the field that is wrong."""
    today = today or timezone.localdate()
    last = _day(params, "to", today)
    first = _day(params, "from", last - timedelta(days=29))
    if first > last:
        raise DomainError("range_invalid", _("from: the first day is after the last day."), status=400)
    if (last - first).days >= MAX_DAYS:
        raise DomainError("range_too_long", _("from: at most %(n)s days at once.") % {"n": MAX_DAYS}, status=400)
    by = params.get("by") or "carrier"
    grain = params.get("grain") or "day"
    sort = params.get("sort") or "-results"
    for name, value, allowed in [("by", by, DIMENSIONS), ("grain", grain, GRAINS), ("sort", sort.lstrip("-"), SORTS)]:
        if value not in allowed:
            raise DomainError(
                "choice_invalid",
                _("%(field)s: unknown choice %(value)s") % {"field": name, "value": value[:20]},
                status=400,
            )
    where = {}
    for name in DIMENSIONS:
        value = params.get(name)
        if value:
            if not inputs.is_id(value):
                raise DomainError(
                    "id_invalid",
                    _("%(field)s: not an id: %(value)s") % {"field": name, "value": value[:20]},
                    status=400,
                )
            where[f"{name}_id"] = int(value)
    return Report(first=first, last=last, by=by, grain=grain, sort=sort, where=where)


def _url(name, **params):
    return f"{reverse(name)}?{urlencode(params)}"


def _period(day, grain):
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _period_end(start, grain, last):
    if grain == "week":
        end = start + timedelta(days=6)
    elif grain == "month":
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    else:
        end = start
    return min(end, last)


def _links(row, first, last, where):
    """The list behind each figure: the same rows, on the same days of the same event. `where`: {column: id}."""
    narrow = {DIMENSIONS[column[:-3]][2]: value for column, value in where.items()}
    results = selectors.day_range_params("result_at", first, last)
    # The contract list filters its carrier by code and opens on pending applications unless told otherwise.
    contracts = {key: value for key, value in narrow.items() if key != "carrier__id__exact"}
    if "carrier_id" in where:
        contracts["carrier"] = Carrier.objects.filter(pk=where["carrier_id"]).values_list("code", flat=True).first()
    row["urls"] = {
        "results": _url(ORDERS, **narrow, **results),
        "successes": _url(ORDERS, **narrow, **results, result="success"),
        "failures": _url(ORDERS, **narrow, **results, result="failure"),
        "returned": _url(ORDERS, **narrow, **selectors.day_range_params("returned_at", first, last)),
        "return_failed": _url(ORDERS, **narrow, **selectors.day_range_params("return_failed_at", first, last)),
        "decided": _url(
            CONTRACTS, **contracts, state__exact="all", **selectors.day_range_params("decided_at", first, last)
        ),
        "claims_filed": _url(CLAIMS, **narrow, **selectors.day_range_params("filed_at", first, last)),
        "claims_paid": _url(CLAIMS, **narrow, **selectors.day_range_params("paid_at", first, last)),
    }


def build(user, report):
    """The rows of the report, sorted, with their links; the trend of the whole selection per day, week or month."""
    _label, model, _param = DIMENSIONS[report.by]
    column = f"{report.by}_id"
    rows = selectors.totals(user, report.first, report.last, column, where=report.where)
    shown = model.objects.filter(pk__in=[r[column] for r in rows])
    names = {pk: f"{name} ({code})" for pk, name, code in shown.values_list("pk", "name", "code")}
    for row in rows:
        row["label"] = names.get(row[column], "?")
        row["return_failed"] = row["lost"] + row["damaged"]
        row["decided"] = row["approved"] + row["rejected"]
        _links(row, report.first, report.last, {**report.where, column: row[column]})
    key = report.sort.lstrip("-")
    present = [r for r in rows if r[key] is not None]
    present.sort(key=lambda r: (r[key], r["label"]), reverse=report.sort.startswith("-"))
    report.rows = present + [r for r in rows if r[key] is None]
    days = selectors.totals(user, report.first, report.last, "day", where=report.where, waits=False, quantiles=())
    periods = {}
    for row in days:
        periods.setdefault(_period(row["day"], report.grain), []).append(row)
    trend = []
    for start in sorted(periods):
        total = selectors.combine([{**r, "period": start} for r in periods[start]], "period", quantiles=())[0]
        end = _period_end(start, report.grain, report.last)
        total["start"], total["end"] = max(start, report.first), end
        _links(total, total["start"], end, report.where)
        trend.append(total)
    report.trend = _bars(trend)
    whole = selectors.combine([{**r, "all": 1} for r in rows], "all")
    report.total = whole[0] if whole else {}
    return report


def _bars(periods, height=120, width=640):
    """Columns of the results per period and the share that succeeded, as numbers the template draws in SVG."""
    most = max((p["results"] for p in periods), default=0) or 1
    step = width / max(len(periods), 1)
    for index, period in enumerate(periods):
        period["x"] = round(index * step, 1)
        period["w"] = round(max(step - 2, 1), 1)
        period["h"] = round(period["results"] / most * height, 1)
        period["y"] = round(height - period["h"], 1)
        period["ok_h"] = round(period["successes"] / most * height, 1)
        period["ok_y"] = round(height - period["ok_h"], 1)
    return periods


def export_rows(report):
    """Header and rows of the exported file: the table as shown."""
    hours = _("hours")
    header = [str(DIMENSIONS[report.by][0])]
    header += [f"{label} ({hours})" if key in DURATIONS else str(label) for key, label in COLUMNS]
    rows = []
    for row in report.rows:
        cells = [row["label"]]
        for key, _label in COLUMNS:
            value = row[key]
            if key in ("success_rate", "loss_rate"):
                value = "" if value is None else f"{value * 100:.1f}%"
            elif key in DURATIONS:
                value = "" if value is None else round(value.total_seconds() / 3600, 2)
            elif value is None:
                value = ""
            cells.append(value)
        rows.append(cells)
    return header, rows
