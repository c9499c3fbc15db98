"""The key-figure report (issue 20, item 3): per dimension over any days, trend, sorting, export, scoped, linked."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from claims import services as claim_services
from kpi.rollup import kpis_update
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/admin/kpi/dailykpi/"


@pytest.fixture
def figures(two_outlets):
    """Outlet A: two successes (one of them lost on the way back); outlet B: one success, two failures."""
    a = factories.active_contract(outlet=two_outlets["a"], fee="6.00")
    b = factories.active_contract(outlet=two_outlets["b"], fee="4.00")
    lost = factories.intercepted(a)
    factories.intercepted(a, at=timezone.now() - timedelta(days=8))
    factories.intercepted(b)
    factories.intercepted(b, result="failed")
    factories.intercepted(b, result="failed")
    from interception import services

    for result in ("returning", "lost"):
        services.interception_record_result(order_id=lost.pk, actor=None, result=result, source="callback")
    claim_services.claim_file(actor=factories.user("cs1", roles.CUSTOMER_SERVICE), interception_id=lost.pk, kind="loss")
    kpis_update()
    return two_outlets


def _get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def test_report_per_outlet_sorted_and_each_figure_links_to_its_list(client, figures):
    response = _get(client, factories.user("sup", roles.SUPERVISOR), by="outlet", sort="-results")
    assert response.status_code == 200
    rows = response.context["report"].rows
    assert [r["label"] for r in rows] == ["网点B (B-001)", "网点A (A-001)"]  # most results first
    assert [r["results"] for r in rows] == [3, 2] and rows[1]["return_failed"] == 1
    assert rows[1]["claims_filed"] == 1 and rows[1]["decided"] == 1  # its contract, approved today
    for by in ("outlet", "carrier", "merchant", "platform"):
        for row in _get(client, factories.user(f"sup-{by}", roles.SUPERVISOR), by=by).context["report"].rows:
            for key, url in row["urls"].items():
                listed = client.get(url).context["cl"].result_count
                assert listed == row[key], (by, key, url)
    ascending = _get(client, factories.user("sup2", roles.SUPERVISOR), by="outlet", sort="results").context["report"]
    assert [r["label"] for r in ascending.rows] == ["网点A (A-001)", "网点B (B-001)"]


def test_trend_per_day_and_per_week_is_server_drawn_svg(client, figures):
    user = factories.user("sup", roles.SUPERVISOR)
    daily = _get(client, user, grain="day")
    assert daily.content.decode().count('<rect class="bar"') == 2  # today and eight days ago
    assert sum(p["results"] for p in daily.context["report"].trend) == 5
    weekly = _get(client, user, grain="month", **{"from": f"{timezone.localdate() - timedelta(days=8)}"})
    assert sum(p["results"] for p in weekly.context["report"].trend) == 5


def test_outlet_staff_see_only_their_outlets_in_the_page_and_the_export(client, figures):
    staff_a = figures["staff_a"]
    response = _get(client, staff_a, by="outlet")
    assert [r["label"] for r in response.context["report"].rows] == ["网点A (A-001)"]
    assert "网点B" not in response.content.decode()
    exported = _get(client, staff_a, by="outlet", format="csv")
    assert exported["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [line[0] for line in lines[1:]] == ["网点A (A-001)"] and lines[1][1] == "2"
    # Narrowed to another outlet by hand: still nothing of it.
    other = _get(client, staff_a, by="merchant", outlet=str(figures["b"].pk))
    assert other.context["report"].rows == []


def test_xlsx_export(client, figures):
    response = _get(client, factories.user("sup", roles.SUPERVISOR), by="carrier", format="xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"


@pytest.mark.parametrize(
    "params,field",
    [
        ({"from": "2026-13-01"}, "from"),
        ({"by": "planet"}, "by"),
        ({"outlet": "x1"}, "outlet"),
        ({"sort": "-id"}, "sort"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(client, figures, params, field):
    response = _get(client, factories.user("sup", roles.SUPERVISOR), **params)
    assert response.status_code == 400
    assert field in response.content.decode()


def test_who_may_not_read_interceptions_gets_no_report(client, figures):
    assert _get(client, factories.user("nobody")).status_code == 403
