"""Bulk interception starts as one set (issue 20 item 4): the same checks and refusals as one by one (R5, R7-R12),
each after-sale judged on its own, one submission batch per carrier after commit."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from interception import services
from interception.models import AfterSale, InterceptionOrder, Merchant
from kernel import timeline
from kernel.errors import DomainError
from portal import roles
from tests import factories


def a_mix():
    """After-sales that a start would take or refuse for many different reasons."""
    eligible = [factories.interceptable(), factories.interceptable(carrier_code="zto")]
    signed = factories.interceptable()
    factories.track(signed.parcel, "signed")
    unsigned = factories.after_sale_for(factories.parcel_for(factories.active_contract()))  # no agreement (R5)
    return_refund = factories.interceptable()
    AfterSale.objects.filter(pk=return_refund.pk).update(kind="return_refund")
    cross_border = factories.interceptable()
    Merchant.objects.filter(pk=cross_border.merchant_id).update(cross_border=True)
    closed = factories.interceptable()
    services.aftersale_close(after_sale_id=closed.pk, actor=None)
    douyin = factories.active_contract(platform_code="douyin", carrier_code="jt")
    services.agreement_sign(merchant=douyin.merchant, platform=douyin.platform, actor=None)
    two_parcels = factories.after_sale_naming(factories.order_parcels(douyin), number="DY-BULK-1")
    return [*eligible, signed, unsigned, return_refund, cross_border, closed, two_parcels]


def expected(after_sale):
    """What the interception page says of the after-sale's parcels: the codes a start refuses with."""
    after_sale = AfterSale.objects.get(pk=after_sale.pk)
    return [p.code for preview in services.interception_previews(after_sale) for p in preview.problems]


@pytest.mark.django_db
def test_r12_bulk_start_refuses_exactly_what_one_by_one_refuses_and_starts_the_rest(django_capture_on_commit_callbacks):
    after_sales = a_mix()
    codes = {a.pk: expected(a) for a in after_sales}
    assert sum(1 for c in codes.values() if not c) == 3  # the two eligible ones and the two-parcel one
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcomes = services.interceptions_start_many(after_sale_ids=[a.pk for a in after_sales], actor=None)
    assert [pk for pk, _orders, _error in outcomes] == [a.pk for a in after_sales]
    for pk, orders, error in outcomes:
        if codes[pk]:
            assert orders is None and error.code == "not_eligible"
            assert [e["code"] for e in error.errors] == codes[pk]
            assert not InterceptionOrder.objects.filter(after_sale=pk).exists()
        else:
            assert error is None
            after_sale = AfterSale.objects.get(pk=pk)
            assert after_sale.state == AfterSale.State.INTERCEPTING and after_sale.window_ends_at is not None
            assert sorted(o.parcel_id for o in orders) == sorted(p.pk for p in after_sale.named_parcels())
            assert [e.transition for e in timeline.entries_for(after_sale)][-1] == "start_interception"
    started = InterceptionOrder.objects.all()
    assert started.count() == 4 and set(started.values_list("via", flat=True)) == {"bulk"}
    # Handed to the carriers after commit, one batch per carrier (jt and zto): every one submitted.
    assert len(callbacks) == 2
    assert set(started.values_list("state", flat=True)) == {InterceptionOrder.State.INTERCEPTING}
    for order in started:
        assert [e.transition for e in timeline.entries_for(order)] == ["request", "submit"]
        assert order.fee == order.contract.fee  # the snapshot (R6)


@pytest.mark.django_db
def test_r11_two_after_sales_of_one_set_naming_one_parcel_make_one_interception():
    first = factories.interceptable()
    second = factories.after_sale_for(first.parcel)
    outcomes = services.interceptions_start_many(after_sale_ids=[first.pk, second.pk], actor=None)
    assert outcomes[0][2] is None
    assert outcomes[1][2].code == "interception_exists"
    assert InterceptionOrder.objects.get().after_sale_id == first.pk


@pytest.mark.django_db
def test_bulk_start_outside_the_actors_scope_is_not_found_and_needs_the_permission(two_outlets):
    after_sale = factories.interceptable()
    staff = two_outlets["staff_a"]
    with pytest.raises(DomainError):
        services.interceptions_start_many(after_sale_ids=[after_sale.pk], actor=staff)
    cs = factories.user("cs-b", roles.CUSTOMER_SERVICE)
    ((pk, orders, error),) = services.interceptions_start_many(after_sale_ids=[10**9], actor=cs)
    assert (pk, orders, error.code) == (10**9, None, "not_found")


@pytest.mark.django_db(transaction=True)
def test_r11_bulk_start_racing_a_start_from_the_page_makes_one_interception():
    for _round in range(3):
        after_sale = factories.interceptable()
        barrier, results = threading.Barrier(2), [None, None]

        def run(i, pk=after_sale.pk):
            try:
                barrier.wait()
                if i == 0:
                    results[i] = services.interceptions_start_many(after_sale_ids=[pk], actor=None)[0][2]
                else:
                    services.interception_start(after_sale_id=pk, actor=None)
            except DomainError as exc:
                results[i] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert InterceptionOrder.objects.filter(after_sale=after_sale).count() == 1
        assert sum(r is None for r in results) == 1  # one of them started it, the other was refused
        assert all(r is None or r.code in {"not_eligible", "interception_exists", "invalid_state"} for r in results)


@pytest.mark.django_db
def test_r12_the_bulk_action_reports_each_after_sale_from_the_set(client):
    from portal import roles

    cs = factories.user("cs", roles.CUSTOMER_SERVICE)
    eligible, blocked = factories.interceptable(), factories.interceptable()
    factories.track(blocked.parcel, "signed")
    client.force_login(cs)
    page = client.post(
        "/admin/interception/aftersale/",
        {"action": "bulk_intercept", "_selected_action": [eligible.pk, blocked.pk], "confirmed": "yes"},
    ).content.decode()
    assert "包裹已签收" in page
    assert InterceptionOrder.objects.get().after_sale_id == eligible.pk
    assert InterceptionOrder.objects.get().requested_by == cs
    assert timezone.now() >= InterceptionOrder.objects.get().requested_at


@pytest.mark.django_db
def test_r3_a_bulk_start_opens_a_default_contract_once_for_the_whole_set():
    from interception.models import Contract

    merchant, outlet = factories.contract_setup(carrier_code="yto", platform_code="kuaishou")
    services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=None)
    after_sales = [
        factories.after_sale_for(factories.parcel_for(Contract(merchant=merchant, outlet=outlet))) for _ in range(3)
    ]
    outcomes = services.interceptions_start_many(after_sale_ids=[a.pk for a in after_sales], actor=None)
    assert all(error is None for _pk, _orders, error in outcomes)
    contract = Contract.objects.get(merchant=merchant, outlet=outlet)
    assert set(InterceptionOrder.objects.values_list("contract", flat=True)) == {contract.pk}
    assert [e.transition for e in timeline.entries_for(contract)] == ["open_by_default"]
