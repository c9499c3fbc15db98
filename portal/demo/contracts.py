"""Demo contracts in every state, fee changes, and pending applications of different ages. Idempotent."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from interception import services
from interception.models import Contract, EwaybillAccount, FeeAmendment, PlatformCarrier


def seed(world):
    if Contract.objects.exists():
        return  # contracts are history: seeding them twice would duplicate it
    rng = world["rng"]
    users = world["users"]
    cs, outlet_user = users["cs"], users["outlet"]
    accounts = list(
        EwaybillAccount.objects.filter(active=True)
        .select_related("merchant", "outlet", "outlet__carrier", "platform")
        .order_by("id")
    )
    open_by_default = set(PlatformCarrier.objects.filter(open_by_default=True).values_list("platform_id", "carrier_id"))
    now = timezone.now()
    for index, account in enumerate(accounts):
        merchant, outlet = account.merchant, account.outlet
        if (account.platform_id, outlet.carrier_id) in open_by_default and index % 2:
            continue  # half of them open at the first interception, without applying (R3)
        mode = "offline" if outlet.carrier.code in ("yto", "jt") or merchant.platform.code == "kuaishou" else "online"
        fee = Decimal(rng.choice(["2.50", "3.00", "3.50", "4.00", "5.00"]))
        outcomes = services.contract_apply(
            merchant=merchant, platform=merchant.platform, outlets=[outlet], mode=mode, fee=fee, actor=cs
        )
        contract = outcomes[0].contract
        if contract is None:
            continue
        # Spread the applications over the last three weeks so the waiting filter has something to show.
        age = timedelta(days=index % 21, hours=index % 7)
        Contract.objects.filter(pk=contract.pk).update(applied_at=now - age)
        if contract.state != Contract.State.PENDING:
            continue
        fate = index % 5
        decider = outlet_user if outlet_user.outlet_memberships.filter(outlet=outlet).exists() else None
        if fate in (0, 1, 2):
            services.contract_approve(contract_id=contract.pk, actor=decider)
        elif fate == 3 and index % 10 == 3:
            services.contract_reject(contract_id=contract.pk, actor=decider, reason="费用未谈妥")
        # fate 4 and half of fate 3 stay pending
    active = list(Contract.objects.filter(state=Contract.State.ACTIVE, settlement_mode="offline").order_by("id"))
    for contract in active[:3]:
        services.contract_close(contract_id=contract.pk, actor=cs, reason="商家停止合作")
    # Fee changes go first to the outlet login's outlets, so its queue shows both kinds.
    mine = set(outlet_user.outlet_memberships.values_list("outlet_id", flat=True))
    for contract in sorted(active[3:], key=lambda c: c.outlet_id not in mine)[:6]:
        amendment = services.contract_amend_fee(
            contract_id=contract.pk, new_fee=contract.fee + Decimal("0.50"), actor=cs
        )
        if contract.pk % 3 == 0:
            services.amendment_approve(amendment_id=amendment.pk, actor=None)
    for merchant in world["merchants"][:30]:
        services.agreement_sign(merchant=merchant, platform=merchant.platform, actor=cs)


def summary():
    return {state: Contract.objects.filter(state=state).count() for state in Contract.State.values} | {
        "fee changes pending": FeeAmendment.objects.filter(state="pending").count()
    }
