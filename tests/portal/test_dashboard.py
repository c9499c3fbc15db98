"""The admin index is each role's dashboard (issue 7): right figures, scoped, and every number leads to its list."""

from datetime import timedelta
from decimal import Decimal
from statistics import median

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interception import selectors, services
from interception.models import AfterSale, Contract, InterceptionOrder
from kpi import histogram
from kpi import selectors as kpi_selectors
from kpi.models import HourlyOutletKpi
from kpi.rollup import kpis_update
from tests import factories

pytestmark = pytest.mark.django_db


def _dashboard(client, user):
    kpis_update()  # the runner's pass: the 30-day tables read the daily key figures it keeps
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return {s.key: s for s in response.context["dashboard"]}, response


def _result(order, result):
    return services.interception_record_result(order_id=order.pk, actor=None, result=result, source="callback")


@pytest.fixture
def results():
    """Carrier jt at outlet A: three results today (two successes, one failure), one return lost, one old result."""
    contract = factories.active_contract(fee="6.00")
    ok1 = factories.intercepted(contract)
    ok2 = factories.intercepted(contract)
    factories.intercepted(contract, result="failed")
    _result(ok1, "returning")
    _result(ok1, "lost")
    _result(ok2, "returning")
    _result(ok2, "returned")
    old = factories.intercepted(contract)
    InterceptionOrder.objects.filter(pk=old.pk).update(result_at=timezone.now() - timedelta(days=40))
    factories.started(factories.after_sale_for(factories.parcel_for(contract)))  # in flight
    for days in (0.5, 2, 5, 8):  # applications waiting at the outlet, of every age the dashboard tells apart
        merchant, _ = factories.contract_setup(outlet=contract.outlet)
        pending = factories.apply(merchant, contract.outlet)
        Contract.objects.filter(pk=pending.pk).update(applied_at=timezone.now() - timedelta(days=days))
    return contract


def test_customer_service_sees_results_and_carrier_performance(client, results):
    sections, _ = _dashboard(client, factories.user("cs1", "Customer service"))
    assert {"approvals", "in_flight", "last_day", "carriers", "outlets", "claims"} <= set(sections)
    assert "statements" not in sections  # customer service holds no statement permission
    last_day = {f.url.split("?")[1]: f.value for f in sections["last_day"].figures}
    assert last_day == {
        "result_within=24h": 3,
        "result_within=24h&result=success": 2,
        "result_within=24h&result=failure": 1,
    }
    (jt,) = sections["carriers"].rows
    assert jt["results"] == 3 and jt["succeeded"] == 2
    assert jt["success_rate"] == pytest.approx(2 / 3)
    assert jt["fee_per_success"] == Decimal("6.00")  # fees of chargeable results / successes
    assert jt["loss_rate"] == 0.5  # one of two finished returns was lost
    first = timezone.localdate() - timedelta(days=29)
    recent = [
        o for o in InterceptionOrder.objects.filter(result_at__isnull=False) if timezone.localdate(o.result_at) >= first
    ]
    assert len(recent) == 3  # the 40-day-old result is outside the 30 calendar days ending today
    expected = median(o.result_at - o.requested_at for o in recent)
    # Approximate, from the fixed buckets: in the same bucket as the exact median.
    assert histogram.bucket_of(jt["median"].total_seconds()) == histogram.bucket_of(expected.total_seconds())
    in_flight = {f.url.split("?")[1]: f.value for f in sections["in_flight"].figures}
    assert in_flight["state__exact=intercepting"] == 1


def test_every_number_links_to_the_list_that_holds_exactly_that_many(client, results):
    user = factories.user("sup", "Supervisor")
    sections, _ = _dashboard(client, user)
    figures = [f for s in sections.values() for f in s.figures]
    figures += [c for s in sections.values() for row in s.rows for c in row.get("cells", [])]
    checked = 0
    for figure in figures:
        response = client.get(figure.url)
        assert response.status_code == 200, figure.url
        changelist = response.context.get("cl")
        if changelist is not None:
            assert changelist.result_count == figure.value, (figure.label, figure.url)
            checked += 1
    for row in sections["carriers"].rows + sections["outlets"].rows:
        for key, url in [
            ("results", row["results_url"]),
            ("succeeded", row["succeeded_url"]),
            ("return_failed", row["lost_url"]),
        ]:
            assert client.get(url).context["cl"].result_count == row[key], url
            checked += 1
    assert [c.value for c in sections["approvals"].rows[0]["cells"]] == [4, 3, 2, 1]  # all, over 1, 3, 7 days
    assert checked >= 16
    # The tables lead on to the report over the same days, which counts the same.
    report = client.get(sections["carriers"].report_url).context["report"]
    assert [r["results"] for r in report.rows] == [r["results"] for r in sections["carriers"].rows]


def test_r15_windows_due_today_and_overdue_are_counted_and_listed(client):
    late = factories.started()
    due = factories.started()
    later = factories.started()
    now = timezone.now()
    AfterSale.objects.filter(pk=late.after_sale_id).update(window_ends_at=now - timedelta(minutes=5))
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=0)
    AfterSale.objects.filter(pk=due.after_sale_id).update(window_ends_at=max(end_of_day, now + timedelta(seconds=30)))
    AfterSale.objects.filter(pk=later.after_sale_id).update(window_ends_at=now + timedelta(days=2))
    sections, _ = _dashboard(client, factories.user("cs1", "Customer service"))
    figures = {f.url.split("?")[1]: f for f in sections["in_flight"].figures}
    assert figures["window=overdue"].value == 1 and figures["window=overdue"].tone == "warn"
    listed = client.get(figures["window=overdue"].url).context["cl"].result_list
    assert [a.pk for a in listed] == [late.after_sale_id]
    if timezone.localtime(now).hour < 23:  # "due today" needs some of today left
        assert figures["window=today"].value == 1


def test_outlet_staff_see_only_their_outlets(client, two_outlets):
    contract_a = factories.active_contract(outlet=two_outlets["a"])
    contract_b = factories.active_contract(outlet=two_outlets["b"])
    factories.intercepted(contract_a)
    factories.intercepted(contract_b)
    factories.intercepted(contract_b, result="failed")
    factories.apply(two_outlets["account_b"].merchant, two_outlets["b"])  # pending at B
    sections, response = _dashboard(client, two_outlets["staff_a"])
    assert [r["outlet_id"] for r in sections["outlets"].rows] == [two_outlets["a"].pk]
    assert sections["carriers"].rows[0]["results"] == 1
    assert not sections["approvals"].rows
    assert two_outlets["b"].name not in response.content.decode()
    # Outlet staff do not handle after-sales: no handling-window figures.
    assert not [f for f in sections["in_flight"].figures if "window=" in f.url]


def test_dashboard_queries_do_not_grow_with_the_data(client, results):
    user = factories.user("sup", "Supervisor")
    client.force_login(user)
    client.get("/admin/")  # the first request after logging in renews the session (a write a minute)
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/")
    for _ in range(3):
        factories.intercepted(factories.active_contract(carrier_code="zto"))
    with CaptureQueriesContext(connection) as more:
        client.get("/admin/")
    assert len(more) == len(few)
    assert len(few) <= 25


def test_charts_are_inline_svg_drawn_on_the_server(client, results):
    _, response = _dashboard(client, factories.user("cs1", "Customer service"))
    html = response.content.decode()
    assert html.count('<svg class="portal-chart"') == 2
    assert 'width="160.0"' in html  # 2 of 3 successes on a 240-pixel track
    assert "http://" not in html.split('<div class="portal-dashboard">')[1].split("</svg>")[0]


def _live(user, since):
    """What the interception list's own scope and "result at or after" filter count: the figure must equal it."""
    rows = selectors.interception_list(user).filter(result_at__gte=since)
    return {
        "results": rows.count(),
        "successes": rows.filter(state__in=InterceptionOrder.SUCCESS_STATES).count(),
        "failures": rows.filter(state=InterceptionOrder.State.FAILED).count(),
    }


@pytest.mark.parametrize("on_the_hour", [False, True])
def test_last_24_hours_sum_the_hourly_figures_and_count_the_part_hours_at_either_end(on_the_hour):
    """The dashboard's "results of the last 24 hours" sums the runner's hourly rows for the whole hours and counts
    only the part-hours at either end from the interceptions: exactly what the list holds, whatever the hour, and
    for outlet staff their own outlet's results only."""
    now = timezone.now().replace(minute=0 if on_the_hour else 37, second=0 if on_the_hour else 12)
    since = now - timedelta(hours=24)
    mine, other = factories.active_contract(fee="6.00"), factories.active_contract(carrier_code="zto")
    ages = {
        "before the span": timedelta(hours=24, seconds=1),
        "its first moment": timedelta(hours=24),
        "in its first hour": timedelta(hours=23, minutes=50),
        "a whole hour": timedelta(hours=12),
        "another whole hour": timedelta(hours=11, minutes=59),
        "the hour under way": timedelta(seconds=1),
        "a carrier clock ahead": -timedelta(minutes=2),
    }
    for contract in (mine, other):
        for n, age in enumerate(ages.values()):
            order = factories.intercepted(contract, result="failed" if n % 3 == 0 else "succeeded")
            InterceptionOrder.objects.filter(pk=order.pk).update(result_at=now - age)
    kpis_update()  # the runner's pass writes the hourly rows
    assert HourlyOutletKpi.objects.filter(hour__gt=since, hour__lt=now - timedelta(hours=1)).exists()
    supervisor = factories.user("sup", "Supervisor")
    staff = factories.outlet_staff("staff", mine.outlet)
    client = factories.api_client_for(merchant=mine.merchant)  # the hours mix merchants: counted from the rows
    for user, expected in [(supervisor, 12), (staff, 6), (client, 6)]:  # all but "before the span"
        counted = kpi_selectors.results_since(user, since, now)
        assert counted == _live(user, since) and counted["results"] == expected, user


def test_the_index_lists_each_app_the_role_may_open_once_built(client, monkeypatch):
    """The model index under the dashboard and the sidebar's list are one build a request, the role's own apps."""
    from django.contrib import admin

    builds = []
    real = admin.AdminSite._build_app_dict
    monkeypatch.setattr(admin.AdminSite, "_build_app_dict", lambda *a, **k: builds.append(1) or real(*a, **k))
    client.force_login(factories.outlet_staff("staff", factories.active_contract().outlet))
    response = client.get("/admin/")
    assert len(builds) == 1
    assert response.context["app_list"] is response.context["available_apps"]
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert "Contract" in models and "Statement" in models and "ApiClient" not in models


def test_counts_above_the_cap_read_plus_and_a_scope_of_nothing_reads_zero(client, monkeypatch):
    """The in-flight and window counts stop at COUNT_CAP ("N+"), all in one statement; outlet staff of no outlet
    see zeros, not an error."""
    from portal import dashboard

    monkeypatch.setattr(dashboard, "COUNT_CAP", 1)
    for _ in range(2):
        factories.started()
    supervisor = factories.user("sup", "Supervisor")
    dashboard._in_flight(supervisor, timezone.now())  # the permissions, loaded once per user
    with CaptureQueriesContext(connection) as queries:
        section = dashboard._in_flight(supervisor, timezone.now())
    figures = {f.url.split("?")[1]: f.value for f in section.figures}
    assert figures["state__exact=intercepting"] == "1+"
    assert figures["window=overdue"] == 0
    assert len(queries) == 1
    nobody = factories.outlet_staff("alone")
    assert {f.value for f in dashboard._in_flight(nobody, timezone.now()).figures} == {0}
