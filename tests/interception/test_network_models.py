import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from interception.models import (
    ApiClient,
    EwaybillAccount,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
)
from tests import factories

pytestmark = pytest.mark.django_db


def test_one_ewaybill_account_per_merchant_outlet_platform():
    account = factories.EwaybillFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        EwaybillAccount.objects.create(merchant=account.merchant, outlet=account.outlet, platform=account.platform)


def test_outlet_codes_are_unique_per_carrier_only():
    factories.OutletFactory(code="X-1", carrier=factories.carrier("jt"))
    factories.OutletFactory(code="X-1", carrier=factories.carrier("zto"))  # another carrier: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Outlet.objects.create(code="X-1", carrier=factories.carrier("jt"), name="dup")


def test_merchant_codes_are_unique():
    factories.MerchantFactory(code="M-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Merchant.objects.create(code="M-1", name="dup", platform=factories.platform())


def test_one_membership_per_user_and_outlet():
    outlet = factories.OutletFactory()
    user = factories.outlet_staff("s1", outlet)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutletMembership.objects.create(user=user, outlet=outlet)


def test_api_client_belongs_to_exactly_one_merchant_or_carrier():
    user = factories.user("api-x")
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiClient.objects.create(user=user, name="nobody's")


def test_ewaybill_platform_must_be_the_merchants_platform():
    merchant = factories.MerchantFactory(platform=factories.platform("kuaishou"))
    account = EwaybillAccount(
        merchant=merchant, outlet=factories.OutletFactory(), platform=Platform.objects.get(code="douyin")
    )
    with pytest.raises(ValidationError) as err:
        account.full_clean()
    assert "platform" in err.value.message_dict


def test_platform_refuses_unknown_goods_category():
    platform = factories.platform("kuaishou")
    platform.blocked_categories = ["fresh", "weapons"]
    with pytest.raises(ValidationError) as err:
        platform.full_clean()
    assert "weapons" in str(err.value)
