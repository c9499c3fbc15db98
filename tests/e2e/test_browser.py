"""Three daily journeys in a real browser, in the Chinese UI (issue 7)."""

import time
import urllib.request
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interception import resources
from interception.carriers import sandbox, sign
from interception.models import AfterSale, Carrier, Contract, InterceptionOrder
from portal import roles
from settlement.models import Statement
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "pw-12345!"  # factories.user's


def _wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server")
        time.sleep(0.1)


def _carrier_calls_back(base_url, order):
    """The sandbox carrier's due callbacks, sent over HTTP and signed, as a real carrier would."""
    order.refresh_from_db()
    now = timezone.now()
    bodies = sandbox.due_messages(order, now)
    assert bodies, "the sandbox has nothing due"
    for body in bodies:
        request = urllib.request.Request(
            f"{base_url}/api/v1/carriers/{order.carrier.code}/events/",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Signature": sign(order.carrier.callback_secret, body, now.timestamp()),
            },
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200


def test_customer_service_intercepts_and_sees_success_and_refund(steps, settings, live_server):
    settings.SANDBOX_SUCCESS_RATE = 1.0
    settings.SANDBOX_DELAY_SECONDS = (0.0, 0.0)
    after_sale = factories.interceptable()
    carrier = Carrier.objects.get(pk=after_sale.parcel.carrier_id)
    carrier.callback_secret, carrier.adapter = "e2e-secret", "sandbox"
    carrier.save()
    factories.user("cs_e2e", roles.CUSTOMER_SERVICE)
    page = steps.page

    steps.login("cs_e2e", PASSWORD)
    expect(page.locator("#dashboard-in_flight")).to_contain_text("在途拦截")
    steps.shot("dashboard")
    steps.go(f"/admin/interception/aftersale/{after_sale.pk}/change/")
    steps.shot("after-sale")
    page.click(f"a[href$='/aftersale/{after_sale.pk}/intercept/']")
    expect(page.locator(".portal-ok")).to_be_visible()
    expect(page.locator(".portal-fee")).to_contain_text("5.00")
    steps.shot("interception-page")
    page.check("#id_understood")
    page.click("#start-interception")
    page.wait_for_url("**/admin/interception/interceptionorder/*/change/")
    steps.shot("interception-started")

    order = InterceptionOrder.objects.get(after_sale=after_sale)
    _wait_for(lambda: InterceptionOrder.objects.get(pk=order.pk).state == InterceptionOrder.State.INTERCEPTING)
    _carrier_calls_back(live_server.url, order)
    page.reload()
    expect(page.locator(".field-state")).to_contain_text("拦截成功")
    steps.shot("interception-succeeded")
    steps.go(f"/admin/interception/aftersale/{after_sale.pk}/change/")
    expect(page.locator(".field-situation")).to_contain_text("已退款")
    steps.shot("after-sale-refunded")
    assert AfterSale.objects.get(pk=after_sale.pk).state == AfterSale.State.REFUNDED
    assert not steps.problems, steps.problems


def test_outlet_staff_approve_through_the_decision_file(steps, tmp_path):
    merchant, outlet = factories.contract_setup()
    contract = factories.apply(merchant, outlet, fee="4.50")
    assert contract.state == Contract.State.PENDING
    factories.outlet_staff("outlet_e2e", outlet)
    page = steps.page

    steps.login("outlet_e2e", PASSWORD)
    steps.shot("dashboard")
    steps.go("/admin/interception/contract/?state__exact=pending")
    expect(page.locator("#result_list")).to_contain_text(merchant.name)
    steps.shot("pending-applications")
    with page.expect_download() as download:
        page.click("a[href$='/contract/decisions/export/?format=xlsx']")
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)

    book = openpyxl.load_workbook(exported)
    sheet = book.active
    header = [resources.column_for(cell.value) for cell in sheet[1]]  # the file says them in Chinese
    rows = [row for row in sheet.iter_rows(min_row=2) if row[header.index("id")].value == contract.pk]
    assert len(rows) == 1
    rows[0][header.index("decision")].value = "通过"
    decided = tmp_path / "decisions.xlsx"
    book.save(decided)

    page.click("a[href$='/contract/decisions/import/']")
    page.set_input_files("input[type=file]", str(decided))
    steps.shot("upload")
    page.click("form[enctype] input[type=submit]")
    expect(page.locator(".portal-preview")).to_contain_text(str(contract.pk))
    steps.shot("preview")
    assert Contract.objects.get(pk=contract.pk).state == Contract.State.PENDING  # nothing applied before confirming
    page.click("input[name=confirm]")
    expect(page.locator(".messagelist")).to_be_visible()
    steps.shot("applied")
    assert Contract.objects.get(pk=contract.pk).state == Contract.State.ACTIVE
    assert not steps.problems, steps.problems


def test_finance_generates_issues_and_downloads_a_statement(steps, tmp_path):
    contract = factories.active_contract(fee="7.00")
    last_month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
    at = timezone.make_aware(datetime.combine(last_month_end.replace(day=15), datetime.min.time()))
    orders = [factories.intercepted(contract, at=at + timedelta(hours=n)) for n in range(2)]
    factories.user("finance_e2e", roles.FINANCE)
    page = steps.page

    steps.login("finance_e2e", PASSWORD)
    steps.shot("dashboard")
    steps.go("/admin/settlement/statement/")
    page.click("a[href$='/statement/generate/']")
    expect(page.locator("#id_period_start")).to_have_value(last_month_end.replace(day=1).isoformat())
    steps.shot("generate-form")
    page.click("input[type=submit]")
    statement = Statement.objects.get(merchant=contract.merchant, outlet=contract.outlet)
    page.click(f"a[href$='/statement/{statement.pk}/change/']")
    expect(page.locator(".field-state")).to_contain_text("草稿")
    steps.shot("draft")
    page.click(f"a[href$='/statement/{statement.pk}/do/issue/']")
    steps.shot("issue-confirm")
    page.click("input[type=submit].default")
    expect(page.locator(".field-state")).to_contain_text("已发出")
    steps.shot("issued")
    with page.expect_download() as download:
        page.click(f"a[href$='/statement/{statement.pk}/export/csv/']")
    path = tmp_path / "statement.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    tracking = {o.tracking_number for o in orders}
    assert all(t in text for t in tracking)
    assert "14.00" in text  # the total of two 7.00 fees
    assert Statement.objects.get(pk=statement.pk).state == Statement.State.ISSUED
    assert not steps.problems, steps.problems


def test_customer_service_sees_a_result_appear_without_reloading(steps, settings, live_server):
    """Lists that refresh (issue 18): the list of interceptions in flight says a result came, under the CSP."""
    settings.SANDBOX_SUCCESS_RATE = 0.0  # the carrier reports a failure: a decision is needed
    settings.SANDBOX_DELAY_SECONDS = (0.0, 0.0)
    settings.LIST_REFRESH_SECONDS = 1
    after_sale = factories.interceptable()
    carrier = Carrier.objects.get(pk=after_sale.parcel.carrier_id)
    carrier.callback_secret, carrier.adapter = "e2e-secret", "sandbox"
    carrier.save()
    order = factories.started(after_sale)
    factories.user("cs_e2e", roles.CUSTOMER_SERVICE)
    page = steps.page

    steps.login("cs_e2e", PASSWORD)
    steps.go("/admin/interception/interceptionorder/?state__exact=intercepting")
    expect(page.locator("#result_list")).to_contain_text(order.tracking_number)
    banner = page.locator("#portal-refresh")
    expect(banner).to_be_hidden()
    page.evaluate("window.drawnAt = 'this page'")  # gone if the page reloads
    steps.shot("in-flight")

    _carrier_calls_back(live_server.url, order)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 条新结果，刷新")
    assert page.evaluate("window.drawnAt") == "this page"  # it came without a reload
    steps.shot("a-result-came")
    banner.locator("a").click()
    page.wait_for_load_state()
    expect(page.locator("#changelist")).not_to_contain_text(order.tracking_number)  # no longer in flight
    expect(page.locator("#portal-refresh")).to_be_hidden()
    steps.shot("refreshed")
    assert InterceptionOrder.objects.get(pk=order.pk).state == InterceptionOrder.State.FAILED
    assert not steps.problems, steps.problems
