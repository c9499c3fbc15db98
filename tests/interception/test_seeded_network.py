from decimal import Decimal

import pytest

from interception.models import Carrier, Platform, PlatformCarrier, SettlementMode

pytestmark = pytest.mark.django_db


def terms(platform, carrier):
    return PlatformCarrier.objects.get(platform__code=platform, carrier__code=carrier)


def test_r2_seeded_platforms_and_carriers():
    assert set(Platform.objects.values_list("code", flat=True)) == {"douyin", "kuaishou"}
    assert set(Carrier.objects.values_list("code", flat=True)) == {"yto", "jt", "zto", "sto", "sf"}


def test_r2_sf_is_offered_on_douyin_online_only_and_runs_on_the_sandbox():
    # The seeds name SF on neither platform's offline list; Douyin's online tool is not limited to named carriers.
    assert terms("douyin", "sf").offers(SettlementMode.ONLINE) is True
    assert terms("douyin", "sf").offers(SettlementMode.OFFLINE) is False
    assert not PlatformCarrier.objects.filter(platform__code="kuaishou", carrier__code="sf").exists()
    sf = Carrier.objects.get(code="sf")
    assert (sf.name, sf.adapter) == ("顺丰速运", "sandbox")


def test_r2_douyin_offline_mode_only_with_yto_and_jt():
    offline = set(
        PlatformCarrier.objects.filter(platform__code="douyin", offline_mode=True).values_list(
            "carrier__code", flat=True
        )
    )
    assert offline == {"yto", "jt"}
    assert terms("douyin", "zto").offers(SettlementMode.OFFLINE) is False
    assert terms("douyin", "zto").offers(SettlementMode.ONLINE) is True


def test_r2_kuaishou_offers_the_four_carriers_offline_only():
    rows = PlatformCarrier.objects.filter(platform__code="kuaishou")
    assert {r.carrier.code for r in rows if r.offers(SettlementMode.OFFLINE)} == {"zto", "yto", "sto", "jt"}
    assert not any(r.offers(SettlementMode.ONLINE) for r in rows)


def test_r3_only_yto_outlets_need_no_approval():
    for row in PlatformCarrier.objects.select_related("carrier"):
        assert row.approval_required is (row.carrier.code != "yto"), row


def test_r10_kuaishou_limits_and_douyin_without_them():
    ks = Platform.objects.get(code="kuaishou")
    assert ks.refund_cap_applies and ks.refund_cap == Decimal("500.00")
    assert set(ks.blocked_categories) == {"fresh", "virtual", "whole_vehicle"}
    assert ks.multi_parcel_allowed is False
    dy = Platform.objects.get(code="douyin")
    assert not dy.refund_cap_applies and dy.blocked_categories == [] and dy.multi_parcel_allowed


def test_r18_r19_r25_r26_window_and_money_defaults():
    for p in Platform.objects.all():
        assert (p.handling_window_days, p.refuse_after_days) == (5, 3)
        assert (p.claim_window_start_days, p.claim_window_end_days) == (7, 30)
        assert p.online_fee == Decimal("3.00") and p.claim_cap == Decimal("1000.00")
