import pytest
from django.core.management import call_command

from interception.models import AfterSale, InterceptionOrder, Parcel

pytestmark = pytest.mark.django_db


def test_scale_data_inserts_the_requested_number_of_interceptions_with_their_parcels():
    call_command("scale_data", rows=1200, prefix="T", stdout=open("/dev/null", "w"))
    orders = InterceptionOrder.objects.filter(tracking_number__startswith="T")
    assert orders.count() == 1200
    assert Parcel.objects.filter(tracking_number__startswith="T").count() == 1200
    assert AfterSale.objects.filter(number__startswith="TA").count() == 1200
    assert orders.values("state").distinct().count() >= 5
    assert all(o.fee == o.contract.fee for o in orders.select_related("contract")[:50])
