"""Issue 19: each role's screens at 1440×900 and on a 390×844 phone: no page wider than the screen, the lists'
deciding columns in view, dashboard tables that do not squeeze names, the title clear of the language switch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from interception import services
from kpi.rollup import kpis_update
from portal import roles
from settlement import services as settlement_services
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-12345!"  # factories.user's
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def day(db):
    """A day's data: interceptions in flight and failed, applications waiting, a statement issued."""
    contract = factories.active_contract(fee="4.50")
    contract.merchant.name = "杭州羊毛围巾旗舰店（官方直营）"
    contract.merchant.save(update_fields=["name"])
    contract.outlet.name = "浙江省杭州市西湖区文三路营业部"
    contract.outlet.save(update_fields=["name"])
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    for _ in range(3):
        factories.started(factories.after_sale_for(factories.parcel_for(contract)))
    factories.intercepted(contract)
    factories.intercepted(contract, result="failed")
    pending = factories.apply(factories.contract_setup(outlet=contract.outlet)[0], contract.outlet)
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        period_start=today - timedelta(days=1),
        period_end=today,
    ).statement
    settlement_services.statement_issue(statement_id=statement.pk, actor=None)
    factories.user("cs_l", roles.CUSTOMER_SERVICE)
    factories.user("fin_l", roles.FINANCE)
    factories.outlet_staff("outlet_l", contract.outlet)
    kpis_update()  # the runner's pass: the dashboard's carrier and outlet tables read the key figures
    return {"contract": contract, "pending": pending, "statement": statement}


def _open(browser, live_server, viewport, username):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30_000)  # the suite runs beside others on two cores
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return context, page


def _no_sideways_scroll(page):
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] + 1, f"{page.url}: {widths[0]} px wide on a {widths[1]} px screen"


def _in_view(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{page.url}: no {selector}"
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, f"{page.url}: {selector} ends at {box}"


def _shot(page, request, name):
    from tests.e2e.conftest import SHOTS

    folder = SHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_lists_show_their_deciding_columns_at_1440(browser, live_server, day, request):
    context, page = _open(browser, live_server, DESKTOP, "cs_l")
    page.goto(live_server.url + "/admin/interception/interceptionorder/")
    _shot(page, request, "cs-interceptions")
    _no_sideways_scroll(page)
    for column in ("state", "window", "requested_at"):
        _in_view(page, f"#result_list th.column-{column}")
    page.goto(live_server.url + "/admin/interception/aftersale/")
    _no_sideways_scroll(page)
    _in_view(page, "#result_list th.column-window")
    context.close()

    context, page = _open(browser, live_server, DESKTOP, "fin_l")
    page.goto(live_server.url + "/admin/settlement/statement/")
    _shot(page, request, "finance-statements")
    _no_sideways_scroll(page)
    for column in ("total_yuan", "issued_at"):
        _in_view(page, f"#result_list th.column-{column}")
    context.close()

    context, page = _open(browser, live_server, DESKTOP, "outlet_l")
    page.goto(live_server.url + "/admin/interception/contract/")
    _shot(page, request, "outlet-contracts")
    _no_sideways_scroll(page)
    _in_view(page, "#result_list th.column-waiting")
    context.close()


def test_dashboard_tables_keep_names_on_one_line(browser, live_server, day, request):
    context, page = _open(browser, live_server, DESKTOP, "cs_l")
    _shot(page, request, "cs-dashboard")
    _no_sideways_scroll(page)
    cells = page.locator(".portal-card table tbody th, .portal-card table tbody td:first-child")
    assert cells.count() > 0
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box["width"] >= 80, f"a name squeezed to {box['width']} px: {cells.nth(i).inner_text()}"
        assert box["height"] < 60, f"a name over several lines: {cells.nth(i).inner_text()}"
    assert page.locator("#dashboard-outlets table").count() == 1  # the long outlet name is in a table
    for chart in page.locator(".portal-chart").all():
        assert chart.bounding_box()["width"] <= 560, "a chart blown up to the card's width"
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 3000, f"the dashboard is {height} px tall"
    context.close()


def test_outlet_staff_approve_on_a_phone(browser, live_server, day, request):
    context, page = _open(browser, live_server, PHONE, "outlet_l")
    _shot(page, request, "phone-dashboard")
    _no_sideways_scroll(page)
    title = page.locator("#site-name a").bounding_box()
    switch = page.locator(".portal-language").bounding_box()
    gap = 8  # clear of it, not touching
    overlaps = not (
        title["x"] + title["width"] + gap <= switch["x"]
        or switch["x"] + switch["width"] + gap <= title["x"]
        or title["y"] + title["height"] <= switch["y"]
        or switch["y"] + switch["height"] <= title["y"]
    )
    assert not overlaps, f"the title {title} runs under the language switch {switch}"
    page.goto(live_server.url + "/admin/interception/contract/")
    _shot(page, request, "phone-queue")
    _no_sideways_scroll(page)
    _in_view(page, "#result_list th.column-waiting")
    pending = day["pending"]
    page.goto(live_server.url + f"/admin/interception/contract/{pending.pk}/change/")
    _shot(page, request, "phone-application")
    _no_sideways_scroll(page)
    page.click(f"a[href$='/contract/{pending.pk}/do/approve/']")
    _no_sideways_scroll(page)
    page.click("input[type=submit].default")
    page.wait_for_url(f"**/contract/{pending.pk}/change/")
    _shot(page, request, "phone-approved")
    pending.refresh_from_db()
    assert pending.state == "active"
    page.goto(live_server.url + "/admin/interception/contract/?state__exact=all")
    _no_sideways_scroll(page)
    context.close()
