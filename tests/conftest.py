import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture(autouse=True, scope="session")
def _suite_runs_on_postgresql(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "the test suite runs on PostgreSQL (see docs/tests.md)"


@pytest.fixture(autouse=True)
def _portal_language():
    """Every test starts in the portal's language; a test that reads English says so (translation.override)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def api():
    def make(user):
        client = APIClient()
        if getattr(user, "api_key", None):  # an API client's user from factories.api_client_for
            client.credentials(HTTP_AUTHORIZATION=f"Token {user.api_key}")
        else:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def jt(db):
    """Carrier jt, its callbacks signed with factories.CALLBACK_SECRET."""
    return factories.signed_carrier("jt")


@pytest.fixture
def two_outlets(db):
    """Outlet A and outlet B, each with its own staff user and a merchant account."""
    a = factories.OutletFactory(code="A-001", name="网点A")
    b = factories.OutletFactory(code="B-001", name="网点B")
    staff_a = factories.outlet_staff("staff_a", a)
    staff_b = factories.outlet_staff("staff_b", b)
    account_a = factories.EwaybillFactory(outlet=a)
    account_b = factories.EwaybillFactory(outlet=b)
    return {"a": a, "b": b, "staff_a": staff_a, "staff_b": staff_b, "account_a": account_a, "account_b": account_b}


@pytest.fixture(autouse=True)
def _seeded_network(request):
    """Transactional tests flush the tables the data migration seeded; put the seeds back."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    reseed_network()


def reseed_network():
    """The data migrations' network again, if a transactional test flushed it (module fixtures call it too)."""
    from django.apps import apps

    from interception.models import Platform

    if not Platform.objects.exists():
        import importlib

        for seeding in ("0002_seed_network", "0014_sf_carrier", "0018_open_by_default_and_return_shipping"):
            importlib.import_module(f"interception.migrations.{seeding}").seed(apps, None)
