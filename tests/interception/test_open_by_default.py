"""Kuaishou opens every cooperating YTO outlet by default (R3, Kuaishou FAQ 6.1(2)): a merchant with the outlet's
e-waybill account intercepts there without applying; the first interception opens the contract."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from interception import services
from interception.models import Contract, ContractFee, InterceptionOrder, PlatformCarrier
from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from tests import factories


def yto_after_sale(platform_code="kuaishou", *, sign=True, **parcel_kwargs):
    """An open refund-only after-sale of a parcel at a YTO outlet where the merchant has the e-waybill account
    and no contract."""
    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code=platform_code)
    if sign:
        services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=None)
    return factories.after_sale_for(factories.parcel_for(Contract(merchant=merchant, outlet=outlet), **parcel_kwargs))


def live_contracts(after_sale):
    return Contract.objects.filter(merchant=after_sale.merchant, outlet=after_sale.parcel.outlet)


@pytest.mark.django_db
def test_r3_seeded_terms_open_kuaishou_yto_outlets_by_default_only():
    terms = {
        (t.platform.code, t.carrier.code): t for t in PlatformCarrier.objects.select_related("platform", "carrier")
    }
    assert terms["kuaishou", "yto"].open_by_default
    assert terms["kuaishou", "yto"].default_mode == "offline"  # Kuaishou settles offline only
    assert terms["kuaishou", "yto"].default_fee == Decimal("3.00")
    assert [key for key, t in terms.items() if t.open_by_default] == [("kuaishou", "yto")]


@pytest.mark.django_db
def test_r3_kuaishou_yto_open_by_default_intercepts_without_applying():
    after_sale = yto_after_sale()
    preview = services.interception_preview(after_sale)
    assert preview.eligible and preview.opens_by_default
    assert preview.fee == Decimal("3.00") and not live_contracts(after_sale).exists()  # the preview writes nothing

    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)

    contract = live_contracts(after_sale).get()
    assert contract.state == Contract.State.ACTIVE and order.contract == contract
    assert (contract.settlement_mode, contract.fee, contract.fee_includes_return) == ("offline", Decimal("3.00"), False)
    assert (order.settlement_mode, order.fee) == ("offline", Decimal("3.00"))
    assert list(ContractFee.objects.filter(contract=contract).values_list("fee", flat=True)) == [Decimal("3.00")]
    # The next parcel uses that contract: nothing is opened twice.
    second = factories.after_sale_for(factories.parcel_for(contract))
    assert not services.interception_preview(second).opens_by_default
    services.interception_start(after_sale_id=second.pk, actor=None)
    assert live_contracts(after_sale).count() == 1


@pytest.mark.django_db
def test_r3_timeline_records_the_contract_opened_by_default():
    after_sale = yto_after_sale()
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    services.interception_start(after_sale_id=after_sale.pk, actor=cs)
    contract = live_contracts(after_sale).get()
    (entry,) = timeline.entries_for(contract)
    assert (entry.transition, entry.to_state, entry.actor) == ("open_by_default", "active", cs)
    assert after_sale.number in entry.reason
    assert str(timeline.TRANSITION_LABELS["open_by_default"]) == "默认开通"


@pytest.mark.django_db
def test_r3_douyin_yto_is_not_open_by_default_and_refuses_without_a_contract():
    after_sale = yto_after_sale("douyin")
    preview = services.interception_preview(after_sale)
    assert not preview.opens_by_default
    assert [p.code for p in preview.problems] == ["no_active_contract"]
    with pytest.raises(DomainError) as refused:
        services.interception_start(after_sale_id=after_sale.pk, actor=None)
    assert refused.value.code == "not_eligible"
    assert [e["code"] for e in refused.value.errors] == ["no_active_contract"]
    assert not Contract.objects.exists() and not InterceptionOrder.objects.exists()


@pytest.mark.django_db
def test_r3_r4_a_closed_contract_is_not_reopened_by_default():
    after_sale = yto_after_sale()
    services.interception_start(after_sale_id=after_sale.pk, actor=None)
    contract = live_contracts(after_sale).get()
    services.contract_close(contract_id=contract.pk, actor=None, reason="商家停止合作")
    later = factories.after_sale_for(factories.parcel_for(contract))
    preview = services.interception_preview(later)
    assert not preview.opens_by_default and [p.code for p in preview.problems] == ["no_active_contract"]


@pytest.mark.django_db
def test_r1_r3_without_the_ewaybill_account_nothing_opens():
    after_sale = yto_after_sale()
    after_sale.merchant.ewaybill_accounts.update(active=False)
    preview = services.interception_preview(after_sale)
    assert not preview.opens_by_default
    assert {p.code for p in preview.problems} == {"no_ewaybill", "no_active_contract"}


@pytest.mark.django_db
def test_r3_a_refused_start_opens_no_contract():
    after_sale = yto_after_sale(status="signed")
    with pytest.raises(DomainError):
        services.interception_start(after_sale_id=after_sale.pk, actor=None)
    assert not Contract.objects.exists()


@pytest.mark.django_db
def test_r3_terms_open_by_default_need_no_approval_and_a_fee():
    terms = PlatformCarrier.objects.get(platform__code="kuaishou", carrier__code="zto")
    terms.open_by_default = True
    with pytest.raises(ValidationError) as invalid:
        terms.full_clean()
    assert "open_by_default" in invalid.value.message_dict
    terms.approval_required = False
    with pytest.raises(ValidationError) as invalid:
        terms.full_clean()
    assert "default_fee" in invalid.value.message_dict
    terms.default_fee = Decimal("2.50")
    terms.full_clean()


@pytest.mark.django_db
def test_r3_r19_online_terms_open_at_the_platform_fee_covering_the_return():
    PlatformCarrier.objects.filter(platform__code="douyin", carrier__code="yto").update(
        open_by_default=True, approval_required=False
    )
    after_sale = yto_after_sale("douyin")
    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    assert (order.contract.settlement_mode, order.fee, order.fee_includes_return) == ("online", Decimal("3.00"), True)


@pytest.mark.django_db
def test_r3_interception_page_says_the_contract_opens_by_default_and_its_fee(client):
    after_sale = yto_after_sale()
    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    client.force_login(cs)
    url = f"/admin/interception/aftersale/{after_sale.pk}/intercept/"
    page = client.get(url).content.decode()
    assert 'class="portal-open-by-default"' in page
    assert f"尚未与网点 {after_sale.parcel.outlet} 合作：快手 默认开通 圆通 YTO 的网点" in page
    assert "每单拦截费 ¥3.00（线下结算）" in page
    assert "没有生效的合作" not in page and 'id="start-interception"' in page
    response = client.post(url, {"understood": "on"})
    assert response.status_code == 302
    assert InterceptionOrder.objects.get(after_sale=after_sale).contract.state == Contract.State.ACTIVE
    # Once open, the page shows the contract's fee as for any other contract.
    later = factories.after_sale_for(factories.parcel_for(live_contracts(after_sale).get()))
    page = client.get(f"/admin/interception/aftersale/{later.pk}/intercept/").content.decode()
    assert "portal-open-by-default" not in page and 'id="start-interception"' in page


@pytest.mark.django_db
def test_r3_api_start_opens_the_contract_by_default(api):
    after_sale = yto_after_sale()
    client = api(factories.api_client_for(merchant=after_sale.merchant))
    response = client.post("/api/v1/interceptions/", {"after_sale": after_sale.number}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["fee"] == "3.00" and response.json()["settlement_mode"] == "offline"
    assert response.json()["fee_includes_return"] is False
    contract = live_contracts(after_sale).get()
    listed = client.get("/api/v1/contracts/").json()["results"]
    assert [(c["id"], c["state"]) for c in listed] == [(contract.pk, "active")]


@pytest.mark.django_db(transaction=True)
def test_r3_two_parcels_started_at_once_open_one_contract():
    first = yto_after_sale()
    contract_like = Contract(merchant=first.merchant, outlet=first.parcel.outlet)
    after_sales = [first] + [factories.after_sale_for(factories.parcel_for(contract_like)) for _ in range(3)]
    barrier = threading.Barrier(len(after_sales))
    results = [None] * len(after_sales)

    def run(i):
        try:
            barrier.wait()
            results[i] = services.interception_start(after_sale_id=after_sales[i].pk, actor=None).pk
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(after_sales))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, int) for r in results), results
    contract = live_contracts(first).get()
    assert set(InterceptionOrder.objects.values_list("contract", flat=True)) == {contract.pk}
    assert [e.transition for e in timeline.entries_for(contract)] == ["open_by_default"]
