"""Two people filing a claim on one interception at once (R23: one open claim per interception)."""

import pytest

from claims import services
from claims.models import Claim
from portal import roles
from tests import factories
from tests.claims.test_claims import returned_badly
from tests.interception.test_interception_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_r23_two_filings_at_once_make_one_claim():
    cs = factories.user("cs1", roles.CUSTOMER_SERVICE)
    order = returned_badly("lost")
    results = race(4, lambda i: services.claim_file(actor=cs, interception_id=order.pk, kind="loss").pk)
    assert Claim.objects.filter(interception=order).count() == 1
    assert sorted(r for r in results if isinstance(r, str)) == ["claim_exists"] * 3
