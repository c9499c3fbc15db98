"""Races with real threads and real transactions (R11, R14, R15, callbacks)."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from interception import carriers, services
from interception.models import (
    AfterSale,
    CarrierEvent,
    InterceptionOrder,
    TrackingEvent,
)
from kernel import timeline
from kernel.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def race(n, work):
    """Run work(i) in n threads released together; returns what each returned or the DomainError code."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except DomainError as exc:
            results[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_r11_two_starts_on_one_parcel_at_once_make_one_interception():
    first = factories.interceptable()
    second = factories.after_sale_for(first.parcel)
    after_sales = [first, second, first, second]
    results = race(4, lambda i: services.interception_start(after_sale_id=after_sales[i].pk, actor=None).pk)
    assert InterceptionOrder.objects.filter(parcel=first.parcel).count() == 1
    assert sum(isinstance(r, int) for r in results) == 1
    assert set(r for r in results if not isinstance(r, int)) <= {"not_eligible", "interception_exists"}


def test_r14_r17_carrier_success_racing_manual_agree_makes_one_refund():
    for _round in range(3):
        order = factories.started()
        cs = factories.user(f"cs-race-{order.pk}", "Customer service")

        def work(i, order=order, cs=cs):
            if i == 0:
                return services.interception_record_result(
                    order_id=order.pk, actor=None, result="succeeded", source="callback"
                ).state
            return services.aftersale_agree_refund(after_sale_id=order.after_sale_id, actor=cs, reason="客户要求").state

        results = race(2, work)
        order.refresh_from_db()
        after_sale = AfterSale.objects.get(pk=order.after_sale_id)
        assert order.state == "succeeded"
        assert after_sale.state == AfterSale.State.REFUNDED
        assert [e.transition for e in timeline.entries_for(after_sale)].count("refund") == 1
        assert results[0] == "succeeded" and results[1] in ("refunded", "invalid_state")


def test_fifty_copies_of_one_callback_have_one_effect():
    carrier = factories.carrier("jt")
    carrier.callback_secret = "race-secret"
    carrier.save()
    order = factories.started()
    body = json.dumps(
        {
            "event_id": "same-1",
            "type": "interception_result",
            "tracking_number": order.tracking_number,
            "occurred_at": timezone.localtime().isoformat(),
            "result": "succeeded",
        }
    ).encode()
    tracking = TrackingEvent.objects.count()

    def send(i):
        receipt = services.carrier_event_receive(
            carrier_code="jt", body=body, signature=carriers.sign("race-secret", body, time.time())
        )
        return receipt.body.get("duplicate")

    results = race(50, send)
    assert results.count(False) == 1 and results.count(True) == 49
    assert CarrierEvent.objects.filter(event_id="same-1").count() == 1
    order.refresh_from_db()
    assert order.state == "succeeded"
    assert [e.transition for e in timeline.entries_for(order)].count("succeed") == 1
    assert [e.transition for e in timeline.entries_for(order.after_sale)].count("refund") == 1
    assert TrackingEvent.objects.count() == tracking


def test_r15_two_deadline_runners_at_once_apply_each_deadline_once():
    orders = [factories.started() for _ in range(12)]
    later = timezone.now() + timedelta(days=6)
    reports = race(2, lambda i: services.deadlines_process(now=later, batch=5))
    assert sum(r.refunded for r in reports) == 12
    assert sum(r.polled for r in reports) == 12  # each silent interception asked about once, by one runner
    for order in orders:
        after_sale = AfterSale.objects.get(pk=order.after_sale_id)
        assert after_sale.state == AfterSale.State.REFUNDED
        assert [e.transition for e in timeline.entries_for(after_sale)].count("refund") == 1


def test_every_interception_started_at_once_is_handed_to_its_carrier():
    """8 threads × 20 starts: each start submits after its commit, none waits for the runner (R12, R13).

    Locking the carrier's row beside the order's made concurrent submissions skip each other (SKIP LOCKED)
    and leave them requested until the runner came by a minute later.
    """
    after_sales = [factories.interceptable() for _ in range(160)]

    def work(i):
        for after_sale in after_sales[i::8]:
            services.interception_start(after_sale_id=after_sale.pk, actor=None)
        return "ok"

    assert race(8, work) == ["ok"] * 8
    orders = InterceptionOrder.objects.filter(after_sale__in=after_sales)
    assert orders.count() == 160
    assert sorted(set(orders.values_list("state", flat=True))) == ["intercepting"]
    assert not orders.filter(submitted_at__isnull=True).exists()


def test_r11_two_after_sales_naming_the_same_parcels_in_either_order_make_one_set_and_no_deadlock():
    contract = factories.active_contract(platform_code="douyin", carrier_code="jt")
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    first, second = factories.order_parcels(contract)
    after_sales = [
        factories.after_sale_naming([first, second], "DY-R-1"),
        factories.after_sale_naming([second, first], "DY-R-2"),
    ]
    results = race(
        2, lambda i: [o.pk for o in services.interceptions_start(after_sale_id=after_sales[i].pk, actor=None)]
    )
    started = [r for r in results if isinstance(r, list)]
    assert len(started) == 1 and len(started[0]) == 2
    assert set(r for r in results if not isinstance(r, list)) <= {"not_eligible", "interception_exists"}
    assert InterceptionOrder.objects.count() == 2
    assert set(InterceptionOrder.objects.values_list("after_sale", flat=True)) == {
        after_sales[results.index(started[0])].pk
    }
