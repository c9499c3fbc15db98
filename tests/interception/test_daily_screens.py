"""Issue 19: what customer service and outlet staff meet on screen every day (safe defaults, decisions, trails)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from interception import services
from interception.models import AfterSale, Contract
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


def listed(client, url, objects):
    page = client.get(url)
    assert page.status_code == 200, url
    body = page.content.decode()
    return {o.pk for o in objects if f"/{o.pk}/change/" in body}


# --- item 7: safe defaults -------------------------------------------------------------------------------------------


def test_r13_record_a_result_has_no_outcome_chosen_in_advance(client, cs):
    order = factories.started()
    client.force_login(cs)
    url = f"/admin/interception/interceptionorder/{order.pk}/do/result/"
    page = client.get(url).content.decode()
    assert '<option value="" selected>' in page
    assert 'value="succeeded" selected' not in page
    # A careless submit without a choice records nothing (and refunds nobody).
    response = client.post(url, {"note": "电话确认"})
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.state == "intercepting"


def test_outlet_queue_opens_on_pending_applications_oldest_first(client):
    outlet = factories.OutletFactory(code="Q-1")
    staff = factories.outlet_staff("staff_q", outlet)
    older, newer, decided = (factories.apply(factories.contract_setup(outlet=outlet)[0], outlet) for _ in range(3))
    Contract.objects.filter(pk=older.pk).update(applied_at=timezone.now() - timedelta(days=3))
    services.contract_approve(contract_id=decided.pk, actor=None)
    client.force_login(staff)
    body = client.get("/admin/interception/contract/").content.decode()
    assert f"/contract/{decided.pk}/change/" not in body
    assert body.index(f"/contract/{older.pk}/change/") < body.index(f"/contract/{newer.pk}/change/")
    # Everything is one click away, and stays so.
    assert listed(client, "/admin/interception/contract/?state__exact=all", [older, newer, decided]) == {
        older.pk,
        newer.pk,
        decided.pk,
    }
    assert listed(client, "/admin/interception/contract/?state__exact=active", [older, newer, decided]) == {decided.pk}


def test_aftersale_list_opens_on_what_still_needs_work(client, cs):
    waiting = factories.interceptable()
    refunded = factories.after_sale_for(factories.parcel_for(factories.active_contract()))
    services.aftersale_agree_refund(after_sale_id=refunded.pk, actor=None, reason="")
    assert AfterSale.objects.get(pk=refunded.pk).state == AfterSale.State.REFUNDED
    client.force_login(cs)
    assert listed(client, "/admin/interception/aftersale/", [waiting, refunded]) == {waiting.pk}
    assert listed(client, "/admin/interception/aftersale/?state__exact=all", [waiting, refunded]) == {
        waiting.pk,
        refunded.pk,
    }
    assert listed(client, "/admin/interception/aftersale/?state__exact=refunded", [waiting, refunded]) == {refunded.pk}


# --- item 10: a confirmation before starting -------------------------------------------------------------------------


def test_r11_start_asks_to_confirm_the_fee_and_that_it_cannot_be_cancelled(client, cs):
    after_sale = factories.interceptable(fee="5.00")
    client.force_login(cs)
    url = f"/admin/interception/aftersale/{after_sale.pk}/intercept/"
    page = client.get(url).content.decode()
    assert 'name="understood"' in page
    assert "¥5.00" in page and "不能取消" in page
    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 200 and not after_sale.interceptions.exists()
    assert 'class="portal-confirm errors"' in unconfirmed.content.decode()
    confirmed = client.post(url, {"understood": "on"})
    assert confirmed.status_code == 302 and after_sale.interceptions.get().mode == "return_sender"


# --- items 4 and 5: a failed interception shows where the decision is made; the parcel's trail --------------------


def failed_interception(reason_text="收件人已签收，拦截失败"):
    order = factories.started()
    factories.track(order.parcel, "in_transit", text="【杭州转运中心】已发出，下一站【上海】")
    services.interception_record_result(
        order_id=order.pk,
        actor=None,
        result="failed",
        reason_code="delivered",
        reason_text=reason_text,
        source="callback",
    )
    order.refresh_from_db()
    return order


def test_r15_failed_interception_says_decide_before_the_window_ends(client, cs):
    order = failed_interception()
    after_sale = AfterSale.objects.get(pk=order.after_sale_id)
    assert after_sale.state == AfterSale.State.INTERCEPTING
    client.force_login(cs)
    page = client.get(f"/admin/interception/aftersale/{after_sale.pk}/change/").content.decode()
    assert "拦截失败，待决定" in page
    assert "收件人已签收，拦截失败" in page
    ends = timezone.localtime(after_sale.window_ends_at).strftime("%Y-%m-%d %H:%M")
    assert f"请在 {ends} 前决定" in page
    listing = client.get("/admin/interception/aftersale/").content.decode()
    assert "拦截失败，待决定" in listing


def test_r15_needs_a_decision_filter_and_dashboard_count(client, cs):
    failed = failed_interception()
    still = factories.started()
    client.force_login(cs)
    after_sales = [failed.after_sale, still.after_sale]
    assert listed(client, "/admin/interception/aftersale/?state__exact=decide", after_sales) == {failed.after_sale_id}
    dashboard = client.get("/admin/").content.decode()
    assert "拦截失败待决定" in dashboard
    assert "/admin/interception/aftersale/?state__exact=decide" in dashboard
    # Once decided, it leaves the queue.
    services.aftersale_agree_refund(after_sale_id=failed.after_sale_id, actor=None, reason="")
    assert listed(client, "/admin/interception/aftersale/?state__exact=decide", after_sales) == set()


def test_the_parcels_trail_newest_first_and_the_carriers_reason_on_both_pages(client, cs):
    order = failed_interception()
    client.force_login(cs)
    for url in (
        f"/admin/interception/interceptionorder/{order.pk}/change/",
        f"/admin/interception/aftersale/{order.after_sale_id}/change/",
    ):
        page = client.get(url).content.decode()
        trail = page[page.index('class="portal-trail"') :]
        assert "【杭州转运中心】已发出" in trail, url
        # newest first: the transit scan came after the pick-up
        assert trail.index("【杭州转运中心】") < trail.index("已揽收"), url
        assert "收件人已签收，拦截失败" in page, url


# --- item 3: search by order number and by merchant ------------------------------------------------------------------


def test_search_by_order_number_and_merchant_in_parcels_after_sales_and_interceptions(client, cs):
    mine, other = factories.started(), factories.started()
    merchant = mine.merchant
    merchant.name = "羊毛围巾旗舰店"
    merchant.save(update_fields=["name"])
    client.force_login(cs)
    order_number = mine.parcel.order_number
    for url, rows in [
        ("/admin/interception/parcel/", [mine.parcel, other.parcel]),
        ("/admin/interception/aftersale/", [mine.after_sale, other.after_sale]),
        ("/admin/interception/interceptionorder/", [mine, other]),
    ]:
        wanted = {rows[0].pk}
        assert listed(client, f"{url}?q={order_number}", rows) == wanted, url
        assert listed(client, f"{url}?q={merchant.code.lower()}", rows) == wanted, url
        assert listed(client, f"{url}?q=围巾旗舰", rows) == wanted, url
        assert listed(client, f"{url}?q={mine.tracking_number}", rows) == wanted, url


def test_search_by_merchant_in_statements_and_claims(client):
    from decimal import Decimal

    from settlement import services as settlement_services

    finance = factories.user("finance", roles.FINANCE)
    contract = factories.active_contract()
    contract.merchant.name = "江南丝绸店"
    contract.merchant.save(update_fields=["name"])
    factories.intercepted(contract)
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None, merchant=contract.merchant, outlet=contract.outlet, period_start=today, period_end=today
    ).statement
    assert statement.total == Decimal("5.00")
    client.force_login(finance)
    assert listed(client, "/admin/settlement/statement/?q=丝绸", [statement]) == {statement.pk}
    assert listed(client, f"/admin/settlement/statement/?q={contract.merchant.code}", [statement]) == {statement.pk}
    assert listed(client, "/admin/settlement/statement/?q=没有这家", [statement]) == set()


# --- item 8: who confirms a statement, said one way --------------------------------------------------------------


def test_r22_the_outlet_confirms_a_statement_on_the_dashboard_and_the_buttons(client):
    from settlement import services as settlement_services

    contract = factories.active_contract()
    factories.intercepted(contract)
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None, merchant=contract.merchant, outlet=contract.outlet, period_start=today, period_end=today
    ).statement
    settlement_services.statement_issue(statement_id=statement.pk, actor=None)
    client.force_login(factories.user("finance", roles.FINANCE))
    dashboard = client.get("/admin/").content.decode()
    assert "待网点确认" in dashboard and "商家确认" not in dashboard
    client.force_login(factories.outlet_staff("staff_s", contract.outlet))
    page = client.get(f"/admin/settlement/statement/{statement.pk}/change/").content.decode()
    assert "网点确认" in page and "网点提出异议" in page


# --- item 6: Chinese everywhere a person reads -----------------------------------------------------------------------


def test_timeline_says_the_system_in_chinese(client, cs):
    order = factories.started()
    client.force_login(cs)
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    timeline = page[page.index('class="portal-timeline"') :]
    assert "<td>系统</td>" in timeline and "<td>system</td>" not in timeline


def test_role_and_permission_names_are_chinese(admin_client):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name=roles.CUSTOMER_SERVICE)
    listing = admin_client.get("/admin/auth/group/").content.decode()
    assert "客服" in listing and ">Customer service<" not in listing
    page = admin_client.get(f"/admin/auth/group/{group.pk}/change/").content.decode()
    assert "可查看售后单" in page and "Can view after-sale" not in page
    assert "Can start interceptions" not in page


def test_no_rule_numbers_in_the_messages_people_read(client, cs):
    import re

    blocked = factories.after_sale_for(factories.parcel_for(factories.active_contract(), status="signed"))
    order = failed_interception()
    client.force_login(cs)
    for url in (
        f"/admin/interception/aftersale/{blocked.pk}/intercept/",
        f"/admin/interception/interceptionorder/{order.pk}/change/",
        f"/admin/interception/aftersale/{order.after_sale_id}/change/",
        f"/admin/interception/merchant/{order.merchant_id}/change/",
    ):
        page = client.get(url).content.decode()
        assert not re.search(r"[（(]R\d+", page), url


def test_list_titles_and_button_messages_read_naturally(client, cs):
    after_sale = factories.interceptable()
    client.force_login(cs)
    listing = client.get("/admin/interception/aftersale/").content.decode()
    assert "<title>售后单" in listing and "选择售后单" not in listing
    response = client.post(f"/admin/interception/aftersale/{after_sale.pk}/do/close/", {"reason": ""}, follow=True)
    page = response.content.decode()
    assert f"售后单 {after_sale.number} 已关闭：买家已撤销申请。" in page and "已完成。" not in page


def test_the_interception_page_shows_money_as_yuan(client, cs):
    after_sale = factories.interceptable(fee="1234.5")
    client.force_login(cs)
    page = client.get(f"/admin/interception/aftersale/{after_sale.pk}/intercept/").content.decode()
    assert "将收取 ¥1,234.50" in page and "¥99.00" in page and "¥120.00" in page
