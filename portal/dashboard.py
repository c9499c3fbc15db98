"""The admin index as a dashboard: what each role should look at now, each number linking to its list.

Every figure comes from the same scoped selectors the lists use, so outlet staff see their outlets only.
The live figures are aggregates over an indexed range (the open states, capped counts); the last 24 hours of
results sum the runner's hourly figures and count only the part-hours at either end, and the 30-day tables read
its daily key figures (kpi app, docs/kpis.md), so neither grows with the table or the daily volume.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from claims import selectors as claim_selectors
from claims import services as claim_services
from claims.models import Claim
from interception import selectors
from interception.models import Carrier, InterceptionOrder, Outlet
from kpi import selectors as kpi_selectors
from settlement import selectors as statement_selectors
from settlement.models import Statement

# Above this a count reads "1000+": an exact figure would cost a scan for nothing anybody acts on.
COUNT_CAP = 1000
TOP_OUTLETS = 10
STATS_DAYS = 30  # calendar days ending today (Asia/Shanghai), read from the daily key figures


@dataclass
class Figure:
    label: str
    value: object
    url: str = ""
    tone: str = ""  # "warn" for what is late


@dataclass
class Section:
    key: str
    title: str
    figures: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    chart: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    empty: str = ""
    report_url: str = ""


def _url(name, **params):
    return _query(reverse(name), **params)


def _query(base, **params):
    return f"{base}?{urlencode(params)}" if params else base


def _capped(*querysets):
    """Each queryset's count, "1000+" above the cap, in one statement: each an unordered capped count (it stops at
    the cap instead of sorting every match first), all of them as scalar subqueries of one SELECT, since each
    count cost more in the ORM's Python than in PostgreSQL."""
    parts, params = [], []
    for n, qs in enumerate(querysets):
        try:
            sql, part_params = qs.order_by().values("pk")[: COUNT_CAP + 1].query.sql_with_params()
        except EmptyResultSet:  # a scope that sees nothing
            parts.append("0")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) capped{n})")  # noqa: S608 (Django-compiled SQL, values in params)
        params.extend(part_params)
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        counts = cursor.fetchone()
    return [f"{COUNT_CAP}+" if n > COUNT_CAP else n for n in counts]


def build(user, now=None):
    now = now or timezone.now()
    sections = []
    if user.has_perm("interception.view_contract"):
        sections.append(_approvals(user, now))
    if user.has_perm("interception.view_interceptionorder"):
        sections.append(_in_flight(user, now))
        sections.append(_last_day(user, now))
        sections += _performance(user, now)
    if user.has_perm("settlement.view_statement"):
        sections.append(_statements(user))
    if user.has_perm("claims.view_claim"):
        sections.append(_claims(user, now))
    return sections


def _approvals(user, now):
    """The outlets with the longest queues; each count is the contract list's own "waiting more than" filter."""
    changelist = "admin:interception_contract_changelist"
    section = Section("approvals", _("Applications waiting for the outlet"), empty=_("No application is waiting."))
    section.columns = [_("outlet"), _("waiting"), _("over 1 day"), _("over 3 days"), _("over 7 days")]
    for row in selectors.pending_by_outlet(user, now)[:TOP_OUTLETS]:
        outlet = {"outlet__id__exact": row["outlet__id"]}
        section.rows.append(
            {
                "label": f"{row['outlet__name']} ({row['outlet__code']})",
                "cells": [
                    Figure(_("waiting"), row["total"], _url(changelist, state__exact="pending", **outlet)),
                    *(
                        Figure(
                            label,
                            row[f"over_{days}"],
                            _url(changelist, waiting_days=days, **outlet),
                            "warn" if days == 7 and row["over_7"] else "",
                        )
                        for days, label in [(1, _("over 1 day")), (3, _("over 3 days")), (7, _("over 7 days"))]
                    ),
                ],
            }
        )
    return section


def _in_flight(user, now):

    orders = "admin:interception_interceptionorder_changelist"
    # Capped like the windows below: more than a thousand in flight is a carrier or a runner down, and counting
    # each one would read every in-flight row of the table.
    in_flight = selectors.interception_list(user)
    counted = [
        in_flight.filter(state=state)
        for state in (InterceptionOrder.State.REQUESTED, InterceptionOrder.State.INTERCEPTING)
    ]
    sees_windows = user.has_perm("interception.view_aftersale")
    if sees_windows:
        # Capped: thousands of overdue windows mean the deadline runner is down; the exact count is moot.
        after_sale_list = selectors.aftersale_list(user)
        counted += [after_sale_list.filter(selectors.handling_window(which, now)) for which in ("overdue", "today")]
        # Failed while the window runs: the merchant must decide before it ends (R15).
        counted.append(after_sale_list.filter(selectors.needs_decision(now)))
    requested, intercepting, *windows_and_decisions = _capped(*counted)
    section = Section("in_flight", _("Interceptions in flight"))
    section.figures += [
        Figure(_("waiting to be sent to the carrier"), requested, _url(orders, state__exact="requested")),
        Figure(_("with the carrier"), intercepting, _url(orders, state__exact="intercepting")),
    ]
    if sees_windows:
        after_sales = "admin:interception_aftersale_changelist"
        overdue, today, decide = windows_and_decisions
        windows = {"overdue": overdue, "today": today}
        section.figures += [
            Figure(
                _("failed interceptions awaiting a decision"),
                decide,
                _url(after_sales, state__exact="decide"),
                "warn" if decide else "",
            ),
            Figure(
                _("handling windows ending today"),
                windows["today"],
                _url(after_sales, window="today"),
                "warn" if windows["today"] else "",
            ),
            Figure(
                _("handling windows overdue"),
                windows["overdue"],
                _url(after_sales, window="overdue"),
                "warn" if windows["overdue"] else "",
            ),
        ]
    return section


def _last_day(user, now):

    orders = "admin:interception_interceptionorder_changelist"
    counts = kpi_selectors.results_since(user, now - selectors.RESULT_SPANS["24h"], now)
    section = Section("last_day", _("Carrier results of the last 24 hours"))
    section.figures = [
        Figure(_("results"), counts["results"], _url(orders, result_within="24h")),
        Figure(_("succeeded"), counts["successes"], _url(orders, result_within="24h", result="success")),
        Figure(
            _("failed"),
            counts["failures"],
            _url(orders, result_within="24h", result="failure"),
            "warn" if counts["failures"] else "",
        ),
    ]
    return section


def _performance(user, now):
    """Per carrier and per outlet over the 30 calendar days ending today, from the daily key figures (kpi app):
    success rate, approximate median time to result, fee per success, return loss."""

    first, last = kpi_selectors.days_ending(timezone.localdate(now), STATS_DAYS)
    # One read of the outlets' sums (an outlet belongs to one carrier); the carriers are their outlets summed.
    median = ("median",)  # the only quantile the tables show
    # The outlets' medians are read for the ten shown only; the carriers' from their outlets' summed buckets.
    outlet_rows = kpi_selectors.totals(user, first, last, "carrier_id", "outlet_id", waits=False, quantiles=())
    outlet_rows = [row for row in outlet_rows if row["results"]]
    by_carrier = kpi_selectors.combine(outlet_rows, "carrier_id", quantiles=median)
    by_outlet = sorted(outlet_rows, key=lambda r: (-r["results"], r["outlet_id"]))[:TOP_OUTLETS]
    by_outlet = [kpi_selectors.derive(row, median) for row in by_outlet]
    for rows, key, param in [
        (by_carrier, "carrier_id", "carrier__id__exact"),
        (by_outlet, "outlet_id", "outlet__id__exact"),
    ]:
        _links(rows, key, param, first, last)
    _label(by_carrier, "carrier_id", dict(Carrier.objects.values_list("pk", "name")))
    _label(
        by_outlet,
        "outlet_id",
        {o.pk: f"{o.name} ({o.code})" for o in Outlet.objects.filter(pk__in=[r["outlet_id"] for r in by_outlet])},
    )
    by_carrier.sort(key=lambda r: r["label"])
    carriers = Section(
        "carriers",
        _("Carriers, the %(n)s calendar days to today") % {"n": STATS_DAYS},
        rows=by_carrier,
        chart=_bars(by_carrier),
        empty=_("No carrier result in this period."),
    )
    outlets = Section(
        "outlets",
        _("Busiest outlets, the %(n)s calendar days to today") % {"n": STATS_DAYS},
        rows=by_outlet,
        chart=_bars(by_outlet),
        empty=_("No carrier result in this period."),
    )
    report = "admin:kpi_dailykpi_changelist"
    carriers.report_url = _url(report, by="carrier", **{"from": first.isoformat(), "to": last.isoformat()})
    outlets.report_url = _url(report, by="outlet", **{"from": first.isoformat(), "to": last.isoformat()})
    return [carriers, outlets]


def _label(rows, key, names):
    for row in rows:
        row["label"] = names.get(row[key], "?")


def _links(rows, key, param, first, last):
    """Each figure's list: the interceptions whose event (result, return failure) fell on those days."""
    orders = reverse("admin:interception_interceptionorder_changelist")  # once: three links a row
    results = kpi_selectors.day_range_params("result_at", first, last)
    failed = kpi_selectors.day_range_params("return_failed_at", first, last)
    for row in rows:
        row["succeeded"] = row["successes"]
        row["return_failed"] = row["lost"] + row["damaged"]
        row["results_url"] = _query(orders, **{param: row[key]}, **results)
        row["succeeded_url"] = _query(orders, **{param: row[key]}, **results, result="success")
        row["lost_url"] = _query(orders, **{param: row[key]}, **failed)


def _bars(rows, width=240):
    """Horizontal bars of the success rate, as numbers the template draws into an inline SVG."""
    bars = []
    for index, row in enumerate(rows):
        rate = row["success_rate"] or 0
        bars.append(
            {
                "y": index * 22,
                "width": round(rate * width, 1),
                "label": row["label"],
                "percent": round(rate * 100),
                "url": row["succeeded_url"],
            }
        )
    return bars


def _statements(user):

    changelist = "admin:settlement_statement_changelist"
    counts = (
        statement_selectors.statement_list(user)
        .filter(
            state__in=[
                Statement.State.DRAFT,
                Statement.State.ISSUED,
                Statement.State.DISPUTED,
                Statement.State.CONFIRMED,
            ]
        )
        .aggregate(
            draft=Count("id", filter=Q(state=Statement.State.DRAFT)),
            issued=Count("id", filter=Q(state=Statement.State.ISSUED)),
            disputed=Count("id", filter=Q(state=Statement.State.DISPUTED)),
            confirmed=Count("id", filter=Q(state=Statement.State.CONFIRMED)),
        )
    )
    section = Section("statements", _("Statements waiting for someone"))
    section.figures = [
        Figure(_("drafts to issue"), counts["draft"], _url(changelist, state__exact="draft")),
        Figure(
            _("issued, awaiting the outlet's confirmation"), counts["issued"], _url(changelist, state__exact="issued")
        ),
        Figure(
            _("disputed, to revise"),
            counts["disputed"],
            _url(changelist, state__exact="disputed"),
            "warn" if counts["disputed"] else "",
        ),
        Figure(_("confirmed, awaiting payment"), counts["confirmed"], _url(changelist, state__exact="confirmed")),
    ]
    return section


def _claims(user, now):

    changelist = "admin:claims_claim_changelist"
    counts = (
        claim_selectors.claim_list(user)
        .filter(state__in=Claim.OPEN_STATES)
        .aggregate(**{state: Count("id", filter=Q(state=state)) for state in Claim.OPEN_STATES})
    )
    section = Section("claims", _("Claims"))
    if user.has_perm("claims.add_claim"):
        section.figures.append(
            Figure(
                _("candidates: succeeded, no return scan"),
                _capped(claim_services.claim_candidates(user, now))[0],
                reverse("admin:claims_claim_candidates"),
                "warn",
            )
        )
    labels = dict(Claim.State.choices)
    section.figures += [Figure(labels[state], n, _url(changelist, state__exact=state)) for state, n in counts.items()]
    return section
