"""R5, R7-R11: every failed check has its own code; pure rule tests on unsaved objects (no database)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from interception import rules
from interception.models import (
    AfterSale,
    Carrier,
    Contract,
    InterceptionOrder,
    Merchant,
    Outlet,
    Parcel,
    Platform,
    PlatformCarrier,
)
from interception.models.parcels import STAGNANT_AFTER


def kuaishou():
    return Platform(
        code="kuaishou",
        name="快手",
        refund_cap_applies=True,
        refund_cap=Decimal("500.00"),
        blocked_categories=["fresh", "virtual", "whole_vehicle"],
        multi_parcel_allowed=False,
    )


def facts(platform=None, state="open", **over):
    platform = platform or kuaishou()
    carrier = Carrier(code="jt", name="极兔")
    outlet = Outlet(carrier=carrier, code="JT-1", name="网点")
    merchant = Merchant(code="M1", name="店铺", platform=platform)
    parcel = Parcel(
        carrier=carrier, outlet=outlet, merchant=merchant, platform=platform, tracking_number="JT1", parcels_in_order=1
    )
    after_sale = AfterSale(
        kind=AfterSale.Kind.REFUND_ONLY,
        amount=Decimal("99.00"),
        parcel=parcel,
        merchant=merchant,
        platform=platform,
        state=state,
    )
    args = dict(
        after_sale=after_sale,
        parcel=parcel,
        logistics_status="in_transit",
        merchant=merchant,
        platform=platform,
        terms=PlatformCarrier(platform=platform, carrier=carrier, interception_offered=True, offline_mode=True),
        contract=Contract(
            merchant=merchant, outlet=outlet, platform=platform, fee=Decimal("5.00"), state=Contract.State.ACTIVE
        ),
        has_ewaybill=True,
        agreement_signed=True,
        goods_categories={"general"},
        live_interception=None,
    )
    args.update(over)
    return args


def codes(**over):
    return [p.code for p in rules.interception_problems(**facts(**over))]


def test_eligible_parcel_has_no_problem():
    assert codes() == []


def test_r7_return_and_refund_is_not_intercepted():
    args = facts()
    args["after_sale"].kind = AfterSale.Kind.RETURN_AND_REFUND
    assert [p.code for p in rules.interception_problems(**args)] == ["not_refund_only"]


@pytest.mark.parametrize("state", ["refunded", "refused", "closed", "platform"])
def test_r7_after_sale_must_be_open(state):
    args = facts(state=state)
    assert [p.code for p in rules.interception_problems(**args)] == ["after_sale_closed"]


@pytest.mark.parametrize(
    "status", ["no_tracking", "out_for_delivery", "signed", "awaiting_pickup", "stagnant", "return_address_unserved"]
)
def test_r8_blocking_logistics_states(status):
    assert codes(logistics_status=status) == [status]


@pytest.mark.parametrize("status", ["picked_up", "in_transit"])
def test_r8_parcel_in_transit_is_interceptable(status):
    assert codes(logistics_status=status) == []


def test_r8_stagnant_is_derived_after_three_days_without_event():
    now = timezone.now()
    parcel = Parcel(last_status="in_transit", last_event_at=now - STAGNANT_AFTER)
    assert parcel.logistics_status(now) == "in_transit"
    parcel.last_event_at = now - STAGNANT_AFTER - timedelta(minutes=1)
    assert parcel.logistics_status(now) == "stagnant"
    assert Parcel().logistics_status(now) == "no_tracking"
    assert Parcel(last_status="signed", last_event_at=now - timedelta(days=30)).logistics_status(now) == "signed"


def test_r9_merchant_cross_border_not_operating_no_contract_no_ewaybill():
    args = facts(contract=None, has_ewaybill=False)
    args["merchant"].cross_border = True
    args["merchant"].operating_status = Merchant.Status.RESTRICTED
    assert [p.code for p in rules.interception_problems(**args)] == [
        "cross_border_merchant",
        "merchant_not_operating",
        "no_ewaybill",
        "no_active_contract",
    ]


def test_r5_agreement_not_signed():
    assert codes(agreement_signed=False) == ["agreement_not_signed"]


def test_r2_carrier_not_offered_on_the_platform():
    assert codes(terms=None) == ["carrier_not_offered"]
    args = facts()
    args["terms"].interception_offered = False
    assert [p.code for p in rules.interception_problems(**args)] == ["carrier_not_offered"]


def test_r10_refund_cap_is_below_500_on_kuaishou():
    args = facts()
    args["after_sale"].amount = Decimal("499.99")
    assert rules.interception_problems(**args) == []
    args["after_sale"].amount = Decimal("500.00")
    assert [p.code for p in rules.interception_problems(**args)] == ["refund_over_cap"]


@pytest.mark.parametrize("category", ["fresh", "virtual", "whole_vehicle"])
def test_r10_blocked_goods_categories(category):
    assert codes(goods_categories={"general", category}) == ["goods_category_blocked"]


def test_r10_multi_parcel_order():
    args = facts()
    args["parcel"].parcels_in_order = 2
    assert [p.code for p in rules.interception_problems(**args)] == ["multi_parcel_order"]


def test_r10_limits_come_from_the_platform_settings():
    douyin = Platform(
        code="douyin",
        name="抖音",
        refund_cap_applies=False,
        refund_cap=Decimal("500.00"),
        blocked_categories=[],
        multi_parcel_allowed=True,
    )
    args = facts(platform=douyin, goods_categories={"fresh"})
    args["after_sale"].amount = Decimal("3000.00")
    args["parcel"].parcels_in_order = 3
    assert rules.interception_problems(**args) == []


def test_r11_one_live_interception_per_parcel():
    live = InterceptionOrder(pk=7, state=InterceptionOrder.State.INTERCEPTING)
    assert codes(live_interception=live) == ["interception_exists"]


def test_every_failed_check_is_returned_at_once_with_a_message():
    args = facts(logistics_status="signed", contract=None, agreement_signed=False, goods_categories={"fresh"})
    args["after_sale"].kind = AfterSale.Kind.RETURN_AND_REFUND
    args["after_sale"].amount = Decimal("800.00")
    problems = rules.interception_problems(**args)
    assert [p.code for p in problems] == [
        "not_refund_only",
        "signed",
        "no_active_contract",
        "agreement_not_signed",
        "refund_over_cap",
        "goods_category_blocked",
    ]
    assert all(str(p.message) for p in problems)


def test_r16_refuse_needs_failure_or_three_days():
    platform = Platform(refuse_after_days=3)
    started = timezone.now() - timedelta(days=3)
    in_flight = InterceptionOrder(state=InterceptionOrder.State.INTERCEPTING)
    assert (
        rules.refuse_problems(
            platform=platform, started_at=started, interceptions=[in_flight], now=started + timedelta(days=3)
        )
        == []
    )
    early = rules.refuse_problems(
        platform=platform,
        started_at=started,
        interceptions=[in_flight],
        now=started + timedelta(days=2, hours=23, minutes=59),
    )
    assert [p.code for p in early] == ["refuse_too_early"]
    failed = InterceptionOrder(state=InterceptionOrder.State.FAILED)
    assert (
        rules.refuse_problems(
            platform=platform, started_at=started, interceptions=[failed], now=started + timedelta(minutes=5)
        )
        == []
    )
    succeeded = InterceptionOrder(state=InterceptionOrder.State.SUCCEEDED)
    assert [
        p.code
        for p in rules.refuse_problems(
            platform=platform, started_at=started, interceptions=[succeeded], now=started + timedelta(days=9)
        )
    ] == ["interception_succeeded"]


def test_r16_several_parcels_one_failure_or_one_without_result_allows_refusing():
    platform = Platform(refuse_after_days=3)
    started = timezone.now() - timedelta(days=3)
    states = InterceptionOrder.State
    succeeded, failed, in_flight = (
        InterceptionOrder(state=s) for s in (states.SUCCEEDED, states.FAILED, states.INTERCEPTING)
    )
    soon, later = started + timedelta(hours=1), started + timedelta(days=3)
    assert (
        rules.refuse_problems(platform=platform, started_at=started, interceptions=[succeeded, failed], now=soon) == []
    )
    assert [
        p.code
        for p in rules.refuse_problems(
            platform=platform, started_at=started, interceptions=[succeeded, in_flight], now=soon
        )
    ] == ["refuse_too_early"]
    assert (
        rules.refuse_problems(platform=platform, started_at=started, interceptions=[succeeded, in_flight], now=later)
        == []
    )


def test_r14_refund_follows_only_when_every_parcel_was_intercepted():
    states = InterceptionOrder.State
    assert rules.refund_due_on_success([states.SUCCEEDED, states.RETURNING])
    assert not rules.refund_due_on_success([states.SUCCEEDED, states.INTERCEPTING])
    assert not rules.refund_due_on_success([states.SUCCEEDED, states.FAILED])
    assert not rules.refund_due_on_success([])


def test_r18_handling_window_is_platform_configuration_in_shanghai_time():
    started = timezone.now()
    end = rules.handling_window_end(Platform(handling_window_days=5), started)
    assert end - started == timedelta(days=5)
    assert str(end.tzinfo) == "Asia/Shanghai"
    assert rules.handling_window_end(Platform(handling_window_days=0), started) is None
