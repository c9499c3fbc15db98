import pytest

from tests.notifications.fakes import FakeRobots, WebhookReceiver


@pytest.fixture
def robots():
    fake = FakeRobots()
    yield fake
    fake.close()


@pytest.fixture
def receiver():
    fake = WebhookReceiver()
    yield fake
    fake.close()
