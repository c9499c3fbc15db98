"""R6, R11-R18 through the services: start, results, the after-sale outcome, windows and deadlines."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from interception import carriers, services
from interception.models import AfterSale, InterceptionOrder, Merchant
from kernel import timeline
from kernel.errors import DomainError
from tests import factories

pytestmark = pytest.mark.django_db


def transitions(obj):
    return [e.transition for e in timeline.entries_for(obj)]


def test_r12_start_snapshots_the_fee_and_submits_after_commit(django_capture_on_commit_callbacks):
    after_sale = factories.interceptable(fee="6.50")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    assert len(callbacks) == 1
    order.refresh_from_db()
    after_sale.refresh_from_db()
    assert order.state == InterceptionOrder.State.INTERCEPTING
    assert order.carrier_ref.startswith("SBX")
    assert (order.fee, order.settlement_mode, order.charge_on_success, order.charge_on_failure) == (
        Decimal("6.50"),
        "offline",
        True,
        False,
    )
    assert order.tracking_number == after_sale.parcel.tracking_number
    assert after_sale.state == AfterSale.State.INTERCEPTING
    assert after_sale.window_ends_at == after_sale.intercepting_since + timedelta(days=5)
    assert transitions(order) == ["request", "submit"]
    assert "start_interception" in transitions(after_sale)


def test_r12_refused_start_names_every_problem_and_creates_nothing():
    after_sale = factories.interceptable()
    factories.track(after_sale.parcel, "signed")
    Merchant.objects.filter(pk=after_sale.merchant_id).update(cross_border=True)
    with pytest.raises(DomainError) as exc:
        services.interception_start(after_sale_id=after_sale.pk, actor=None)
    assert exc.value.code == "not_eligible" and exc.value.status == 422
    assert [e["code"] for e in exc.value.errors] == ["signed", "cross_border_merchant"]
    assert not InterceptionOrder.objects.exists()
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.OPEN


def test_r9_no_active_contract_and_r5_agreement_with_real_rows():
    contract = factories.active_contract()
    parcel = factories.parcel_for(contract)
    after_sale = factories.after_sale_for(parcel)
    services.contract_close(contract_id=contract.pk, actor=None, reason="停止合作")
    preview = services.interception_preview(after_sale)
    assert [p.code for p in preview.problems] == ["no_active_contract", "agreement_not_signed"]
    assert not preview.eligible


def test_r10_kuaishou_limits_with_real_rows():
    after_sale = factories.interceptable(category="fresh", parcels_in_order=2)
    assert [p.code for p in services.interception_preview(after_sale).problems] == [
        "goods_category_blocked",
        "multi_parcel_order",
    ]


def test_r11_second_start_on_the_parcel_is_refused_and_nothing_cancels_an_interception():
    order = factories.started()
    other = factories.after_sale_for(order.parcel)
    with pytest.raises(DomainError) as exc:
        services.interception_start(after_sale_id=other.pk, actor=None)
    assert "interception_exists" in [e["code"] for e in exc.value.errors]
    names = {t.name for t in order.get_available_state_transitions()}
    assert names == {"succeed", "fail"}
    assert not any(
        "cancel" in t.name for t in InterceptionOrder._meta.get_field("state").get_all_transitions(InterceptionOrder)
    )


def test_r11_a_second_start_on_the_same_after_sale_gives_only_the_true_reason():
    order = factories.started()
    with pytest.raises(DomainError) as exc:
        services.interception_start(after_sale_id=order.after_sale_id, actor=None)
    assert [e["code"] for e in exc.value.errors] == ["interception_exists"]


def test_r11_after_a_failure_the_parcel_can_be_intercepted_again_from_a_new_after_sale():
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", reason_code="signed", reason_text="已签收", source="callback"
    )
    factories.track(order.parcel, "in_transit")
    fresh = factories.after_sale_for(order.parcel)
    assert services.interception_preview(fresh).eligible


def test_r6_fee_change_after_start_does_not_change_the_snapshot():
    order = factories.started(fee="5.00")
    amendment = services.contract_amend_fee(contract_id=order.contract_id, new_fee="8.00", actor=None)
    services.amendment_approve(amendment_id=amendment.pk, actor=None)
    order.refresh_from_db()
    assert order.fee == Decimal("5.00")
    later = factories.started(factories.after_sale_for(factories.parcel_for(order.contract)))
    assert later.fee == Decimal("8.00")


def test_r13_r14_success_refunds_the_after_sale_and_the_return_leg_follows():
    order = factories.started()
    services.interception_record_result(order_id=order.pk, actor=None, result="succeeded", source="callback")
    order.refresh_from_db()
    after_sale = order.after_sale
    after_sale.refresh_from_db()
    assert order.state == "succeeded" and order.chargeable
    assert after_sale.state == AfterSale.State.REFUNDED
    entry = [e for e in timeline.entries_for(after_sale) if e.transition == "refund"][0]
    assert entry.actor_label == "system" and entry.reason == "interception succeeded: refunded automatically"
    services.interception_record_result(order_id=order.pk, actor=None, result="returning", source="callback")
    services.interception_record_result(order_id=order.pk, actor=None, result="damaged", source="callback")
    order.refresh_from_db()
    assert (order.state, order.return_loss) == ("return_failed", "damaged")


def test_r13_failure_keeps_the_carriers_reason_and_is_not_chargeable_by_default():
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk,
        actor=None,
        result="failed",
        reason_code="out_for_delivery",
        reason_text="快件已派送",
        source="callback",
    )
    order.refresh_from_db()
    assert (order.state, order.failure_code, order.failure_text, order.chargeable) == (
        "failed",
        "out_for_delivery",
        "快件已派送",
        False,
    )
    assert order.after_sale.state == AfterSale.State.INTERCEPTING


def test_r13_staff_result_by_phone_needs_a_note_and_the_permission():
    order = factories.started()
    cs = factories.user("cs1", "Customer service")
    outlet_user = factories.outlet_staff("o1", order.outlet)
    with pytest.raises(DomainError) as exc:
        services.interception_record_result(order_id=order.pk, actor=cs, result="succeeded")
    assert exc.value.code == "note_required"
    with pytest.raises(DomainError) as exc:
        services.interception_record_result(order_id=order.pk, actor=outlet_user, result="succeeded", note="电话")
    assert exc.value.code == "forbidden"
    services.interception_record_result(order_id=order.pk, actor=cs, result="succeeded", note="电话确认：网点张三")
    order.refresh_from_db()
    assert (order.state, order.result_source, order.note) == ("succeeded", "manual", "电话确认：网点张三")
    assert timeline.entries_for(order).last().actor_label == "cs1"


def test_r15_window_end_refunds_an_unhandled_failure_once():
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", reason_code="signed", source="callback"
    )
    after_sale = order.after_sale
    before_end = after_sale.window_ends_at - timedelta(seconds=1)
    assert services.deadlines_process(now=before_end).refunded == 0
    assert services.deadlines_process(now=after_sale.window_ends_at).refunded == 1
    assert services.deadlines_process(now=after_sale.window_ends_at + timedelta(hours=1)).refunded == 0
    after_sale.refresh_from_db()
    assert after_sale.state == AfterSale.State.REFUNDED
    reason = [e for e in timeline.entries_for(after_sale) if e.transition == "refund"][0].reason
    assert reason == "handling window ended without a decision: refunded automatically"


def test_r15_platform_intervention_is_not_refunded_by_the_window():
    order = factories.started()
    services.aftersale_ask_platform(after_sale_id=order.after_sale_id, actor=None, reason="买家恶意退款")
    assert services.deadlines_process(now=timezone.now() + timedelta(days=6)).refunded == 0
    order.after_sale.refresh_from_db()
    assert order.after_sale.state == AfterSale.State.PLATFORM_INTERVENTION


def test_r16_refuse_needs_failure_or_three_days():
    order = factories.started()
    with pytest.raises(DomainError) as exc:
        services.aftersale_refuse(after_sale_id=order.after_sale_id, actor=None, reason="包裹已拦回")
    assert exc.value.code == "refuse_too_early"
    later = order.after_sale.intercepting_since + timedelta(days=3)
    services.aftersale_refuse(after_sale_id=order.after_sale_id, actor=None, reason="三天无结果", now=later)
    order.after_sale.refresh_from_db()
    assert order.after_sale.state == AfterSale.State.REFUSED


def test_r16_refuse_is_allowed_at_once_after_a_failure_and_needs_a_reason():
    order = factories.started()
    services.interception_record_result(
        order_id=order.pk, actor=None, result="failed", reason_code="signed", source="callback"
    )
    with pytest.raises(DomainError) as exc:
        services.aftersale_refuse(after_sale_id=order.after_sale_id, actor=None, reason=" ")
    assert exc.value.code == "reason_required"
    services.aftersale_refuse(after_sale_id=order.after_sale_id, actor=None, reason="买家已签收")
    order.after_sale.refresh_from_db()
    assert order.after_sale.state == AfterSale.State.REFUSED


def test_r17_agree_while_intercepting_keeps_the_interception_and_a_later_success_refunds_nothing_more():
    order = factories.started()
    services.aftersale_agree_refund(after_sale_id=order.after_sale_id, actor=None, reason="客户着急")
    order.refresh_from_db()
    assert order.state == "intercepting"
    services.interception_record_result(order_id=order.pk, actor=None, result="succeeded", source="callback")
    refunds = [e for e in timeline.entries_for(order.after_sale) if e.transition == "refund"]
    assert len(refunds) == 1


def test_r18_window_length_comes_from_the_platform():
    after_sale = factories.interceptable()
    after_sale.platform.handling_window_days = 2
    after_sale.platform.save()
    order = factories.started(after_sale)
    order.after_sale.refresh_from_db()
    assert order.after_sale.window_ends_at - order.after_sale.intercepting_since == timedelta(days=2)


def test_r12_auto_intercept_rule_starts_an_eligible_refund_only_after_sale_on_arrival():
    contract = factories.active_contract()
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    Merchant.objects.filter(pk=contract.merchant_id).update(auto_intercept=True)
    contract.merchant.refresh_from_db()
    parcel = factories.parcel_for(contract)
    after_sale, order = services.aftersale_create(
        actor=None, parcel=parcel, number="AS-AUTO-1", kind="refund_only", amount="50.00"
    )
    assert order is not None and order.via == "auto"
    assert after_sale.state == AfterSale.State.INTERCEPTING
    blocked = factories.parcel_for(contract, status="signed")
    after_sale, order = services.aftersale_create(
        actor=None, parcel=blocked, number="AS-AUTO-2", kind="refund_only", amount="50.00"
    )
    assert order is None and after_sale.state == AfterSale.State.OPEN
    entry = timeline.entries_for(after_sale).last()
    assert (entry.transition, entry.reason) == ("auto_intercept_refused", "signed")
    _, order = services.aftersale_create(
        actor=None, parcel=parcel, number="AS-AUTO-3", kind="return_refund", amount="50.00"
    )
    assert order is None


class Flaky(carriers.CarrierAdapter):
    down = True

    def submit(self, order, client):
        if Flaky.down:
            raise carriers.CarrierUnavailable("503 from carrier")
        return "FLAKY-1"


def test_submission_is_retried_with_backoff_until_the_carrier_takes_it(monkeypatch):
    monkeypatch.setattr(Flaky, "down", True)
    monkeypatch.setitem(carriers.ADAPTERS, "flaky", Flaky)
    after_sale = factories.interceptable()
    after_sale.parcel.carrier.adapter = "flaky"
    after_sale.parcel.carrier.save()
    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    now = timezone.now()
    services.interception_submit(order_id=order.pk, now=now)
    order.refresh_from_db()
    assert (order.state, order.submit_attempts, order.last_submit_error) == ("requested", 1, "503 from carrier")
    assert order.next_submit_at == now + timedelta(minutes=5)
    assert services.deadlines_process(now=now + timedelta(minutes=1)).submitted == 0
    monkeypatch.setattr(Flaky, "down", False)  # reset after the test, unlike a plain assignment
    assert services.deadlines_process(now=now + timedelta(minutes=5)).submitted == 1
    order.refresh_from_db()
    assert (order.state, order.carrier_ref, order.next_submit_at) == ("intercepting", "FLAKY-1", None)
    assert services.interception_submit(order_id=order.pk) is None


def test_parcel_needs_goods_and_a_unique_tracking_number():
    contract = factories.active_contract()
    with pytest.raises(DomainError) as exc:
        services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number="",
            order_number="O1",
            goods=[],
        )
    assert [e["code"] for e in exc.value.errors] == ["tracking_number_required", "goods_required"]
    parcel = factories.parcel_for(contract)
    with pytest.raises(DomainError) as exc:
        services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number=parcel.tracking_number.lower(),
            order_number="O1",
            goods=[{"name": "x", "value": "1"}],
        )
    assert exc.value.code == "parcel_exists"
