import factory
from django.contrib.auth.models import Group, User

from interception.models import (
    ApiClient,
    Carrier,
    EwaybillAccount,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
)
from portal import roles


def platform(code="kuaishou"):
    return Platform.objects.get(code=code)


def carrier(code="jt"):
    return Carrier.objects.get(code=code)


class OutletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outlet

    carrier = factory.LazyFunction(lambda: carrier("jt"))
    code = factory.Sequence(lambda n: f"O{n:05d}")
    name = factory.Sequence(lambda n: f"网点{n}")
    region = "杭州"


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    code = factory.Sequence(lambda n: f"M{n:05d}")
    name = factory.Sequence(lambda n: f"店铺{n}")
    platform = factory.LazyFunction(lambda: platform("kuaishou"))


class EwaybillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EwaybillAccount

    merchant = factory.SubFactory(MerchantFactory)
    outlet = factory.SubFactory(OutletFactory)
    platform = factory.LazyAttribute(lambda o: o.merchant.platform)
    active = True


CALLBACK_SECRET = "s3cret-for-tests"


def signed_carrier(code="jt", secret=CALLBACK_SECRET):
    """A carrier whose callbacks are signed with `secret` (our own format's X-Signature)."""
    found = carrier(code)
    found.callback_secret = secret
    found.save()
    return found


def user(username, role=None, *, outlets=()):
    u = User.objects.create_user(username=username, password="pw-12345!", is_staff=True)
    if role:
        u.groups.add(Group.objects.get(name=role))
    for outlet in outlets:
        OutletMembership.objects.create(user=u, outlet=outlet)
    return u


def outlet_staff(username, *outlets):
    return user(username, roles.OUTLET_STAFF, outlets=outlets)


def api_client_for(*, merchant=None, carrier=None):
    """An API client's user with a token; `user.api_key` is the key (the `api` fixture sends it)."""
    from interception import services

    u = User.objects.create_user(username=f"api-{(merchant or carrier).code}")
    client = ApiClient.objects.create(user=u, name=f"client {u.username}", merchant=merchant, carrier=carrier)
    u.api_key = services.api_token_issue(client=client, actor=None).key
    return u


def contract_setup(carrier_code="jt", platform_code="kuaishou", outlet=None, merchant=None):
    """A merchant with an active e-waybill account at an outlet of `carrier_code`."""
    outlet = outlet or OutletFactory(carrier=carrier(carrier_code))
    merchant = merchant or MerchantFactory(platform=platform(platform_code))
    EwaybillFactory(merchant=merchant, outlet=outlet, platform=merchant.platform)
    return merchant, outlet


def apply(merchant, outlet, *, fee="5.00", mode="offline", actor=None):
    from interception import services

    (outcome,) = services.contract_apply(
        merchant=merchant, platform=merchant.platform, outlets=[outlet], mode=mode, fee=fee, actor=actor
    )
    assert outcome.ok, outcome.problems
    return outcome.contract


def active_contract(fee="5.00", **kwargs):
    from interception import services

    merchant, outlet = contract_setup(**kwargs)
    contract = apply(merchant, outlet, fee=fee)
    if contract.state == "pending":
        services.contract_approve(contract_id=contract.pk, actor=None)
        contract.refresh_from_db()
    return contract


def track(parcel, status, at=None, text="", place=""):
    """A tracking event as the carrier reported it, through the service the callbacks use (newest is current)."""
    from django.utils import timezone

    from interception import services

    services.tracking_record(
        parcel_id=parcel.pk, status=status, at=at or timezone.now(), text=text or status, place=place
    )
    parcel.refresh_from_db(fields=["last_status", "last_event_at"])
    return parcel


_numbers = iter(range(1, 10**9))


def parcel_for(contract, *, category="general", parcels_in_order=1, status="in_transit", value="120.00"):
    from interception import services

    n = next(_numbers)
    parcel = services.parcel_create(
        actor=None,
        merchant=contract.merchant,
        outlet=contract.outlet,
        tracking_number=f"{contract.outlet.carrier.code.upper()}{n:010d}",
        order_number=f"ORD{n:08d}",
        parcels_in_order=parcels_in_order,
        goods=[{"name": "羊毛围巾", "category": category, "quantity": 1, "specification": "灰色", "value": value}],
    )
    if status:
        track(parcel, "picked_up")
        if status != "picked_up":
            track(parcel, status)
    return parcel


def after_sale_for(parcel, *, kind="refund_only", amount="99.00", number=None):
    from interception import services

    after_sale, _order = services.aftersale_create(
        actor=None,
        parcel=parcel,
        number=number or f"AS{next(_numbers):09d}",
        kind=kind,
        amount=amount,
        reason="不想要了",
    )
    return after_sale


def interceptable(fee="5.00", platform_code="kuaishou", carrier_code="jt", **parcel_kwargs):
    """An open refund-only after-sale whose parcel can be intercepted: contract active, agreement signed."""
    from interception import services

    contract = active_contract(fee=fee, platform_code=platform_code, carrier_code=carrier_code)
    services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    parcel = parcel_for(contract, **parcel_kwargs)
    return after_sale_for(parcel)


def started(after_sale=None, **kwargs):
    """An interception the carrier has accepted (state intercepting)."""
    from interception import services

    after_sale = after_sale or interceptable(**kwargs)
    order = services.interception_start(after_sale_id=after_sale.pk, actor=None)
    services.interception_submit(order_id=order.pk)
    order.refresh_from_db()
    return order


def intercepted(contract, *, result="succeeded", at=None):
    """A parcel of `contract` intercepted through the services, with the carrier's result at `at`."""
    from django.utils import timezone

    from interception import services
    from interception.models import InterceptionAgreement

    if not InterceptionAgreement.objects.filter(merchant=contract.merchant, platform=contract.platform).exists():
        services.agreement_sign(merchant=contract.merchant, platform=contract.platform, actor=None)
    order = started(after_sale_for(parcel_for(contract)))
    extra = {"reason_code": "signed", "reason_text": "已签收"} if result == "failed" else {}
    services.interception_record_result(
        order_id=order.pk, actor=None, result=result, at=at or timezone.now(), source="callback", **extra
    )
    order.refresh_from_db()
    return order


def order_parcels(contract, count=2, order_number="DY-ORDER-1"):
    """`count` parcels of one order, all in transit."""
    from interception import services

    parcels = []
    for n in range(count):
        parcel = services.parcel_create(
            actor=None,
            merchant=contract.merchant,
            outlet=contract.outlet,
            tracking_number=f"{contract.outlet.carrier.code.upper()}77{next(_numbers):08d}",
            order_number=order_number,
            parcels_in_order=count,
            goods=[{"name": f"商品{n}", "category": "general", "quantity": 1, "specification": "", "value": "30.00"}],
        )
        track(parcel, "picked_up")
        parcels.append(track(parcel, "in_transit"))
    return parcels


def after_sale_naming(parcels, number="DY-AS-1"):
    from interception import services

    after_sale, _ = services.aftersale_create(
        actor=None,
        parcel=parcels[0],
        other_parcels=parcels[1:],
        number=number,
        kind="refund_only",
        amount="60.00",
    )
    return after_sale
