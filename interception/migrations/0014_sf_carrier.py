"""顺丰 SF Express joins the network (issue #17).

The seeds name no SF terms: they list Douyin's offline carriers (YTO, J&T) and Kuaishou's four (ZTO, YTO, STO,
J&T), and neither includes SF. What is seeded is the least the seeds allow: Douyin's online interception (the
platform's own tool at its fixed fee, which the seeds do not limit to named carriers) with SF, SF's outlets
approving each application as every carrier but YTO does (R3); no offline mode and nothing on Kuaishou.
The carrier starts on the sandbox adapter, so the demo runs without SF credentials; switching it to the "sf"
adapter is configuration (docs/carriers/sf.md).
"""

from django.db import migrations

CODE, NAME = "sf", "顺丰速运"
TERMS = {"douyin": (True, False)}  # platform: (online, offline)


def seed(apps, schema_editor):
    Platform = apps.get_model("interception", "Platform")
    Carrier = apps.get_model("interception", "Carrier")
    PlatformCarrier = apps.get_model("interception", "PlatformCarrier")
    carrier, _ = Carrier.objects.get_or_create(code=CODE, defaults={"name": NAME, "adapter": "sandbox"})
    for platform in Platform.objects.filter(code__in=TERMS):
        online, offline = TERMS[platform.code]
        PlatformCarrier.objects.get_or_create(
            platform=platform,
            carrier=carrier,
            defaults={
                "interception_offered": True,
                "online_mode": online,
                "offline_mode": offline,
                "approval_required": True,
            },
        )


def unseed(apps, schema_editor):
    Carrier = apps.get_model("interception", "Carrier")
    # Only a carrier nothing refers to yet; one with outlets or parcels is history and stays.
    carrier = Carrier.objects.filter(code=CODE).first()
    if carrier is not None and not apps.get_model("interception", "Outlet").objects.filter(carrier=carrier).exists():
        carrier.delete()


class Migration(migrations.Migration):
    dependencies = [("interception", "0013_kuaidi100_problem_status")]
    operations = [migrations.RunPython(seed, unseed)]
