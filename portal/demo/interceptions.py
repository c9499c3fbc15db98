"""Demo parcels, after-sales and interceptions in every state, made through the services. Idempotent.

The history is made now and then moved back in time; interceptions started "now" are left to the
sandbox carrier (`manage.py sandbox_carrier --loop`, started by `make demo`), which resolves them.
"""

from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from interception import services
from interception.models import (
    AfterSale,
    Contract,
    EwaybillAccount,
    InterceptionAgreement,
    InterceptionOrder,
    Merchant,
    Parcel,
    TrackingEvent,
)
from kernel.models import TimelineEntry

GOODS = [
    ("羊毛围巾", "灰色 180cm", "89.00"),
    ("保温杯", "500ml 白色", "59.90"),
    ("蓝牙耳机", "黑色", "199.00"),
    ("儿童卫衣", "130码 蓝色", "79.00"),
    ("茶叶礼盒", "250g", "168.00"),
    ("手机壳", "iPhone 15", "29.90"),
    ("连衣裙", "M 碎花", "139.00"),
    ("帆布鞋", "39码", "119.00"),
]
ROUTE = [
    ("picked_up", "快件已揽收", "浙江,杭州市,西湖区"),
    ("in_transit", "到达杭州转运中心", "浙江,杭州市"),
    ("in_transit", "离开杭州转运中心，发往广州", "浙江,杭州市"),
]

# (scenario, how many)
SCENARIOS = [
    ("open", 8),
    ("open_signed", 2),
    ("open_out_for_delivery", 2),
    ("open_awaiting_pickup", 1),
    ("open_stagnant", 2),
    ("open_no_tracking", 1),
    ("open_return_refund", 2),
    ("in_flight", 6),
    ("failed", 4),
    ("failed_overdue", 2),
    ("succeeded", 3),
    ("returning", 4),
    ("returned", 6),
    ("lost", 2),
    ("damaged", 2),
    ("refused", 2),
    ("platform", 2),
    ("agreed", 1),
]


def seed(world):
    if AfterSale.objects.exists():
        return
    users = world["users"]
    cs = users["cs"]
    Merchant.objects.filter(code="M0001").update(auto_intercept=True)
    signed = set(InterceptionAgreement.objects.values_list("merchant_id", flat=True))
    contracts = [
        c
        for c in Contract.objects.filter(state=Contract.State.ACTIVE)
        .select_related("merchant", "outlet", "outlet__carrier", "platform")
        .order_by("id")
        if c.merchant_id in signed
        and not c.merchant.cross_border
        and not c.merchant.auto_intercept
        and c.merchant.operating_status == Merchant.Status.OPERATING
    ]
    # The outlet login's outlets first, so its lists are not empty.
    mine = set(users["outlet"].outlet_memberships.values_list("outlet_id", flat=True))
    contracts.sort(key=lambda c: (c.outlet_id not in mine, c.pk))
    now = timezone.now()
    counter = 0
    for scenario, count in SCENARIOS:
        for _ in range(count):
            contract = contracts[counter % len(contracts)]
            counter += 1
            _scenario(scenario, contract, counter, cs, now)
    # A Douyin buyer chose both parcels of an order: the after-sale names them and waits on its interception page.
    douyin = next((c for c in contracts if c.platform.code == "douyin" and c.platform.multi_parcel_allowed), None)
    if douyin is not None:
        first, second = (
            _parcel(douyin, counter + i, now, order=f"DY{counter + 1:012d}", parcels_in_order=2) for i in (1, 2)
        )
        counter += 2
        services.aftersale_create(
            actor=None,
            parcel=first,
            other_parcels=[second],
            number=f"AS{counter:010d}",
            kind="refund_only",
            amount=first.goods.first().value + second.goods.first().value,
            reason="买家两件都不要了",
        )
    # Where the platform opens the outlets by default (Kuaishou × YTO, R3) a merchant intercepts without a
    # contract: one after-sale waits on its interception page, one was intercepted and opened the contract.
    for index, account in enumerate(_open_by_default_accounts(signed)[:2]):
        counter += 1
        after_sale = _after_sale(_parcel(account, counter, now), counter)
        if index:
            order = services.interception_start(after_sale_id=after_sale.pk, actor=cs)
            services.interception_submit(order_id=order.pk)


def _open_by_default_accounts(signed):
    """E-waybill accounts at outlets open by default, of merchants who can intercept and never had a contract."""
    contracts = Contract.objects.filter(
        merchant=OuterRef("merchant"), outlet=OuterRef("outlet"), platform=OuterRef("platform")
    )
    return list(
        EwaybillAccount.objects.filter(
            active=True,
            platform__carrier_terms__open_by_default=True,
            platform__carrier_terms__carrier=F("outlet__carrier"),
            merchant__in=signed,
            merchant__cross_border=False,
            merchant__auto_intercept=False,
            merchant__operating_status=Merchant.Status.OPERATING,
        )
        .exclude(Exists(contracts))
        .select_related("merchant", "outlet", "outlet__carrier")
        .order_by("id")
    )


def outlet_login_contracts(world):
    """Active offline contracts at the outlet login's outlets whose merchant can intercept: what it sees."""
    mine = set(world["users"]["outlet"].outlet_memberships.values_list("outlet_id", flat=True))
    signed = set(InterceptionAgreement.objects.values_list("merchant_id", flat=True))
    return list(
        Contract.objects.filter(
            state=Contract.State.ACTIVE,
            settlement_mode="offline",
            outlet__in=mine,
            merchant__in=signed,
            merchant__cross_border=False,
            merchant__operating_status=Merchant.Status.OPERATING,
            merchant__auto_intercept=False,
        )
        .select_related("merchant", "outlet", "outlet__carrier")
        .order_by("id")
    )


def _parcel(contract, n, now, *, last=None, last_at=None, route=True, order=None, parcels_in_order=1):
    name, spec, value = GOODS[n % len(GOODS)]
    parcel = services.parcel_create(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        tracking_number=f"{contract.outlet.carrier.code.upper()}7{n:011d}",
        order_number=order or f"DY{n:012d}",
        parcels_in_order=parcels_in_order,
        goods=[{"name": name, "category": "general", "quantity": 1, "specification": spec, "value": value}],
    )
    events = []
    if route:
        start = (last_at or now) - timedelta(hours=30)
        events = [(s, text, place, start + timedelta(hours=8 * i)) for i, (s, text, place) in enumerate(ROUTE)]
    if last:
        events.append((last[0], last[1], "广东,广州市", last_at or now - timedelta(hours=2)))
    for status, text, place, at in events:
        TrackingEvent.objects.create(parcel=parcel, status=status, raw_text=text, place=place, at=at)
    if events:
        Parcel.objects.filter(pk=parcel.pk).update(last_status=events[-1][0], last_event_at=events[-1][3])
        parcel.refresh_from_db()
    return parcel


def _after_sale(parcel, n, kind="refund_only"):
    after_sale, _order = services.aftersale_create(
        actor=None,
        parcel=parcel,
        number=f"AS{n:010d}",
        kind=kind,
        amount=parcel.goods.first().value,
        reason="买家不想要了",
    )
    return after_sale


def _scenario(name, contract, n, cs, now):
    blocked = {
        "open_signed": (("signed", "已签收，签收人：本人"), None),
        "open_out_for_delivery": (("out_for_delivery", "快递员正在派件"), None),
        "open_awaiting_pickup": (("awaiting_pickup", "已放入菜鸟驿站，请凭取件码取件"), None),
        "open_stagnant": (None, now - timedelta(days=4)),
    }
    if name in blocked:
        last, last_at = blocked[name]
        _after_sale(_parcel(contract, n, now, last=last, last_at=last_at), n)
        return
    if name == "open_no_tracking":
        _after_sale(_parcel(contract, n, now, route=False), n)
        return
    if name == "open_return_refund":
        _after_sale(_parcel(contract, n, now), n, kind="return_refund")
        return
    after_sale = _after_sale(_parcel(contract, n, now), n)
    if name == "open":
        return
    order = services.interception_start(after_sale_id=after_sale.pk, actor=cs)
    services.interception_submit(order_id=order.pk)
    if name == "in_flight":
        return  # the sandbox carrier answers these while the demo runs
    InterceptionOrder.objects.filter(pk=order.pk).update(carrier_ref=f"DEMO{order.pk:08d}")
    result = {"failed": "failed", "failed_overdue": "failed", "refused": "failed", "platform": "failed"}.get(
        name, "succeeded"
    )
    days_ago = {
        "failed": 2,
        "failed_overdue": 6,
        "succeeded": 1,
        "returning": 3,
        "returned": 10,
        "lost": 12,
        "damaged": 9,
        "refused": 4,
        "platform": 3,
        "agreed": 1,
    }[name]
    if name == "agreed":
        services.aftersale_agree_refund(after_sale_id=after_sale.pk, actor=cs, reason="老客户，先行退款")
    else:
        services.interception_record_result(
            order_id=order.pk,
            actor=None,
            result=result,
            source="callback",
            reason_code="out_for_delivery" if result == "failed" else "",
            reason_text="快件已派送，拦截失败" if result == "failed" else "",
            note="",
        )
    if name in ("returning", "returned", "lost", "damaged"):
        services.interception_record_result(order_id=order.pk, actor=None, result="returning", source="callback")
    if name in ("returned", "lost", "damaged"):
        services.interception_record_result(order_id=order.pk, actor=None, result=name, source="callback")
    if name == "refused":
        services.aftersale_refuse(after_sale_id=after_sale.pk, actor=cs, reason="拦截失败，买家已签收，拒绝仅退款")
    if name == "platform":
        services.aftersale_ask_platform(after_sale_id=after_sale.pk, actor=cs, reason="买家已签收仍要求仅退款")
    _move_back(order, after_sale, timedelta(days=days_ago))


def _move_back(order, after_sale, delta):
    """Make the history look `delta` old."""
    InterceptionOrder.objects.filter(pk=order.pk).update(
        **{f: F(f) - delta for f in ("requested_at", "submitted_at", "result_at", "return_scan_at", "returned_at")}
    )
    AfterSale.objects.filter(pk=after_sale.pk).update(
        **{f: F(f) - delta for f in ("created_at", "intercepting_since", "window_ends_at", "decided_at")}
    )
    for obj in (order, after_sale):
        TimelineEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk).update(
            at=F("at") - delta
        )
    Parcel.objects.filter(pk=order.parcel_id).update(last_event_at=F("last_event_at") - delta)
    TrackingEvent.objects.filter(parcel=order.parcel_id).update(at=F("at") - delta)


def summary():
    return {state: InterceptionOrder.objects.filter(state=state).count() for state in InterceptionOrder.State.values}
