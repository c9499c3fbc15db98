"""Several parcels in one after-sale (Douyin: "可点选需要拦截的快递", issue 19 item 11): one interception per chosen
parcel, the refund when every chosen parcel was intercepted (R14), Kuaishou's multi-parcel limit kept (R10)."""

import pytest
from django.utils import timezone

from interception import services
from interception.models import AfterSale, InterceptionOrder
from kernel.errors import DomainError
from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def douyin(db):
    contract = factories.active_contract(platform_code="douyin", carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    return contract


def record(order, result, **extra):
    services.interception_record_result(
        order_id=order.pk, actor=None, result=result, at=timezone.now(), source="callback", **extra
    )


def test_r12_one_interception_per_parcel_the_after_sale_names(douyin):
    parcels = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming(parcels)
    assert after_sale.named_parcels() == parcels
    orders = services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    assert [o.parcel for o in orders] == parcels
    assert {o.tracking_number for o in orders} == {p.tracking_number for p in parcels}
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.INTERCEPTING


def test_r14_refund_only_once_every_chosen_parcel_was_intercepted(douyin):
    after_sale = factories.after_sale_naming(factories.order_parcels(douyin))
    first, second = services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    record(first, "succeeded")
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.INTERCEPTING  # the second parcel is still on its way to the buyer
    record(second, "succeeded")
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.REFUNDED


def test_r15_r16_one_failed_parcel_leaves_the_decision_to_the_merchant(douyin):
    after_sale = factories.after_sale_naming(factories.order_parcels(douyin))
    first, second = services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    record(first, "failed", reason_code="signed", reason_text="已签收")
    record(second, "succeeded")
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.INTERCEPTING
    # A failed interception allows refusing the refund at once (R16), as for one parcel.
    services.aftersale_refuse(after_sale_id=after_sale.pk, actor=None, reason="第一件已签收")
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.REFUSED


def test_r12_staff_choose_which_parcels_to_intercept(douyin):
    first, second = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming([first, second])
    (order,) = services.interceptions_start(after_sale_id=after_sale.pk, actor=None, parcel_ids=[second.pk])
    assert order.parcel == second
    assert not first.interceptions.exists()
    record(order, "succeeded")
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.REFUNDED  # every chosen parcel was intercepted


def test_r12_a_parcel_the_after_sale_does_not_name_is_refused(douyin):
    parcels = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming(parcels[:1] + parcels[1:])
    stranger = factories.parcel_for(douyin)
    for chosen in ([stranger.pk], []):
        with pytest.raises(DomainError) as exc:
            services.interceptions_start(after_sale_id=after_sale.pk, actor=None, parcel_ids=chosen)
        assert exc.value.code == "parcel_not_named" and exc.value.status == 400
    assert not InterceptionOrder.objects.exists()


def test_r8_r12_all_or_nothing_one_ineligible_parcel_refuses_the_start_and_names_it(douyin):
    first, second = factories.order_parcels(douyin)
    factories.track(second, "signed")
    after_sale = factories.after_sale_naming([first, second])
    with pytest.raises(DomainError) as exc:
        services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    assert exc.value.code == "not_eligible"
    assert [e["code"] for e in exc.value.errors] == ["signed"]
    assert second.tracking_number in exc.value.errors[0]["message"]
    assert not InterceptionOrder.objects.exists()
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.OPEN


def test_r10_kuaishou_keeps_refusing_multi_parcel_orders():
    contract = factories.active_contract(platform_code="kuaishou", carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    after_sale = factories.after_sale_naming(factories.order_parcels(contract), number="KS-AS-1")
    with pytest.raises(DomainError) as exc:
        services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    assert {e["code"] for e in exc.value.errors} == {"multi_parcel_order"}


def test_an_after_sale_names_parcels_of_its_own_order_only(douyin):
    first, second = factories.order_parcels(douyin)
    other_order = factories.parcel_for(douyin)
    for others, code in (([other_order], "parcel_not_in_order"), ([second, second], "parcel_repeated")):
        with pytest.raises(DomainError) as exc:
            services.aftersale_create(
                actor=None, parcel=first, other_parcels=others, number="DY-X", kind="refund_only", amount="1.00"
            )
        assert exc.value.status == 400 and code in [e["code"] for e in exc.value.errors]
        assert exc.value.errors[0]["field"] == "tracking_numbers"
    third = factories.order_parcels(douyin, count=1, order_number="DY-ORDER-1")[0]  # a third parcel of a 2-parcel order
    with pytest.raises(DomainError) as exc:
        services.aftersale_create(
            actor=None, parcel=first, other_parcels=[second, third], number="DY-X", kind="refund_only", amount="1"
        )
    assert [e["code"] for e in exc.value.errors] == ["too_many_parcels"]
    assert not AfterSale.objects.exists()


def test_auto_intercept_takes_every_parcel_the_after_sale_names(douyin):
    douyin.merchant.auto_intercept = True
    douyin.merchant.save()
    parcels = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming(parcels)
    assert sorted(after_sale.interceptions.values_list("parcel", flat=True)) == [p.pk for p in parcels]
    assert set(after_sale.interceptions.values_list("via", flat=True)) == {"auto"}


# --- the API ---------------------------------------------------------------------------------------------------------


def test_api_after_sale_with_several_tracking_numbers_then_intercept_some(api, douyin):
    first, second = factories.order_parcels(douyin)
    client = api(factories.api_client_for(merchant=douyin.merchant))
    response = client.post(
        "/api/v1/after-sales/",
        {
            "number": "DY-API-1",
            "carrier": "jt",
            "tracking_numbers": [first.tracking_number.lower(), second.tracking_number],
            "kind": "refund_only",
            "amount": "60.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tracking_number"] == first.tracking_number
    assert response.json()["tracking_numbers"] == [first.tracking_number, second.tracking_number]
    response = client.post(
        "/api/v1/interceptions/",
        {"after_sale": "DY-API-1", "tracking_numbers": [second.tracking_number]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tracking_number"] == second.tracking_number
    assert [i["tracking_number"] for i in body["interceptions"]] == [second.tracking_number]
    assert list(InterceptionOrder.objects.values_list("parcel", flat=True)) == [second.pk]


def test_api_intercepts_every_named_parcel_by_default_and_lists_them(api, douyin):
    parcels = factories.order_parcels(douyin)
    factories.after_sale_naming(parcels, number="DY-API-2")
    client = api(factories.api_client_for(merchant=douyin.merchant))
    response = client.post("/api/v1/interceptions/", {"after_sale": "DY-API-2"}, format="json")
    assert response.status_code == 201, response.json()
    assert [i["tracking_number"] for i in response.json()["interceptions"]] == [p.tracking_number for p in parcels]


def test_api_unknown_or_unnamed_or_too_many_tracking_numbers_are_400_and_nothing_is_saved(api, douyin):
    first, second = factories.order_parcels(douyin)
    client = api(factories.api_client_for(merchant=douyin.merchant))
    body = {"number": "DY-API-3", "carrier": "jt", "kind": "refund_only", "amount": "1.00"}
    response = client.post("/api/v1/after-sales/", {**body, "tracking_numbers": [first.tracking_number, "JT404"]})
    assert response.status_code == 400 and response.json()["code"] == "parcel_unknown"
    assert "JT404" in response.json()["detail"]
    response = client.post("/api/v1/after-sales/", {**body, "tracking_numbers": ["JT1"] * 21}, format="json")
    assert response.status_code == 400 and "tracking_numbers" in str(response.json())
    response = client.post("/api/v1/after-sales/", body, format="json")
    assert response.status_code == 400 and "tracking_numbers" in str(response.json())
    assert not AfterSale.objects.exists()
    factories.after_sale_naming([first], number="DY-API-4")
    response = client.post(
        "/api/v1/interceptions/",
        {"after_sale": "DY-API-4", "tracking_numbers": [second.tracking_number]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "parcel_not_named"
    assert not InterceptionOrder.objects.exists()


# --- the interception page -------------------------------------------------------------------------------------------


def test_r12_interception_page_lists_each_parcel_with_its_eligibility_and_ticks_the_chosen(client, douyin):
    first, second = factories.order_parcels(douyin)
    third_order = factories.order_parcels(douyin, count=1, order_number="DY-ORDER-2")
    factories.track(second, "signed")
    after_sale = factories.after_sale_naming([first, second])
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    url = f"/admin/interception/aftersale/{after_sale.pk}/intercept/"
    page = client.get(url).content.decode()
    assert first.tracking_number in page and second.tracking_number in page
    assert third_order[0].tracking_number not in page
    assert f'name="parcels" value="{first.pk}" form="intercept-form" checked' in page
    assert f'name="parcels" value="{second.pk}" form="intercept-form" disabled' in page
    assert "包裹已签收" in page  # the second parcel's reason
    response = client.post(url, {"understood": "on", "parcels": [str(first.pk)]})
    assert response.status_code == 302
    assert list(InterceptionOrder.objects.values_list("parcel", flat=True)) == [first.pk]


def test_r12_record_an_after_sale_naming_several_parcels_in_the_admin(client, douyin):
    first, second = factories.order_parcels(douyin)
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    form = {
        "number": "DY-ADMIN-1",
        "carrier": str(first.carrier_id),
        "tracking_number": first.tracking_number,
        "other_tracking_numbers": f"{second.tracking_number.lower()}\nJT404",
        "kind": "refund_only",
        "amount": "60.00",
    }
    page = client.post("/admin/interception/aftersale/add/", form).content.decode()
    assert "JT404" in page and not AfterSale.objects.exists()
    form["other_tracking_numbers"] = second.tracking_number.lower()
    response = client.post("/admin/interception/aftersale/add/", form)
    assert response.status_code == 302
    assert AfterSale.objects.get().named_parcels() == [first, second]


def test_the_after_sale_page_names_the_other_parcels(client, douyin):
    first, second = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming([first, second])
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    page = client.get(f"/admin/interception/aftersale/{after_sale.pk}/change/").content.decode()
    assert "订单的其他包裹" in page and second.tracking_number in page


def test_r15_the_after_sale_page_shows_each_interception_and_a_failed_one_asks_for_the_decision(client, douyin):
    first, second = factories.order_parcels(douyin)
    after_sale = factories.after_sale_naming([first, second])
    one, two = services.interceptions_start(after_sale_id=after_sale.pk, actor=None)
    record(one, "succeeded")
    record(two, "failed", reason_code="signed", reason_text="买家已签收")
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    page = client.get(f"/admin/interception/aftersale/{after_sale.pk}/change/").content.decode()
    assert f"#{one.pk} 拦截成功" in page and f"#{two.pk} 拦截失败" in page
    assert first.tracking_number in page and "买家已签收" in page
    assert "portal-decide" in page  # the decision it waits for, though the other parcel succeeded
    listing = client.get("/admin/interception/aftersale/?state__exact=decide").content.decode()
    assert after_sale.number in listing
