"""The seeds' platforms and carriers (DOMAIN.md R2, R3, R10, R19).

Douyin: online interception at a fixed 3 yuan fee; offline settlement with YTO and J&T.
Kuaishou: offline settlement only, with ZTO, YTO, STO, J&T; refund below 500 yuan, no fresh,
virtual or whole-vehicle goods, no multi-parcel orders. YTO outlets need no approval anywhere.
"""
from decimal import Decimal

from django.db import migrations

PLATFORMS = [
    {"code": "douyin", "name": "抖音", "refund_cap_applies": False, "blocked_categories": [],
     "multi_parcel_allowed": True},
    {"code": "kuaishou", "name": "快手", "refund_cap_applies": True,
     "blocked_categories": ["fresh", "virtual", "whole_vehicle"], "multi_parcel_allowed": False},
]
CARRIERS = [("yto", "圆通 YTO"), ("jt", "极兔 J&T"), ("zto", "中通 ZTO"), ("sto", "申通 STO")]
# (platform, carrier): (online, offline)
TERMS = {
    ("douyin", "yto"): (True, True),
    ("douyin", "jt"): (True, True),
    ("douyin", "zto"): (True, False),
    ("douyin", "sto"): (True, False),
    ("kuaishou", "yto"): (False, True),
    ("kuaishou", "jt"): (False, True),
    ("kuaishou", "zto"): (False, True),
    ("kuaishou", "sto"): (False, True),
}
NO_REVIEW = {"yto"}


def seed(apps, schema_editor):
    Platform = apps.get_model("interception", "Platform")
    Carrier = apps.get_model("interception", "Carrier")
    PlatformCarrier = apps.get_model("interception", "PlatformCarrier")
    platforms = {}
    for row in PLATFORMS:
        defaults = dict(row, handling_window_days=5, refuse_after_days=3, claim_window_start_days=7,
                        claim_window_end_days=30, claim_cap=Decimal("1000.00"), claim_candidate_days=7,
                        refund_cap=Decimal("500.00"), online_fee=Decimal("3.00"))
        code = defaults.pop("code")
        platforms[code], _ = Platform.objects.get_or_create(code=code, defaults=defaults)
    carriers = {}
    for code, name in CARRIERS:
        carriers[code], _ = Carrier.objects.get_or_create(code=code, defaults={"name": name})
    for (platform, carrier), (online, offline) in TERMS.items():
        PlatformCarrier.objects.get_or_create(
            platform=platforms[platform], carrier=carriers[carrier],
            defaults={"interception_offered": True, "online_mode": online, "offline_mode": offline,
                      "approval_required": carrier not in NO_REVIEW})


class Migration(migrations.Migration):
    dependencies = [("interception", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
