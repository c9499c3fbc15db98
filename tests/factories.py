import factory
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

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
    u = User.objects.create_user(username=f"api-{(merchant or carrier).code}")
    ApiClient.objects.create(user=u, name=f"client {u.username}", merchant=merchant, carrier=carrier)
    Token.objects.create(user=u)
    return u


def contract_setup(carrier_code="jt", platform_code="kuaishou", outlet=None, merchant=None):
    """A merchant with an active e-waybill account at an outlet of `carrier_code`."""
    outlet = outlet or OutletFactory(carrier=carrier(carrier_code))
    merchant = merchant or MerchantFactory(platform=platform(platform_code))
    EwaybillFactory(merchant=merchant, outlet=outlet, platform=merchant.platform)
    return merchant, outlet


def apply(merchant, outlet, *, fee="5.00", mode="offline", actor=None):
    from interception import services

    (outcome,) = services.contract_apply(merchant=merchant, platform=merchant.platform, outlets=[outlet],
                                         mode=mode, fee=fee, actor=actor)
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
