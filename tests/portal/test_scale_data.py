import pytest
from django.core.management import call_command

from interception.models import EwaybillAccount

pytestmark = pytest.mark.django_db


def test_scale_data_inserts_the_requested_number_of_rows():
    call_command("scale_data", rows=1000, prefix="T", stdout=open("/dev/null", "w"))
    assert EwaybillAccount.objects.filter(outlet__code__startswith="T-").count() == 1000
