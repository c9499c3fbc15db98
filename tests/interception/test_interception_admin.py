"""Customer service's screens: the interception page, bulk start, buttons, the big list and its export (R12-R20)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interception import services
from interception.models import AfterSale, InterceptionAgreement, InterceptionOrder
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def cs(db):
    return factories.user("cs", roles.CUSTOMER_SERVICE)


def aftersale_url(after_sale, suffix="change/"):
    return f"/admin/interception/aftersale/{after_sale.pk}/{suffix}"


def test_r12_interception_page_shows_facts_fee_and_every_reason(client, cs):
    eligible = factories.interceptable(fee="4.50")
    client.force_login(cs)
    page = client.get(aftersale_url(eligible, "intercept/")).content.decode()
    assert eligible.parcel.tracking_number in page and "羊毛围巾" in page
    assert "4.50" in page and 'id="start-interception"' in page
    blocked = factories.after_sale_for(factories.parcel_for(factories.active_contract(), status="signed"))
    page = client.get(aftersale_url(blocked, "intercept/")).content.decode()
    assert 'id="start-interception"' not in page
    # Every reason in words; the codes are the API's, not the page's.
    assert "包裹已签收" in page and "尚未在" in page and "签署拦截服务协议" in page
    assert "没有生效的合作" not in page
    assert "<code>" not in page and "✘ agreement_not_signed" not in page


def test_r12_start_from_the_interception_page(client, cs):
    after_sale = factories.interceptable()
    client.force_login(cs)
    # A plain confirmed POST, no mode chosen: back to the sender.
    response = client.post(aftersale_url(after_sale, "intercept/"), {"understood": "on"})
    order = InterceptionOrder.objects.get(after_sale=after_sale)
    assert order.mode == "return_sender"
    assert response.status_code == 302 and response["Location"].endswith(f"/interceptionorder/{order.pk}/change/")
    assert order.via == "manual" and order.requested_by == cs


def test_r12_bulk_start_confirms_then_reports_each_after_sale(client, cs):
    ok = factories.interceptable()
    refused = factories.after_sale_for(factories.parcel_for(factories.active_contract(), status="signed"))
    client.force_login(cs)
    ids = [ok.pk, refused.pk]
    confirm = client.post("/admin/interception/aftersale/", {"action": "bulk_intercept", "_selected_action": ids})
    assert confirm.status_code == 200 and not InterceptionOrder.objects.exists()
    result = client.post(
        "/admin/interception/aftersale/", {"action": "bulk_intercept", "_selected_action": ids, "confirmed": "yes"}
    )
    body = result.content.decode()
    assert InterceptionOrder.objects.get().after_sale_id == ok.pk
    assert InterceptionOrder.objects.get().via == "bulk"
    assert "包裹已签收" in body  # the refused row says why, in words
    assert "（R8）" not in body and "(R8)" not in body


def test_r16_refuse_button_is_hidden_too_early_and_a_forged_post_is_refused(client, cs):
    order = factories.started()
    client.force_login(cs)
    page = client.get(aftersale_url(order.after_sale)).content.decode()
    assert "/do/agree/" in page and "/do/platform/" in page and "/do/refuse/" not in page
    response = client.post(aftersale_url(order.after_sale, "do/refuse/"), {"reason": "不退"}, follow=True)
    assert "只有拦截失败" in response.content.decode()
    order.after_sale.refresh_from_db()
    assert order.after_sale.state == AfterSale.State.INTERCEPTING


def test_r15_countdown_on_list_and_change_page(client, cs):
    order = factories.started()
    client.force_login(cs)
    for url in [
        "/admin/interception/aftersale/",
        aftersale_url(order.after_sale),
        "/admin/interception/interceptionorder/",
    ]:
        page = client.get(url).content.decode()
        assert "4d 23h" in page or "4天23小时" in page, url


def test_r13_staff_record_a_result_by_phone(client, cs):
    order = factories.started()
    client.force_login(cs)
    url = f"/admin/interception/interceptionorder/{order.pk}/do/result/"
    assert url in client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    client.post(url, {"result": "succeeded", "note": "电话确认 网点李四 10:20"})
    order.refresh_from_db()
    order.after_sale.refresh_from_db()
    assert (order.state, order.result_source) == ("succeeded", "manual")
    assert order.after_sale.state == AfterSale.State.REFUNDED


def test_cs_records_an_after_sale_in_the_admin(client, cs):
    contract = factories.active_contract()
    parcel = factories.parcel_for(contract)
    client.force_login(cs)
    response = client.post(
        "/admin/interception/aftersale/add/",
        {
            "number": "KS-ADMIN-1",
            "carrier": parcel.carrier_id,
            "tracking_number": parcel.tracking_number.lower(),
            "kind": "refund_only",
            "amount": "12.00",
            "reason": "",
        },
    )
    after_sale = AfterSale.objects.get(number="KS-ADMIN-1")
    assert response.status_code == 302 and response["Location"].endswith("/intercept/")
    missing = client.post(
        "/admin/interception/aftersale/add/",
        {
            "number": "KS-ADMIN-2",
            "carrier": parcel.carrier_id,
            "tracking_number": "NOPE",
            "kind": "refund_only",
            "amount": "12.00",
        },
    )
    assert missing.status_code == 200 and not AfterSale.objects.filter(number="KS-ADMIN-2").exists()
    assert after_sale.parcel == parcel


@pytest.fixture
def records(db):
    one = factories.started()
    two = factories.started()
    services.interception_record_result(
        order_id=two.pk,
        actor=None,
        result="failed",
        reason_code="signed",
        reason_text='=HYPERLINK("http://x")',
        source="callback",
    )
    return one, two


def test_interception_list_filters_and_search(client, cs, records):
    one, two = records
    client.force_login(cs)

    def listed(query):
        page = client.get(f"/admin/interception/interceptionorder/?{query}")
        assert page.status_code == 200, query
        body = page.content.decode()
        return {o.pk for o in (one, two) if f"/interceptionorder/{o.pk}/change/" in body}

    assert listed("state__exact=failed") == {two.pk}
    assert listed(f"carrier__id__exact={one.carrier_id}&settlement_mode__exact=offline") == {one.pk, two.pk}
    assert listed(f"outlet__id__exact={one.outlet_id}") == {one.pk}
    assert listed(f"q={one.tracking_number}") == {one.pk}
    assert listed(f"q={one.tracking_number[:3]}") == {one.pk, two.pk}
    today = timezone.localdate().isoformat()
    assert listed(f"requested_at__range__gte={today}&requested_at__range__lte={today}") == {one.pk, two.pk}
    assert listed("requested_at__range__gte=2999-01-01") == set()


def test_interception_list_renders_in_few_queries(client, cs, records, django_assert_max_num_queries):
    """A full page of 50 rows costs the queries of a page of 5: a query per row would show."""
    client.force_login(cs)
    client.get("/admin/interception/interceptionorder/")  # warm the session and content-type caches

    def queries_of_a_page():
        with CaptureQueriesContext(connection) as page:
            response = client.get("/admin/interception/interceptionorder/?state__exact=intercepting")
        assert response.status_code == 200
        return len(page), response.content.decode().count("/change/")

    for _ in range(4):
        factories.started()
    few, rows_few = queries_of_a_page()
    for _ in range(50):
        factories.started()
    many, rows_many = queries_of_a_page()
    assert (rows_few, rows_many) == (5, 50)
    assert many == few <= 10


def test_r20_export_streams_the_filtered_records_with_cells_made_safe(client, cs, records):
    one, two = records
    client.force_login(cs)
    response = client.get("/admin/interception/interceptionorder/export/?settlement_mode__exact=offline")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 3 and one.tracking_number in text and two.tracking_number in text
    assert "5.00" in text
    online = b"".join(
        client.get("/admin/interception/interceptionorder/export/?settlement_mode__exact=online").streaming_content
    ).decode("utf-8-sig")
    assert len(online.strip().splitlines()) == 1


def test_outlet_a_cannot_reach_outlet_b_interceptions(client, records):
    one, two = records
    staff = factories.outlet_staff("outlet-a", one.outlet)
    client.force_login(staff)
    page = client.get("/admin/interception/interceptionorder/").content.decode()
    assert f"/interceptionorder/{one.pk}/change/" in page and f"/interceptionorder/{two.pk}/change/" not in page
    assert client.get(f"/admin/interception/interceptionorder/{two.pk}/change/").status_code == 302
    assert (
        client.post(
            f"/admin/interception/interceptionorder/{two.pk}/do/result/", {"result": "succeeded", "note": "x"}
        ).status_code
        == 404
    )
    export = b"".join(client.get("/admin/interception/interceptionorder/export/").streaming_content).decode()
    assert one.tracking_number in export and two.tracking_number not in export
    assert client.get(f"/admin/interception/interceptionorder/?outlet__id__exact={two.outlet_id}").status_code == 200
    assert (
        two.tracking_number
        not in client.get(f"/admin/interception/interceptionorder/?outlet__id__exact={two.outlet_id}").content.decode()
    )
    assert client.get("/admin/interception/aftersale/").status_code == 403
    assert client.get(f"/admin/interception/aftersale/{one.after_sale_id}/intercept/").status_code == 404
    parcels = client.get("/admin/interception/parcel/").content.decode()
    assert one.tracking_number in parcels and two.tracking_number not in parcels


def test_buyer_withdrawal_closes_an_open_after_sale_and_blocks_interception(client, cs):
    after_sale = factories.interceptable()
    client.force_login(cs)
    assert "/do/close/" in client.get(aftersale_url(after_sale)).content.decode()
    client.post(aftersale_url(after_sale, "do/close/"), {"reason": "买家撤销申请"})
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.CLOSED
    assert [p.code for p in services.interception_preview(after_sale).problems] == ["after_sale_closed"]


def _unsigned_after_sale():
    """Eligible in every way but the merchant's interception agreement (R5)."""
    return factories.after_sale_for(factories.parcel_for(factories.active_contract()))


def test_r5_the_first_interception_offers_to_sign_the_agreement_and_intercept(client, cs):
    after_sale = _unsigned_after_sale()
    client.force_login(cs)
    page = client.get(aftersale_url(after_sale, "intercept/")).content.decode()
    assert 'name="sign_agreement"' in page and "签署协议并拦截" in page
    response = client.post(aftersale_url(after_sale, "intercept/"), {"understood": "on", "sign_agreement": "yes"})
    order = InterceptionOrder.objects.get(after_sale=after_sale)
    assert response.status_code == 302 and order.state in ("requested", "intercepting")
    assert InterceptionAgreement.objects.filter(merchant=after_sale.merchant, platform=after_sale.platform).exists()


def test_r5_without_the_offer_an_unsigned_merchant_is_still_refused(client, cs):
    after_sale = _unsigned_after_sale()
    client.force_login(cs)
    client.post(aftersale_url(after_sale, "intercept/"), {"understood": "on"})
    assert not InterceptionOrder.objects.filter(after_sale=after_sale).exists()
    assert not InterceptionAgreement.objects.filter(merchant=after_sale.merchant).exists()


def test_r5_the_offer_is_not_made_when_another_check_fails_too(client, cs):
    after_sale = factories.after_sale_for(factories.parcel_for(factories.active_contract(), status="signed"))
    client.force_login(cs)
    page = client.get(aftersale_url(after_sale, "intercept/")).content.decode()
    assert 'name="sign_agreement"' not in page and 'id="start-interception"' not in page
